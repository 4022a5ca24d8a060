"""protloc.training (run directory, checkpoints, resume) and protloc.evaluation (metrics, reports)."""
import importlib.util
import json
import os
import pathlib

import keras
import numpy as np
import pytest

from protloc import data, evaluation, files, models, training
from protloc.classes import CLASS_NAMES
from protloc.cli import build_parser, _run_config
from tests.helpers import motif_task

SMALL = dict(lstm_units=4, dense_units=4, conv_filters=[2, 2, 2, 0, 0, 0])


def tiny_data():
    tokens, labels = motif_task(n_per_class=10, seed=0)
    return data.from_arrays(tokens, labels)


def test_run_directory_and_resume_without_repeating_epochs(tmp_path):
    run = tmp_path / "run"
    config = training.RunConfig(model="rlstm", hparams=SMALL, epochs=1, batch_size=8)
    training.train(run, config, train_data=tiny_data(), verbose=0)
    assert [p.name for p in training.checkpoints(run / "checkpoints")] == ["epoch-001.keras"]
    assert (run / "model.keras").exists() and (run / "logs").is_dir()
    saved = json.loads((run / "config.json").read_text())
    assert saved["hparams"]["lstm_units"] == 4 and saved["hparams"]["dropout"] == 0.5

    # An "interrupted" run asked for 3 epochs: continues at epoch 2, never redoes epoch 1.
    training.train(run, training.RunConfig(model="rlstm", hparams=SMALL, epochs=3, batch_size=8),
                   train_data=tiny_data(), verbose=0)
    assert [row["epoch"] for row in training.read_history(run)] == [0, 1, 2]
    assert [p.name for p in training.checkpoints(run / "checkpoints")][-1] == "epoch-003.keras"

    # A finished run re-run trains nothing more.
    training.train(run, training.read_config(run), train_data=tiny_data(), verbose=0)
    assert len(training.read_history(run)) == 3


class EpochsSeen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def load_table1_benchmark():
    path = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "table1.py"
    spec = importlib.util.spec_from_file_location("table1_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_extra_callbacks_and_the_benchmark_wall_clock_follow_a_resumed_run(tmp_path):
    clock_path = tmp_path / "wall_time.json"
    first, second = EpochsSeen(), EpochsSeen()
    clock = load_table1_benchmark().EpochWallClock(clock_path)
    config = training.RunConfig(model="rlstm", hparams=SMALL, epochs=1, batch_size=8)
    training.train(tmp_path / "run", config, train_data=tiny_data(), verbose=0, callbacks=[first, clock])
    after_one = clock.total()
    assert first.epochs == [0] and after_one > 0
    config = training.RunConfig(model="rlstm", hparams=SMALL, epochs=3, batch_size=8)
    training.train(tmp_path / "run", config, train_data=tiny_data(), verbose=0, callbacks=[second, clock])
    assert second.epochs == [1, 2] and clock.total() > after_one  # the first stretch's time is kept


def test_table1_rebuilds_the_ensemble_only_when_a_member_is_newer(tmp_path):
    table1 = load_table1_benchmark()
    runs = [tmp_path / "seed0", tmp_path / "seed1"]
    for run in runs:
        files.save_model(models.build_model("rlstm", **SMALL), run / "model.keras")
    path = tmp_path / "ensemble.keras"
    table1.save_ensemble(runs, path)
    assert models.member_count(models.load_model(path)) == 2
    saved = path.stat().st_mtime_ns
    table1.save_ensemble(runs, path)
    assert path.stat().st_mtime_ns == saved
    os.utime(runs[1] / "model.keras", ns=(saved + 10**9, saved + 10**9))  # member retrained after the save
    table1.save_ensemble(runs, path)
    assert path.stat().st_mtime_ns > saved


def test_table1_markdown_shows_the_ensemble_curve_and_the_paired_test():
    table1 = load_table1_benchmark()
    report = evaluation.classification_report([0, 1, 2], [0, 1, 1], list(CLASS_NAMES[:3]))
    results = {"command": "python benchmarks/table1.py", "machine": "test", "epochs": 1, "members": 3,
               "hparams": models.PAPER_HPARAMS, "missing": ["rlstm-seed2"], "cv": {"rlstm": {"0": 0.5}},
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
    assert "ensemble: 2 R-LSTM members trained of 3 planned" in markdown


def test_run_directory_refuses_a_different_run(tmp_path):
    config = training.RunConfig(model="rlstm", hparams=SMALL, epochs=1, batch_size=8)
    training.train(tmp_path, config, train_data=tiny_data(), verbose=0)
    with pytest.raises(ValueError, match="holds a different run"):
        training.train(tmp_path, training.RunConfig(model="alstm", hparams=SMALL, epochs=1), train_data=tiny_data())


def test_checkpoints_keep_only_the_last_three(tmp_path):
    config = training.RunConfig(model="rlstm", hparams=SMALL, epochs=5, batch_size=8)
    training.train(tmp_path, config, train_data=tiny_data(), verbose=0)
    assert [p.name for p in training.checkpoints(tmp_path / "checkpoints")] == [
        "epoch-003.keras", "epoch-004.keras", "epoch-005.keras"]


def test_run_config_validation():
    with pytest.raises(ValueError, match="fold must be 0-4"):
        training.RunConfig(fold=5)
    with pytest.raises(ValueError, match="unknown model"):
        training.RunConfig(model="gru")


def test_cli_options_override_a_config_file(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "alstm", "hparams": {"lstm_units": 64, "dropout": 0.3}}))
    args = build_parser().parse_args(["train", "--out", "x", "--config", str(path), "--dropout", "0.2",
                                      "--conv-filters", "10", "0", "10", "10", "10", "10"])
    config = _run_config(args)
    assert config.model == "alstm" and config.hparams["lstm_units"] == 64 and config.hparams["dropout"] == 0.2
    assert config.hparams["conv_filters"] == [10, 0, 10, 10, 10, 10]


