"""protloc.training (run directory, checkpoints, resume) and protloc.evaluation (metrics, reports)."""
import json
import os

import keras
import numpy as np
import pytest

from protloc import datasets, evaluation, files, training
from protloc.cli import build_parser, _run_config
from tests.helpers import SMALL, load_benchmark, toy_spec

TINY = datasets.register(toy_spec("tiny", n_per_class=10)).name


def tiny_config(**settings) -> training.RunConfig:
    return training.RunConfig(**{"model": "rlstm", "hparams": SMALL, "epochs": 1, "batch_size": 8, "dataset": TINY,
                                 **settings})


def test_run_directory_and_resume_without_repeating_epochs(tmp_path):
    run = tmp_path / "run"
    training.train(run, tiny_config(), verbose=0)
    assert [p.name for p in training.checkpoints(run / "checkpoints")] == ["epoch-001.keras"]
    assert (run / "model.keras").exists() and (run / "logs").is_dir()
    saved = json.loads((run / "config.json").read_text())
    assert saved["hparams"]["lstm_units"] == 4 and saved["hparams"]["dropout"] == 0.5 and saved["dataset"] == TINY
    assert saved["learning_rate"] == 2e-4

    # An "interrupted" run asked for 3 epochs: continues at epoch 2, never redoes epoch 1.
    training.train(run, tiny_config(epochs=3), verbose=0)
    assert [row["epoch"] for row in training.read_history(run)] == [0, 1, 2]
    assert [p.name for p in training.checkpoints(run / "checkpoints")][-1] == "epoch-003.keras"

    # A finished run re-run trains nothing more, and leaves its model file as it was.
    saved = (run / "model.keras").stat().st_mtime_ns
    training.train(run, training.read_config(run), verbose=0)
    assert len(training.read_history(run)) == 3 and (run / "model.keras").stat().st_mtime_ns == saved


class EpochsSeen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)


def test_extra_callbacks_and_the_benchmark_wall_clock_follow_a_resumed_run(tmp_path):
    clock_path = tmp_path / "wall_time.json"
    first, second = EpochsSeen(), EpochsSeen()
    clock = load_benchmark("common").EpochWallClock(clock_path)
    training.train(tmp_path / "run", tiny_config(), verbose=0, callbacks=[first, clock])
    after_one = clock.total()
    assert first.epochs == [0] and after_one > 0
    training.train(tmp_path / "run", tiny_config(epochs=3), verbose=0, callbacks=[second, clock])
    assert second.epochs == [1, 2] and clock.total() > after_one  # the first stretch's time is kept


def test_run_directory_refuses_a_different_run(tmp_path):
    training.train(tmp_path, tiny_config(), verbose=0)
    with pytest.raises(ValueError, match="holds a different run"):
        training.train(tmp_path, tiny_config(model="alstm"))


def test_checkpoints_keep_only_the_last_three(tmp_path):
    training.train(tmp_path, tiny_config(epochs=5), verbose=0)
    assert [p.name for p in training.checkpoints(tmp_path / "checkpoints")] == [
        "epoch-003.keras", "epoch-004.keras", "epoch-005.keras"]


def test_run_config_validation_uses_the_data_sets_folds():
    with pytest.raises(ValueError, match="fold must be 0-4 for data set 'multiloc', got 5"):
        training.RunConfig(fold=5)
    with pytest.raises(ValueError, match=f"fold must be 0-2 for data set '{TINY}', got 3"):
        tiny_config(fold=3)
    with pytest.raises(ValueError, match="unknown model"):
        training.RunConfig(model="gru")
    with pytest.raises(ValueError, match="unknown data set 'nowhere'"):
        training.RunConfig(dataset="nowhere")
    with pytest.raises(ValueError, match="batch size must be >= 1"):
        tiny_config(batch_size=0)


def test_config_of_an_older_run_with_the_learning_rate_among_hparams_is_the_same_run():
    old = training.RunConfig(hparams={**SMALL, "learning_rate": 1e-3})
    assert old.learning_rate == 1e-3 and "learning_rate" not in old.hparams
    assert old.same_run_as(training.RunConfig(hparams=SMALL, learning_rate=1e-3, epochs=7))


def test_cli_options_override_a_config_file(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "alstm", "hparams": {"lstm_units": 64, "dropout": 0.3},
                                "learning_rate": 5e-4}))
    args = build_parser().parse_args(["train", "--out", "x", "--config", str(path), "--dropout", "0.2",
                                      "--conv-filters", "10", "0", "10", "10", "10", "10"])
    config = _run_config(args)
    assert config.model == "alstm" and config.hparams["lstm_units"] == 64 and config.hparams["dropout"] == 0.2
    assert config.hparams["conv_filters"] == [10, 0, 10, 10, 10, 10] and config.learning_rate == 5e-4
    args = build_parser().parse_args(["train", "--out", "x", "--config", str(path), "--learning-rate", "1e-3"])
    assert _run_config(args).learning_rate == 1e-3


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
    files.write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask
