"""benchmarks/speed.py: the in-process measurement and its report, on the shipped example proteins."""
import importlib.util
import pathlib

from protloc import sequences

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_speed_benchmark():
    spec = importlib.util.spec_from_file_location("speed_benchmark", REPO / "benchmarks" / "speed.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_started_predict_counts_every_protein_and_its_truncated_residues():
    fasta = REPO / "examples" / "proteins.fasta"
    records = list(sequences.read_fasta(fasta))
    started = load_speed_benchmark().started_predict(fasta, "pretrained")
    assert started["proteins"] == len(records) == 11
    assert started["residues"] == sum(min(len(r.sequence), 1000) for r in records)
    assert started["seconds"] > 0


def test_report_states_the_started_rate_and_the_start_up_cost_by_difference():
    rate = {"proteins_per_s": 10.0, "residues_per_s": 4000.0}
    results = {"command": "python benchmarks/speed.py", "machine": "2 CPU cores",
               "training": {"bucketed": rate, "padded_to_1000": rate, "bucketed_tf_default_threads": rate,
                            "speedup": 1.0, "thread_layout_speedup": 1.0},
               "inference": [{"model": "single (pretrained)", "members": 1, "proteins": 200, "seconds": 10.0,
                              "peak_rss_mib": 900.0}],
               "started": {"seconds": 2.0, "proteins": 200, "residues": 80000, "fresh_row": 0}}
    report = load_speed_benchmark().markdown(results)
    assert "| single (pretrained) | 1 | 200 | 10.0 | 20.0 | 900 |" in report
    assert "2.0 s, **100.0 proteins/s** (40000 residues/s" in report
    assert "took the other 8.0 s of the fresh process's 10.0 s" in report
