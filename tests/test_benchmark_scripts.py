"""The benchmark scripts' own code (their long runs are not tests): speed.py's in-process measurement and
report, and tuner_search.py's composition of search, retraining and test report."""
import importlib.util
import json
import pathlib

import numpy as np

from protloc import sequences
from protloc.classes import CLASS_NAMES

REPO = pathlib.Path(__file__).resolve().parents[1]


def load_benchmark(name: str):
    """benchmarks/NAME.py as a module (benchmarks/ must be on sys.path for scripts that import table1)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_started_predict_counts_every_protein_and_its_truncated_residues():
    fasta = REPO / "examples" / "proteins.fasta"
    records = list(sequences.read_fasta(fasta))
    started = load_benchmark("speed").started_predict(fasta, "pretrained")
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
    report = load_benchmark("speed").markdown(results)
    assert "| single (pretrained) | 1 | 200 | 10.0 | 20.0 | 900 |" in report
    assert "2.0 s, **100.0 proteins/s** (40000 residues/s" in report
    assert "took the other 8.0 s of the fresh process's 10.0 s" in report


def test_tuner_search_reports_the_search_and_the_retrained_models_test_accuracy(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))
    tuner_search = load_benchmark("tuner_search")
    best = {"model": "rlstm", "hparams": {"lstm_units": 128}, "folds": [0], "val_accuracy": 0.5}

    def fake_search(parser, args, out, verbose):
        (out / "tuner" / "trial_0").mkdir(parents=True)
        (out / "trials.md").write_text("# Search trials\n")
        return best

    labels = np.arange(len(CLASS_NAMES))
    probabilities = np.eye(len(CLASS_NAMES))[[*labels[:-1], 0]]  # the last protein wrong
    monkeypatch.setattr(tuner_search.search, "search_from_arguments", fake_search)
    monkeypatch.setattr(tuner_search, "timed_train", lambda run_dir, config, data_dir: 60.0)
    monkeypatch.setattr(tuner_search, "cached_predictions", lambda run_dir, data_dir: (labels, probabilities))
    monkeypatch.setattr(tuner_search, "RESULTS", tmp_path)
    assert tuner_search.main(["--max-trials", "1", "--out", str(tmp_path / "run")]) == 0
    results = json.loads((tmp_path / "tuning.json").read_text())
    assert results["trials_done"] == 1 and results["best"] == best
    assert results["retrained"]["report"]["accuracy"] == 10 / 11
    assert "Test accuracy 0.909" in (tmp_path / "tuning.md").read_text()
