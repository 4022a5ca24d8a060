"""The benchmark scripts' own code (their long runs are not tests): table1.py's ensemble file, report and plan, and
its extension of a shorter command's runs; predict_speed.py's verdicts and report;
train_speed.py's configurations and report;
the DeepLoc 2.0 scripts' protocols (cross-validation, levers, homology settings, motifs, signals)."""
import dataclasses
import json
import os
import pathlib
import sys

import numpy as np
import pytest

from protloc.data import datasets, sequences
from protloc.evidence import thresholds
from protloc.models import run_config, zoo
from protloc.training import evaluation, loop
from protloc.utils import files
from tests.helpers import SMALL, load_benchmark, multi_label_spec, toy_spec

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

CLASS_NAMES = datasets.get("multiloc").class_names
TINY_CACHE = toy_spec(f"{__name__}:TINY_CACHE", n_per_class=2)
KEEP = toy_spec(f"{__name__}:KEEP", n_per_class=6)


def test_table1_rebuilds_the_ensemble_only_when_a_member_is_newer(tmp_path):
    table1 = load_benchmark("table1")
    runs = [tmp_path / "seed0", tmp_path / "seed1"]
    for run in runs:
        files.save_model(zoo.build_model("rlstm", CLASS_NAMES, **SMALL), run / "model.keras")
    path = tmp_path / "ensemble.keras"
    table1.save_ensemble(runs, path)
    assert zoo.member_count(zoo.load_model(path)) == 2
    saved = path.stat().st_mtime_ns
    table1.save_ensemble(runs, path)
    assert path.stat().st_mtime_ns == saved
    os.utime(runs[1] / "model.keras", ns=(saved + 10**9, saved + 10**9))  # member retrained after the save
    table1.save_ensemble(runs, path)
    assert path.stat().st_mtime_ns > saved


def test_table1_markdown_shows_the_ensemble_curve_and_the_paired_test():
    table1 = load_benchmark("table1")
    report = evaluation.classification_report([0, 1, 2], [0, 1, 1], list(CLASS_NAMES[:3]))
    results = {"command": "python benchmarks/table1.py", "machine": "test", "epochs": 1, "members": 3,
               "hparams": {**zoo.PAPER_HPARAMS, "learning_rate": 2e-4}, "missing": ["rlstm-seed2"], "cv": {"rlstm": {"0": 0.5}},
               "models": {"rlstm": {"report": report, "wall_time_s": 60},
                          "ensemble (2 R-LSTMs)": {"report": report, "wall_time_s": 120,
                                                   "vs_rlstm": {"only_first": 4, "only_second": 1, "p_value": 0.375}}},
               "ensemble_curve": [{"members": 1, "accuracy": 0.5, "newest_member_alone": 0.5},
                                  {"members": 2, "accuracy": 0.625, "newest_member_alone": 0.55}]}
    markdown = table1.markdown(results)
    assert "| members | 1 | 2 |" in markdown and "| test accuracy | 0.500 | 0.625 |" in markdown
    assert "| k-th member alone | 0.500 | 0.550 |" in markdown and "mean 0.525, standard deviation 0.035" in markdown
    assert "only the ensemble right on 4, only the R-LSTM right on 1; exact McNemar p = 0.375" in markdown
    results["models"]["ensemble (2 R-LSTMs)"]["vs_rlstm"]["p_value"] = 2e-5
    assert "exact McNemar p < 0.001." in table1.markdown(results)
    assert "ensemble: 2 of 3 planned R-LSTM members trained" in markdown


def test_predict_speed_report_states_each_target_met_or_missed():
    predict_speed = load_benchmark("predict_speed")
    run = lambda seconds, memory: {"seconds": seconds, "peak_rss_mib": memory, "proteins_per_s": 1000 / seconds}  # noqa
    model = {"model": "multiloc", "startup": {"seconds": 2.5, "peak_rss_mib": 700.0},
             "startup_tensorflow": run(5.0, 900), "crossover": {"numpy": run(4.0, 600), "tensorflow": run(6.0, 900)},
             "inputs": {"proteomes 50": {"network": run(1.0, 800), "homology": run(2.0, 800),
                                         "bare_mmseqs": run(1.5, 100)},
                        "proteomes 1000": {"network": run(2.0, 800), "homology": run(2.5, 850),
                                           "bare_mmseqs": run(2.0, 100)}}}
    results = {"command": "python benchmarks/predict_speed.py", "machine": "2 CPU cores", "proteins": [50, 1000],
               "cores": 2, "import_seconds_numpy": 1.5, "models": [model]}
    verdicts = {row["target"]: row for row in predict_speed.verdicts(results)}
    assert verdicts["proteins_per_s"]["measured"] == pytest.approx(400) and verdicts["proteins_per_s"]["met"]
    assert verdicts["homology_overhead"]["measured"] == pytest.approx(1.25)
    assert not verdicts["homology_overhead"]["met"]
    assert verdicts["startup_seconds"]["met"] and verdicts["memory_growth"]["met"]
    results["verdicts"] = list(verdicts.values())
    report = predict_speed.markdown(results)
    assert "| multiloc | proteomes 1000 | 500 | 400 | 500 | 1.25x | 800 / 850 |" in report
    assert ("| multiloc: with homology / max(network alone, bare MMseqs2) | <= 1.1 | 1.25 | no | 1.14x the goal: with "
            "homology / (network alone + bare MMseqs2) = 0.62: each uses all 2 cores" in report)
    assert verdicts["proteins_per_s"]["why"] == ""
    assert "multiloc 2.5 s (5.0 s)" in report and "multiloc 4.0 s / 6.0 s" in report
    one_size = {**results, "proteins": [1000]}  # a single input size has no memory growth to judge
    assert "memory_growth" not in {row["target"] for row in predict_speed.verdicts(one_size)}


def test_predict_speed_times_other_mmseqs_settings_and_estimates_prediction_at_them(monkeypatch):
    predict_speed = load_benchmark("predict_speed")
    timings = {"network": 2.0, "homology": 4.5}  # with homology = 0.9 x (network 2 + bare 3)
    monkeypatch.setattr(predict_speed, "timed_process", lambda argv, environment=None: {
        "seconds": timings["network" if "--no-homology" in argv else "homology"], "peak_rss_mib": 800.0})
    searched = []
    monkeypatch.setattr(predict_speed, "bare_mmseqs", lambda fasta, model, sensitivity=4.0, prefilter_hits=20: (
        searched.append((sensitivity, prefilter_hits)) or {"seconds": 3.0 if sensitivity == 4.0 else 18.0}))
    inputs = {"crossover": ("c.fasta", 50), "proteomes 1000": ("p.fasta", 1000)}
    found = predict_speed.measure_model("deeploc2", inputs, [(7.5, 20)])
    assert searched == [(4.0, 20), (7.5, 20)]
    setting = found["inputs"]["proteomes 1000"]["bare_settings"]["7.5:20"]
    assert setting["proteins_per_s"] == pytest.approx(1000 / 18)
    assert setting["estimated_proteins_per_s"] == pytest.approx(1000 / (0.9 * (2.0 + 18.0)))
    results = {"command": "c", "machine": "m", "models": [found], "bare_settings": ["7.5:20"], "verdicts": []}
    report = predict_speed.markdown({**results, "proteins": [1000], "cores": 2, "import_seconds_numpy": 1.0})
    assert "| deeploc2 | proteomes 1000 | 7.5:20 | 56 | 6.0 | 56 |" in report
    with pytest.raises(SystemExit):
        predict_speed.main(["--proteomes", ".", "--bare-setting", "9:20"])


def test_table1_runs_its_plan_in_order_and_reports_models_ensemble_and_cv(tmp_path, monkeypatch):
    table1 = load_benchmark("table1")
    labels = np.arange(len(CLASS_NAMES)).repeat(2)
    trained, saved_ensembles = [], []

    def fake_predictions(run_dir, data_dir, fold=None):
        """Seed s gets its first s proteins wrong (predicted as class 0 or 1); folds are 50% right."""
        right = np.eye(len(CLASS_NAMES))[labels]
        if fold is not None:
            return labels, np.where((np.arange(len(labels)) % 2 == 0)[:, None], right, np.roll(right, 1, axis=1))
        seed = int(run_dir.name.rsplit("seed", 1)[1])
        return labels, np.concatenate([np.roll(right[:seed], 1, axis=1), right[seed:]])

    monkeypatch.setattr(table1, "timed_train", lambda run_dir, config, data_dir: trained.append(run_dir.name) or 60.0)
    monkeypatch.setattr(table1, "cached_predictions", fake_predictions)
    monkeypatch.setattr(table1, "save_ensemble", lambda runs, path: saved_ensembles.append(len(runs)))
    monkeypatch.setattr(table1.loop, "read_history", lambda run_dir: [{"accuracy": 0.5}])
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    assert table1.main(["--epochs", "1", "--members", "3", "--out", str(tmp_path / "runs")]) == 0

    assert trained[:4] == ["rlstm-seed0", "alstm-seed0", "rlstm-seed1", "rlstm-seed2"]
    assert trained[4:] == [f"{name}-fold{fold}" for name in ("rlstm", "alstm") for fold in range(5)]
    results = json.loads((tmp_path / "table1.json").read_text())
    assert results["missing"] == [] and saved_ensembles == [2, 3]
    assert list(results["models"]) == ["rlstm", "alstm", "ensemble (3 R-LSTMs)"]
    assert [point["newest_member_alone"] for point in results["ensemble_curve"]] == [1.0, 21 / 22, 20 / 22]
    assert results["cv"] == {name: {str(fold): 0.5 for fold in range(5)} for name in ("rlstm", "alstm")}
    assert ("* rlstm: 5/5 folds done, mean 0.500 ± 0.000 (fold 0 0.500, fold 1 0.500, fold 2 0.500, fold 3 0.500, "
            "fold 4 0.500)") in (tmp_path / "table1.md").read_text()


def test_table1_only_trains_the_named_steps_and_gathers_finished_ones(tmp_path, monkeypatch):
    table1 = load_benchmark("table1")
    labels = np.arange(len(CLASS_NAMES))
    trained, finished = [], {"rlstm-fold3"}
    monkeypatch.setattr(table1, "timed_train", lambda run_dir, config, data_dir: trained.append(run_dir.name) or 60.0)
    monkeypatch.setattr(table1, "cached_predictions", lambda run_dir, data_dir, fold=None: (labels, np.eye(11)))
    monkeypatch.setattr(table1, "save_ensemble", lambda runs, path: None)
    monkeypatch.setattr(table1.loop, "read_history", lambda run_dir: [{"accuracy": 0.5}])
    monkeypatch.setattr(table1.loop, "finished_epochs", lambda run_dir: 2 if run_dir.name in finished else 0)
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    command = ["--epochs", "2", "--cv-only", "--out", str(tmp_path / "runs"), "--results", "cv"]

    assert table1.main([*command, "--only", "alstm-fold1"]) == 0
    assert trained == ["rlstm-fold3", "alstm-fold1"]  # the finished run is only read
    results = json.loads((tmp_path / "cv.json").read_text())
    assert results["cv"] == {"rlstm": {"3": 1.0}, "alstm": {"1": 1.0}} and results["models"] == {}
    assert len(results["missing"]) == 8
    markdown = (tmp_path / "cv.md").read_text()
    assert markdown.startswith("# Table 1 on MultiLoc: 5-fold cross-validation") and "| model |" not in markdown

    trained.clear()  # an R-LSTM seed trained before the seeds below it waits to join the ensemble
    assert table1.main(["--epochs", "2", "--members", "3", "--no-cv", "--out", str(tmp_path / "runs"),
                        "--only", "rlstm-seed2"]) == 0
    results = json.loads((tmp_path / "table1.json").read_text())
    assert trained == ["rlstm-seed2"] and results["models"] == {} and "rlstm-seed2" in results["missing"]


def test_table1_extends_the_runs_of_a_shorter_command_and_reports_under_its_own_name(tmp_path, monkeypatch):
    table1 = load_benchmark("table1")
    shorter = tmp_path / "table1-20"
    for model in ("rlstm", "alstm"):
        config = loop.RunConfig.resolve(model=model, recipe="paper", learning_rate=1e-3, epochs=20)
        run_config.write_config(shorter / f"{model}-seed0", config)
    (shorter / "rlstm-seed0" / "model.keras").touch()  # the A-LSTM's 20-epoch run has no model yet
    trained = []  # (run, whether it started from a copy)
    labels = np.arange(len(CLASS_NAMES))
    right = np.eye(len(CLASS_NAMES))[labels]

    def fake_predictions(run_dir, data_dir, fold=None):
        """The 20-epoch runs get every protein wrong, the 50-epoch ones none."""
        return labels, (np.roll(right, 1, axis=0) if run_dir.parent == shorter else right)

    monkeypatch.setattr(table1, "timed_train", lambda run_dir, config, data_dir:
                        trained.append((run_dir.name, (run_dir / "config.json").exists())) or 60.0)
    monkeypatch.setattr(table1, "cached_predictions", fake_predictions)
    monkeypatch.setattr(table1, "save_ensemble", lambda runs, path: None)
    monkeypatch.setattr(table1.loop, "read_history", lambda run_dir: [{"accuracy": 0.5}])
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    assert table1.main(["--epochs", "50", "--learning-rate", "1e-3", "--members", "2", "--no-cv",
                        "--out", str(tmp_path / "table1-50"), "--start-from", str(shorter),
                        "--results", "table1-50-epochs"]) == 0

    assert trained == [("rlstm-seed0", True), ("alstm-seed0", True), ("rlstm-seed1", False)]
    results = json.loads((tmp_path / "table1-50-epochs.json").read_text())
    assert results["epochs"] == 50 and "vs_shorter" not in results["models"]["alstm"]
    assert results["models"]["rlstm"]["vs_shorter"] == {"run": str(shorter / "rlstm-seed0"), "epochs": 20,
                                                        "accuracy": 0.0, "only_first": 11, "only_second": 0,
                                                        "p_value": pytest.approx(2 / 2 ** 11)}
    assert "rlstm after 50 epochs vs the same run after 20" in (tmp_path / "table1-50-epochs.md").read_text()
    assert not (tmp_path / "table1.json").exists()
    longer_than_asked = loop.RunConfig.resolve(recipe="paper", learning_rate=1e-3, epochs=10)
    with pytest.raises(SystemExit, match="more than 10 epochs"):
        table1.start_from(shorter / "rlstm-seed0", tmp_path / "copy", longer_than_asked)


def test_cached_predictions_are_predicted_again_once_a_run_is_extended(tmp_path, monkeypatch):
    common = load_benchmark("common")
    spec = TINY_CACHE
    run = tmp_path / "rlstm-seed0"
    files.save_model(zoo.build_model("rlstm", spec.class_names, **SMALL), run / "model.keras")
    run_config.write_config(run, loop.RunConfig.resolve(dataset=spec.name))
    calls = []

    def fake_predict(model, examples):
        calls.append(len(examples))
        return np.eye(3)[[0] * len(examples)]

    monkeypatch.setattr(common.evaluation, "predict_probabilities", fake_predict)
    labels, probabilities = common.cached_predictions(run)
    assert list(labels) == [0, 0, 1, 1, 2, 2] and probabilities.shape == (6, 3) and calls == [6]
    assert len(common.cached_predictions(run, fold=1)[0]) == 2  # training fold 1: proteins 1 and 4
    common.cached_predictions(run)
    assert calls == [6, 2]  # the second test call reads test_predictions.npz
    later = (run / "test_predictions.npz").stat().st_mtime_ns + 10**9
    os.utime(run / "model.keras", ns=(later, later))  # the run trained further after the predictions
    common.cached_predictions(run)
    assert calls == [6, 2, 6]


def test_proteome_pool_reads_gzipped_proteomes_and_leaves_out_unusable_records(tmp_path):
    import gzip

    (tmp_path / "Bacteria").mkdir()
    with gzip.open(tmp_path / "Bacteria" / "562.gz", "wt") as handle:
        handle.write(">gi|1|ref|A\nMKVLA\n>gi|2|ref|B\nMK1LA\n")
    with gzip.open(tmp_path / "4932.gz", "wt") as handle:
        handle.write(">gi|3|ref|C\nMSTNP*\n")
    pool = load_benchmark("common").proteome_pool(tmp_path)
    assert sorted(record.sequence for record in pool) == ["MKVLA", "MSTNP*"]
    with pytest.raises(FileNotFoundError, match="no gzipped FASTA proteomes"):
        load_benchmark("common").proteome_pool(tmp_path / "Bacteria" / "none")


def test_beam_speed_report_gives_the_worker_speed_up_the_target_the_overhead_and_the_uniprot_estimate():
    beam_speed = load_benchmark("beam_speed")
    results = {"command": "python benchmarks/beam_speed.py", "machine": "2 CPU cores", "cores": 2, "proteins": 1000,
               "shards": 4, "homology": True, "model": "pretrained", "core_hour_price": 0.04,
               "runs": [{"run": "protloc predict", "seconds": 5.0, "cpu_seconds": 9.0},
                        {"run": "beam, 1 worker, every core", "seconds": 10.0, "cpu_seconds": 18.0},
                        {"run": "beam, 2 workers, every core", "seconds": 8.0, "cpu_seconds": 15.0},
                        {"run": "beam, 1 worker, one thread each", "seconds": 16.0, "cpu_seconds": 16.0},
                        {"run": "beam, 2 workers, one thread each", "seconds": 8.5, "cpu_seconds": 16.5}]}
    report = beam_speed.markdown(results)
    assert "| beam, 2 workers, every core | 8.0 | 125.0 | 15 | 1.88 |" in report
    assert "Workers on every core: 2 workers / 1 worker **1.25x** the speed; 1 worker takes 2.00x the wall time" in report
    assert "Workers on one thread each: 2 workers / 1 worker **1.88x** the speed" in report
    assert "Target, 2 workers on one thread each against 1: >= 1.8x; measured 1.88x: met." in report
    # 100 proteins/s per core: 250e6 / 100 / 3600 = 694 core-hours; $0.04 * 1e6 / 100 / 3600 = $0.11 per million
    assert "100.0 proteins/s per core: 694 core-hours" in report and "about $0.11 per million proteins" in report
    results["runs"][4] = {"run": "beam, 2 workers, one thread each", "seconds": 10.0, "cpu_seconds": 18.0}
    # 16 / 10 = 1.6x = (18 / 16 = 1.125x the work) x (1.8 cores busy) / (1.0 core of one worker)
    assert ("measured 1.60x: missed, 0.89x the goal. Why, from the CPU seconds: the 2 workers did 1.12x the work of 1 "
            "(18 against 16 CPU seconds) and kept 1.80 of the 2 cores busy on average") in beam_speed.markdown(results)


def test_a_timed_process_counts_the_cpu_seconds_of_its_children():
    timing = load_benchmark("common").timed_process([sys.executable, "-c", BUSY_CHILD])
    assert timing["seconds"] >= timing["cpu_seconds"] >= 0.2


BUSY_CHILD = """
import subprocess, sys
subprocess.run([sys.executable, "-c", "sum(i * i for i in range(5_000_000))"])  # about 0.3 s of CPU in a grandchild
"""


def test_sample_fasta_deals_the_proteins_over_the_shards(tmp_path):
    sample_fasta = load_benchmark("common").sample_fasta
    pool = [sequences.ProteinRecord(f"P{i}", f"P{i}", "MKV" * (i + 1), i) for i in range(5)]
    shards = [tmp_path / f"s{i}.fasta" for i in range(3)]
    sample_fasta(shards, 7, pool)
    counts = [path.read_text().count(">") for path in shards]
    assert counts == [3, 2, 2]
    names = [line for path in shards for line in path.read_text().splitlines() if line.startswith(">")]
    assert sorted(int(name[2:].split("_")[0]) for name in names) == list(range(7))


def test_keep_run_writes_a_run_directory_without_optimizer_state(tmp_path):
    spec = KEEP
    run, kept = tmp_path / "run", tmp_path / "kept"
    loop.train(run, loop.RunConfig.resolve(model="rlstm", hparams=SMALL, epochs=1, batch_size=8, dataset=spec.name),
                   verbose=0)
    keep_run = load_benchmark("keep_run")
    assert keep_run.main([str(run), str(kept)]) == 0
    assert sorted(p.name for p in kept.iterdir()) == ["config.json", "history.csv", "model.keras"]
    assert loop.read_config(kept) == loop.read_config(run)
    assert (kept / "model.keras").stat().st_size < (run / "model.keras").stat().st_size
    examples = spec.examples("test", None)
    np.testing.assert_allclose(evaluation.predict_probabilities(zoo.load_model(kept / "model.keras"), examples),
                               evaluation.predict_probabilities(zoo.load_model(run / "model.keras"), examples),
                               atol=1e-6)
    assert keep_run.main([str(run), str(tmp_path / "half"), "--half"]) == 0
    np.testing.assert_allclose(
        evaluation.predict_probabilities(zoo.load_model(tmp_path / "half" / "model.keras"), examples),
        evaluation.predict_probabilities(zoo.load_model(run / "model.keras"), examples), atol=5e-3)
    with pytest.raises(SystemExit):
        keep_run.main([str(tmp_path), str(tmp_path / "other")])


CV3 = multi_label_spec(f"{__name__}:CV3", num_folds=3)  # the protocol for any number of partitions


def test_deeploc2_cv_scores_each_partition_once_with_thresholds_and_fusion_fitted_on_the_others(tmp_path, monkeypatch):
    from protloc.apps.cli import main

    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    runs = []
    for fold in range(CV3.num_folds):
        run = tmp_path / f"fold{fold}"
        assert main(["train", "--dataset", CV3.name, "--fold", str(fold), "--epochs", "1", "--batch-size", "8",
                     "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
        runs += ["--cv-run", str(run)]
    cv = load_benchmark("deeploc2_cv")
    fitted = []
    original_fit = cv.thresholds.fit
    monkeypatch.setattr(cv.thresholds, "fit", lambda probabilities, labels, **options: fitted.append(
        (len(labels), options.get("objective", "micro_f1"))) or original_fit(probabilities, labels, **options))
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    assert main(["preset", str(tmp_path / "fold0"), "--out", str(tmp_path / "preset")]) == 0
    assert cv.main([*runs, "--dataset", CV3.name, "--card", str(tmp_path / "preset")]) == 0
    results = json.loads((tmp_path / "deeploc2-cv.json").read_text())
    figures = json.loads((tmp_path / "preset" / "preset.json").read_text())["figures"]["cross-validation"]
    assert figures["command"] == results["command"] and figures["results"] == "benchmarks/results/deeploc2-cv.json"
    assert figures["fused_with_homology"]["micro_f1"] == results["rows"]["fused with homology"]["pooled"]["micro_f1"]
    assert figures["network_alone"]["membrane"] == results["rows"]["network alone"]["pooled"]["membrane"]
    examples = CV3.examples("train")
    sizes = [sum(e.fold == k for e in examples) for k in range(CV3.num_folds)]
    assert results["proteins"] == len(examples) and results["published"] is None
    # per partition, DeepLoc 2.0's protocol's thresholds (largest MCC) fitted on the fold model's own training
    # partitions, then ours (network and fused) on the other partitions' out-of-fold predictions
    others = [len(examples) - n for n in sizes]
    assert fitted == [(size, "mcc") for size in others] + [(size, "micro_f1") for size in others for _ in range(2)]
    official = results["deeploc2_protocol"]
    assert [official["per_fold"][str(k)]["n"] for k in range(CV3.num_folds)] == sizes
    assert set(official["spread"]["mcc"]) == set(CV3.class_names)
    network, fused = (results["rows"][name] for name in ("network alone", "fused with homology"))
    assert [network["per_fold"][str(k)]["n"] for k in range(CV3.num_folds)] == sizes
    assert fused["pooled"]["micro_f1"] >= network["pooled"]["micro_f1"]  # relatives span the partitions here
    report = (tmp_path / "deeploc2-cv.md").read_text()
    assert "| protloc, network alone |" in report and "| protloc, fused with homology |" in report
    assert "epochs per fold" in report and "DeepLoc 2.0 (ProtT5)" not in report
    assert "DeepLoc 2.0's protocol" in report and report.count(" ± ") >= 4 + len(CV3.class_names)


@pytest.fixture(scope="module")
def cv3_runs_1_2(tmp_path_factory):
    """``--cv-run`` options of two tiny runs of CV3 that held out partitions 1 and 2 (partition 0 excluded by the
    scripts that use them), with protloc's cache beside them while the module runs."""
    from protloc.apps.cli import main

    root = tmp_path_factory.mktemp("cv3")
    environment = pytest.MonkeyPatch()
    environment.setenv("PROTLOC_CACHE_DIR", str(root / "cache"))
    runs = []
    for fold in (1, 2):
        run = root / f"fold{fold}"
        assert main(["train", "--dataset", CV3.name, "--fold", str(fold), "--epochs", "1", "--batch-size", "8",
                     "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
        runs += ["--cv-run", str(run)]
    yield runs
    environment.undo()


def test_deeploc2_homology_scores_each_setting_on_one_partition_and_never_reads_the_excluded_one(tmp_path,
                                                                                                 monkeypatch,
                                                                                                 cv3_runs_1_2):
    runs = cv3_runs_1_2
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    script = load_benchmark("deeploc2_homology")
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    monkeypatch.setattr(script.datasets, "get", lambda name: CV3)
    searches, fused = [], []
    original_search, original_fused = script.partition_hits, script.fused_decisions
    monkeypatch.setattr(script, "partition_hits", lambda train, partition, names, **options: searches.append(
        (partition, {e.fold for e in train}, options["sensitivity"], options["prefilter_hits"]))
        or original_search(train, partition, names, **options))
    monkeypatch.setattr(script, "fused_decisions", lambda k, others, *rest, **options: fused.append(
        (k, others, options["keep"])) or original_fused(k, others, *rest, **options))
    settings = ["--setting", "package=4:20:10", "--setting", "sensitive=7.5:50:10", "--setting", "few=7.5:50:1"]
    assert script.main([*runs, *settings, "--exclude-partition", "0", "--score-partition", "2"]) == 0
    # one search of each partition read per distinct (sensitivity, candidates), against the partitions read only
    assert searches == [(k, {1, 2}, s, c) for s, c in ((4.0, 20), (7.5, 50)) for k in (1, 2)]
    assert fused == [(2, [1], 10), (2, [1], 10), (2, [1], 1)]
    results = json.loads((tmp_path / "deeploc2-homology.json").read_text())
    scored = sum(e.fold == 2 for e in CV3.examples("train"))
    assert results["proteins"] == scored and results["fitted_on"] == [1] and results["excluded_partitions"] == [0]
    assert list(results["settings"]) == ["package", "sensitive", "few"]
    assert results["settings"]["few"]["mean_hits"] <= 1 < results["settings"]["sensitive"]["mean_hits"]
    assert results["settings"]["few"]["search_seconds"] == results["settings"]["sensitive"]["search_seconds"]
    assert 0 < results["settings"]["package"]["with_hit"] <= scored  # relatives span the partitions here
    assert set(results["exact_match_tests"]) == {"sensitive vs package", "few vs package"}
    report = (tmp_path / "deeploc2-homology.md").read_text()
    assert "| network alone |" in report and "| sensitive | 7.5 | 50 | 10 |" in report
    assert report.count("\n| ") >= 2 + 3 + len(CV3.class_names)
    with pytest.raises(SystemExit) as stop:
        script.main([*runs, "--setting", "fast=4", "--score-partition", "2", "--exclude-partition", "0"])
    assert stop.value.code == 2
    with pytest.raises(SystemExit) as stop:  # a run missing for a partition read
        script.main([*runs, *settings, "--score-partition", "2"])
    assert stop.value.code == 2


def test_motif_shifts_recover_the_log_odds_ratio_they_were_drawn_with_and_leave_other_proteins_alone():
    script = load_benchmark("deeploc2_motifs")
    motifs = (script.MOTIFS["PTS1"], script.MOTIFS["(K/H/R)DEL"])
    names = ["er", "peroxisome"]
    rng = np.random.default_rng(0)
    network = rng.uniform(0.02, 0.6, (20000, 2))
    endings = rng.choice(["SKL", "AKL", "HDEL", "GGG"], 20000, p=[0.1, 0.05, 0.05, 0.8])
    found = script.carried([f"MAAA{end}" for end in endings], motifs)
    np.testing.assert_array_equal(found, np.stack([np.isin(endings, ["SKL", "AKL"]), endings == "HDEL"], axis=1))
    assert not script.MOTIFS["PTS1"].carried_by("MSKLA")  # at the very end only
    truth = np.array([1.5, 3.0])  # log-odds ratios of the carriers of each motif
    shifted = 1 / (1 + np.exp(-(script.logit(network) + script.shifted_logits(found, truth, motifs, names))))
    labels = (rng.random((20000, 2)) < shifted).astype(int)
    shifts = script.fit_shifts(network, found, labels, motifs, names)
    np.testing.assert_allclose(shifts, truth, atol=0.35)
    applied = script.apply(network, found, shifts, motifs, names)
    carriers = found.any(axis=1)
    np.testing.assert_allclose(applied[~carriers], network[~carriers], rtol=1e-6)
    assert (applied[found[:, 0], 1] > network[found[:, 0], 1]).all()  # PTS1 raises the peroxisome only
    np.testing.assert_allclose(applied[found[:, 0], 0], network[found[:, 0], 0], rtol=1e-6)


def test_deeploc2_motifs_scores_each_arm_on_each_grid_against_the_network_without_motifs(tmp_path, monkeypatch,
                                                                                          cv3_runs_1_2):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    script = load_benchmark("deeploc2_motifs")
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    monkeypatch.setattr(script.datasets, "get", lambda name: CV3)
    toy = script.Motif("toy", "alpha", "[ACDEFGHIK]", "a test motif: the last residue is one of ten")
    monkeypatch.setattr(script, "MOTIFS", {"toy": toy})
    grids = []
    original = script.fused_decisions
    monkeypatch.setattr(script, "fused_decisions", lambda k, others, *rest, **options: grids.append(
        (k, others, options["candidates"])) or original(k, others, *rest, **options))
    assert script.main([*cv3_runs_1_2, "--arm", "toy=toy", "--candidates", "99", "--candidates", "199",
                        "--exclude-partition", "0", "--score-partition", "2"]) == 0
    assert grids == [(2, [1], 99), (2, [1], 199)] * 2  # without motifs, then the arm; partition 0 never read
    results = json.loads((tmp_path / "deeploc2-motifs.json").read_text())
    assert list(results["rows"]) == ["no motifs, 99 candidates", "no motifs, 199 candidates", "toy, 99 candidates",
                                     "toy, 199 candidates"]
    examples = [e for e in CV3.examples("train") if e.fold in (1, 2)]
    ends = [toy.carried_by(e.sequence) for e in examples]
    row = results["motifs"]["toy"][0]
    assert row["fitting_carriers"] == sum(c for c, e in zip(ends, examples) if e.fold == 1)
    assert row["scored_carriers"] == sum(c for c, e in zip(ends, examples) if e.fold == 2) > 0
    assert set(results["exact_match_tests"]) == {f"toy, {n} candidates vs no motifs, {n} candidates" for n in (99, 199)}
    report = (tmp_path / "deeploc2-motifs.md").read_text()
    assert "| toy | 199 |" in report and "| toy | toy | `[ACDEFGHIK]` | alpha |" in report
    with pytest.raises(SystemExit) as stop:
        script.main([*cv3_runs_1_2, "--arm", "toy=nothing", "--score-partition", "2", "--exclude-partition", "0"])
    assert stop.value.code == 2


def test_cross_fitted_thresholds_decide_each_half_with_thresholds_fitted_on_the_other():
    rng = np.random.default_rng(0)
    labels = (rng.random((200, 3)) < 0.3).astype(np.int8)
    labels[~labels.any(axis=1), 0] = 1  # every protein is somewhere
    halves = np.arange(200) % 2
    # half 0's positives score 0.6, half 1's 0.9, negatives 0.5: thresholds fitted on half 1 (above 0.6) call nothing
    # in half 0 but each protein's one location of the at-least-one rule; those fitted on half 0 call every positive
    # of half 1
    probabilities = np.where(labels == 1, np.where(halves[:, None] == 0, 0.6, 0.9), 0.5)
    decided = thresholds.cross_fitted(probabilities, labels, halves)
    assert decided[halves == 1][labels[halves == 1] == 1].all()
    assert (decided[halves == 0].sum(axis=1) == 1).all()


def test_deeploc2_levers_scores_kingdom_arms_given_and_withheld_and_every_pair(tmp_path, monkeypatch):
    from protloc.apps.cli import main
    from tests.test_multilabel import SPEC

    runs = {}
    for name, extra in (("plain", []), ("kingdom", ["--kingdom"])):
        runs[name] = tmp_path / name
        assert main(["train", "--dataset", SPEC.name, "--fold", "0", "--epochs", "1", "--batch-size", "8",
                     "--lstm-units", "4", "--dense-units", "4", *extra, "--out", str(runs[name])]) == 0
    levers = load_benchmark("deeploc2_levers")
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    monkeypatch.setattr(levers.datasets, "get", lambda name: SPEC)
    argv = ["--run", f"without={runs['plain']}", "--run", f"given={runs['kingdom']}",
            "--run", f"not given={runs['kingdom']}:withheld", "--results", "kingdom"]
    monkeypatch.setattr(levers.loop, "read_config", lambda run, read=levers.loop.read_config: dataclasses.replace(
        read(run), dataset="deeploc2"))  # the toy runs stand for deeploc2 runs
    assert levers.main(argv) == 0
    results = json.loads((tmp_path / "kingdom.json").read_text())
    assert list(results["levers"]) == ["without", "given", "not given"]
    assert results["levers"]["not given"]["lever"] == "kingdom input, lstm units 4, dense units 4, not given"
    assert set(results["exact_match_tests"]) == {"given vs without", "not given vs without", "not given vs given"}
    kingdoms_seen = {e.kingdom for e in SPEC.examples("train", [0])}
    assert set(results["levers"]["given"]["micro_f1_by_kingdom"]) == kingdoms_seen
    assert "Micro F1 per kingdom" in (tmp_path / "kingdom.md").read_text()
    # one run scored with thresholds fitted for each objective: a row each, every pair tested
    fitted = []
    original_fit = levers.thresholds.fit
    monkeypatch.setattr(levers.thresholds, "fit", lambda probabilities, labels, objective="micro_f1", **options: (
        fitted.append(objective) or original_fit(probabilities, labels, objective, **options)))
    assert levers.main(["--run", f"without={runs['plain']}", "--objective", "micro_f1", "--objective", "mcc",
                        "--objective", "f1", "--results", "thresholds"]) == 0
    assert fitted == ["micro_f1"] * 2 + ["mcc"] * 2 + ["f1"] * 2  # cross-fitted: once per half
    results = json.loads((tmp_path / "thresholds.json").read_text())
    assert list(results["levers"]) == ["without, micro-F1 thresholds", "without, MCC thresholds",
                                       "without, per-location F1 thresholds"]
    assert [row["objective"] for row in results["levers"].values()] == ["micro_f1", "mcc", "f1"]
    assert len(results["exact_match_tests"]) == 3
    assert "halves of the partition (micro-F1 thresholds, MCC thresholds, per-location F1 thresholds)" in (
        tmp_path / "thresholds.md").read_text()


def test_deeploc2_levers_scores_an_ensemble_by_its_members_mean_and_refuses_members_that_saw_the_scored_partition(
        tmp_path, monkeypatch, capsys):
    from protloc.apps.cli import main
    from tests.test_multilabel import SPEC

    def train(name, *fold):
        assert main(["train", "--dataset", SPEC.name, *fold, "--epochs", "1", "--batch-size", "8", "--lstm-units",
                     "4", "--dense-units", "4", "--seed", "0", "--out", str(tmp_path / name)]) == 0
        return str(tmp_path / name)

    one = train("one", "--fold", "0")  # partitions 1 and 2, scored on 0
    members = [train("on2", "--fold", "1", "--exclude-fold", "0"), train("on1", "--fold", "2", "--exclude-fold", "0")]
    saw_it = train("saw0", "--fold", "1")  # trained on partition 0
    levers = load_benchmark("deeploc2_levers")
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    monkeypatch.setattr(levers.datasets, "get", lambda name: SPEC)
    monkeypatch.setattr(levers.loop, "read_config", lambda run, read=levers.loop.read_config: dataclasses.replace(
        read(run), dataset="deeploc2"))
    assert levers.main(["--run", f"one={one}", "--run", f"ensemble={'+'.join(members)}", "--results", "e"]) == 0
    results = json.loads((tmp_path / "e.json").read_text())
    ensemble = results["levers"]["ensemble"]
    assert ensemble["lever"] == "mean of 2 networks (trained on partitions 2, 1), lstm units 4, dense units 4"
    examples = SPEC.examples("train", [0])
    each = [levers.outputs([pathlib.Path(member)], examples) for member in members]
    mean = levers.outputs([pathlib.Path(member) for member in members], examples)
    np.testing.assert_allclose(mean["locations"], (each[0]["locations"] + each[1]["locations"]) / 2, atol=1e-6)
    assert ensemble["parameters"] == mean["parameters"] == each[0]["parameters"] + each[1]["parameters"]
    assert set(results["exact_match_tests"]) == {"ensemble vs one"}
    for argv, problem in (([f"one={one}", f"ensemble={members[0]}+{saw_it}"], "saw0: not a deeploc2 run"),
                          ([f"ensemble={'+'.join(members)}", f"one={one}"], "the reference: give a single run")):
        with pytest.raises(SystemExit) as stop:
            levers.main([item for run in argv for item in ("--run", run)])
        assert stop.value.code == 2 and problem in capsys.readouterr().err


def test_deeploc2_levers_names_each_lever_and_tabulates_every_location():
    levers = load_benchmark("deeploc2_levers")
    base = run_config.RunConfig.resolve(dataset="deeploc2", fold=4, exclude_folds=[0], epochs=15)
    assert levers.lever_of(base) == "none (the shipped recipe)"
    terminal = run_config.RunConfig.resolve(dataset="deeploc2", fold=4, exclude_folds=[0], epochs=15, loss="weighted",
                                            hparams={"terminal_windows": [100, 50]})
    assert levers.lever_of(terminal) == "terminal windows 100 N + 50 C residues, weighted loss"
    assert levers.lever_of(dataclasses.replace(base, hparams={**base.hparams, "kingdom": True})) == "kingdom input"
    searched = run_config.RunConfig.resolve(dataset="deeploc2", fold=4, exclude_folds=[0], epochs=15,
                                            learning_rate=2e-4, hparams={"conv_filters": [60, 30, 40, 40, 10, 30],
                                                                         "lstm_units": 64, "pool_size": 6})
    assert levers.lever_of(searched) == ("conv filters 60/30/40/40/10/30 (widths 1/3/5/9/15/21), lstm units 64, "
                                         "pool size 6, learning rate 0.0002")
    assert levers.lever_of(dataclasses.replace(base, model="alstm")) == "alstm"
    longer = dataclasses.replace(terminal, epochs=30)
    assert levers.lever_of(longer, epochs=15) == "terminal windows 100 N + 50 C residues, weighted loss, 30 epochs"
    assert levers.lever_of(longer, epochs=30) == levers.lever_of(terminal)  # the reference's epochs go unsaid
    names = list(datasets.get("deeploc2").class_names)
    row = {"micro_f1": 0.6, "macro_f1": 0.4, "subset_accuracy": 0.3, "jaccard": 0.5, "micro_ap": 0.6, "macro_ap": 0.4,
           "membrane_accuracy": 0.8, "mcc": {name: 0.5 for name in names}, "parameters": 1000,
           "median_epoch_seconds": 70.0, "lever": "none"}
    results = {"command": "x", "machine": "m", "validation_partition": 4, "excluded_partitions": [0],
               "proteins": 10, "support": {name: 1 for name in names},
               "training": {"recipe": "coarse", "epochs": 15, "seed": 0}, "runs": {"a": "ra", "b": "rb"},
               "levers": {"a": row, "b": {**row, "micro_f1": 0.7}},
               "exact_match_tests": {"b vs a": {"only_first": 3, "only_second": 1, "p_value": 0.6}}}
    text = levers.markdown(results, names)
    assert "trained on partitions 1, 2, 3; scored on partition 4 (10 proteins); partition(s) 0 never read" in text
    assert "| b | none | 0.700 |" in text and all(f"| {name} | 1 | 0.500 | 0.500 |" in text for name in names)
    assert "- b vs a: 3 proteins right only with b; 1 only with a; p = 0.6" in text  # each arm by its name
    assert "never read" not in levers.markdown({**results, "excluded_partitions": []}, names)


def test_train_speed_trains_the_chosen_model_in_a_fresh_process_and_reports_ratios_to_tensorflow_float32(
        monkeypatch):
    """One configuration end to end on the real data (a few proteins), then the report of several rounds."""
    if not os.environ.get("PROTLOC_DEEPLOC2_DIR"):
        pytest.skip("DeepLoc 2.0's partition files are not set (PROTLOC_DEEPLOC2_DIR)")
    train_speed = load_benchmark("train_speed")
    for variant in ("xla", "unbucketed"):  # the default differs from both by one flag
        found = train_speed.run("tensorflow", "float32", variant, 32, 2)
        assert found["proteins_per_second"] > 0 and found["onednn_bf16_kernels"] is None
    monkeypatch.setattr(train_speed, "bf16_units", lambda: True)
    variants = [("tensorflow", "float32", "xla"), ("tensorflow", "float32", "unbucketed")]
    assert train_speed.configurations() == [("tensorflow", "float32", ""), ("jax", "float32", ""),
                                            ("tensorflow", "mixed_bfloat16", ""), ("jax", "mixed_bfloat16", ""),
                                            *variants]
    monkeypatch.setattr(train_speed, "bf16_units", lambda: False)
    assert train_speed.configurations() == [("tensorflow", "float32", ""), ("jax", "float32", ""), *variants]
    rows = [{"backend": "tensorflow", "precision": "float32", "variant": "", "proteins_per_second": 200.0,
             "ratios": [1.0, 1.0], "onednn_bf16_kernels": None},
            {"backend": "tensorflow", "precision": "mixed_bfloat16", "variant": "", "proteins_per_second": 150.0,
             "ratios": [0.7, 0.8], "onednn_bf16_kernels": True},
            {"backend": "tensorflow", "precision": "float32", "variant": "xla", "proteins_per_second": 300.0,
             "ratios": [1.4, 1.6], "onednn_bf16_kernels": None}]
    report = train_speed.markdown({"command": "python benchmarks/train_speed.py", "machine": "2 CPU cores",
                                   "proteins": 512, "epochs": 2, "rounds": 2, "bf16_units": True, "rows": rows})
    assert "| tensorflow | float32 |  | 200.0 | 1.00 (1.00-1.00) |  |" in report
    assert "| tensorflow | mixed_bfloat16 |  | 150.0 | 0.75 (0.70-0.80) | yes |" in report
    assert "| tensorflow | float32 | XLA | 300.0 | 1.50 (1.40-1.60) |  |" in report


def test_deeploc2_signals_scores_each_partition_with_type_thresholds_fitted_on_the_others(tmp_path, monkeypatch):
    from protloc.apps.cli import main
    from tests.test_signal_head import SIGNALS

    runs = []
    for fold in range(SIGNALS.num_folds):
        run = tmp_path / f"fold{fold}"
        assert main(["train", "--dataset", SIGNALS.name, "--signals", "--fold", str(fold), "--epochs", "2",
                     "--batch-size", "8", "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
        runs += ["--cv-run", str(run)]
    script = load_benchmark("deeploc2_signals")
    fitted = []
    original_fit = script.thresholds.fit
    monkeypatch.setattr(script.thresholds, "fit", lambda probabilities, labels, **options: fitted.append(
        (len(labels), options.get("objective"))) or original_fit(probabilities, labels, **options))
    monkeypatch.setattr(load_benchmark("common"), "RESULTS", tmp_path)
    assert script.main([*runs, "--dataset", SIGNALS.name]) == 0
    results = json.loads((tmp_path / "deeploc2-signals.json").read_text())
    labelled = [e for e in SIGNALS.examples("train") if e.signals is not None]
    sizes = [sum(e.fold == k for e in labelled) for k in range(SIGNALS.num_folds)]
    assert fitted == [(len(labelled) - size, "mcc") for size in sizes]  # each partition's from the others
    assert results["proteins"] == len(labelled) == results["types"]["n"]
    assert results["with_residues"] == sum(e.signals.residues is not None for e in labelled)
    report = (tmp_path / "deeploc2-signals.md").read_text()
    assert "| SP |" in report and "random split (anchor)" in report and "cleavage site within 3" in report
    with pytest.raises(SystemExit):
        script.main(runs[:2] + ["--dataset", SIGNALS.name])