def test_wilson_interval_and_mcc_known_values():
    low, high = evaluation.wilson_interval(90, 100)
    assert (round(low, 4), round(high, 4)) == (0.8256, 0.9448)
    assert evaluation.binary_mcc(tp=5, fp=0, fn=0, tn=5) == 1
    assert evaluation.binary_mcc(tp=0, fp=5, fn=5, tn=0) == -1
    assert evaluation.multiclass_mcc(np.diag([3, 4, 5])) == pytest.approx(1)


def test_mcnemar_exact_known_values():
    first = np.array([True] * 1 + [False] * 9 + [True] * 5)
    second = np.array([False] * 1 + [True] * 9 + [True] * 5)
    assert evaluation.mcnemar_exact(first, second) == {"only_first": 1, "only_second": 9, "p_value": 22 / 1024}
    assert evaluation.mcnemar_exact(first, first)["p_value"] == 1.0  # no discordant protein
    assert evaluation.mcnemar_exact([True] * 5 + [False] * 5, [False] * 5 + [True] * 5)["p_value"] == 1.0
    with pytest.raises(ValueError, match="different proteins"):
        evaluation.mcnemar_exact([True], [True, False])


def test_classification_report_and_markdown(tmp_path):
    report = evaluation.classification_report([0, 0, 1, 1, 2], [0, 1, 1, 1, 2], ["a", "b", "c"])
    assert report["accuracy"] == pytest.approx(0.8)
    assert report["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert report["per_class"]["a"] == pytest.approx({"precision": 1, "recall": 0.5, "mcc": 0.6123724, "support": 2})
    evaluation.write_report(report, tmp_path, "evaluation-test", "demo")
    markdown = (tmp_path / "evaluation-test.md").read_text()
    assert "Accuracy **0.800**" in markdown and "| b | 0 | 2 | 0 |" in markdown
    assert json.loads((tmp_path / "evaluation-test.json").read_text())["n"] == 5


def test_cli_reports_errors_without_traceback(tmp_path, capsys):
    from protloc.cli import main

    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "protloc evaluate: error: no model at" in capsys.readouterr().err


def test_atomic_writes_get_normal_permissions(tmp_path):
    import os

    from protloc import files

    files.write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask
