"""protloc.training (run directory, checkpoints, resume) and protloc.training.evaluation (metrics, reports)."""
import dataclasses
import json
import os
import shutil

import keras
import numpy as np
import pytest

from protloc.apps.cli import _run_config, build_parser
from protloc.data import datasets
from protloc.models import run_config, zoo
from protloc.models.recipes import RECIPES
from protloc.prediction import loading, preset
from protloc.training import evaluation, loop
from protloc.utils import files
from tests.helpers import REPO, SMALL, load_benchmark, toy_spec

TINY_SPEC = toy_spec(f"{__name__}:TINY_SPEC", n_per_class=10)
TINY = TINY_SPEC.name


def tiny_config(**settings) -> loop.RunConfig:
    return loop.RunConfig.resolve(**{"model": "rlstm", "hparams": SMALL, "epochs": 1, "batch_size": 8, "dataset": TINY,
                                 "schedule": "constant", **settings})


def test_run_directory_and_resume_without_repeating_epochs(tmp_path):
    run = tmp_path / "run"
    loop.train(run, tiny_config(), verbose=0)
    assert [p.name for p in loop.checkpoints(run / "checkpoints")] == ["epoch-001.keras"]
    assert (run / "model.keras").exists() and (run / "logs").is_dir()
    saved = json.loads((run / "config.json").read_text())
    assert saved["hparams"]["lstm_units"] == 4 and saved["dataset"] == TINY
    assert (saved["recipe"], saved["learning_rate"], saved["train_max_length"]) == ("coarse", 3e-3, 1000)  # default
    assert (saved["hparams"]["dropout"], saved["hparams"]["pool_size"], saved["hparams"]["global_max"]) == (
        0.25, 4, True)  # set by the recipe
    assert saved["format"] == run_config.FORMAT and "backend" not in saved
    assert loop.read_config(run).recipe == "coarse"
    card = json.loads((run / "preset.json").read_text())
    assert card["training"]["backend"] == "tensorflow" and card["class_names"] == list(TINY_SPEC.class_names)

    # An "interrupted" run asked for 3 epochs: continues at epoch 2, never redoes epoch 1.
    loop.train(run, tiny_config(epochs=3), verbose=0)
    assert [row["epoch"] for row in loop.read_history(run)] == [0, 1, 2]
    assert all(row["epoch_seconds"] > 0 for row in loop.read_history(run))
    assert [p.name for p in loop.checkpoints(run / "checkpoints")][-1] == "epoch-003.keras"

    # A finished run re-run trains nothing more, and leaves its model file as it was.
    saved = (run / "model.keras").stat().st_mtime_ns
    loop.train(run, loop.read_config(run), verbose=0)
    assert len(loop.read_history(run)) == 3 and (run / "model.keras").stat().st_mtime_ns == saved


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
    loop.train(tmp_path / "run", tiny_config(), verbose=0, callbacks=[first, clock])
    after_one = clock.total()
    assert first.epochs == [0] and after_one > 0
    loop.train(tmp_path / "run", tiny_config(epochs=3), verbose=0, callbacks=[second, clock])
    assert second.epochs == [1, 2] and clock.total() > after_one  # the first stretch's time is kept


def test_run_directory_refuses_a_different_run(tmp_path):
    loop.train(tmp_path, tiny_config(), verbose=0)
    with pytest.raises(ValueError, match="holds a different run"):
        loop.train(tmp_path, tiny_config(model="alstm"))


def test_checkpoints_keep_only_the_last_three(tmp_path):
    loop.train(tmp_path, tiny_config(epochs=5), verbose=0)
    assert [p.name for p in loop.checkpoints(tmp_path / "checkpoints")] == [
        "epoch-003.keras", "epoch-004.keras", "epoch-005.keras"]


def test_run_config_validation_uses_the_data_sets_folds():
    with pytest.raises(ValueError, match="fold must be 0-4 for data set 'multiloc', got 5"):
        loop.RunConfig.resolve(fold=5)
    with pytest.raises(ValueError, match=f"fold must be 0-2 for data set '{TINY}', got 3"):
        tiny_config(fold=3)
    with pytest.raises(ValueError, match="unknown model"):
        loop.RunConfig.resolve(model="gru")
    with pytest.raises(ValueError, match="unknown data set 'nowhere'"):
        loop.RunConfig.resolve(dataset="nowhere")
    with pytest.raises(ValueError, match="batch size must be >= 1"):
        tiny_config(batch_size=0)


def test_config_of_an_older_run_with_the_learning_rate_among_hparams_is_the_same_run(tmp_path):
    card = json.loads((REPO / "protloc" / "prediction" / "presets" / "multiloc-paper" / "preset.json").read_text())
    old = card["training"]["run_config"]  # protloc 0.1's config.json: no recipe, learning rate among hparams
    assert "recipe" not in old and "learning_rate" in old["hparams"]
    files.write_json(tmp_path / "config.json", old)
    config = loop.read_config(tmp_path)
    assert (config.recipe, config.schedule, config.learning_rate, config.train_max_length) == (
        "paper", "constant", 1e-3, 1000) and "learning_rate" not in config.hparams
    assert (config.hparams["pool_size"], config.hparams["global_max"], config.hparams["profile"]) == (1, False, False)
    assert config.same_run_as(loop.RunConfig.resolve(recipe="paper", learning_rate=1e-3, epochs=50))


def test_recipes_fill_in_what_is_not_given_and_a_cosine_run_cannot_be_extended():
    fast, paper = loop.RunConfig.resolve(recipe="fast"), loop.RunConfig.resolve(recipe="paper", epochs=10)
    assert (fast.epochs, fast.learning_rate, fast.schedule, fast.train_max_length) == (30, 3e-3, "warmup_cosine", 400)
    assert fast.hparams["dropout"] == 0.25 and paper.hparams["dropout"] == 0.5  # the recipe's, the paper's
    assert loop.RunConfig.resolve(recipe="fast", hparams={"dropout": 0.4}).hparams["dropout"] == 0.4  # a run's own
    assert (paper.epochs, paper.learning_rate, paper.schedule, paper.train_max_length) == (10, 2e-4, "constant", 1000)
    assert paper.same_run_as(loop.RunConfig.resolve(recipe="paper", epochs=30))
    assert not fast.same_run_as(loop.RunConfig.resolve(recipe="fast", epochs=40))
    with pytest.raises(ValueError, match="unknown recipe 'quick'; choose from paper, fast, pooled, coarse"):
        loop.RunConfig.resolve(recipe="quick")
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        loop.RunConfig.resolve(schedule="linear")


def test_the_default_recipe_pools_only_models_that_pool_and_older_runs_keep_their_architecture(tmp_path):
    rlstm, alstm = loop.RunConfig.resolve(), loop.RunConfig.resolve(model="alstm")
    assert rlstm.recipe == alstm.recipe == "coarse" and (rlstm.epochs, rlstm.train_max_length) == (30, 1000)
    assert (rlstm.hparams["pool_size"], rlstm.hparams["global_max"]) == (4, True)
    assert (alstm.hparams["pool_size"], alstm.hparams["global_max"]) == (1, False)  # the A-LSTM has neither
    assert rlstm.hparams["dropout"] == alstm.hparams["dropout"] == 0.25
    assert loop.RunConfig.resolve(hparams={"pool_size": 3}).hparams["pool_size"] == 3  # a run's own value wins
    assert not loop.RunConfig.resolve(hparams={"global_max": False}).hparams["global_max"]
    assert loop.RunConfig.resolve(recipe="pooled").hparams["pool_size"] == 2
    older = dataclasses.asdict(loop.RunConfig.resolve(recipe="pooled"))
    del older["hparams"]["pool_size"], older["hparams"]["global_max"]  # written before either existed
    files.write_json(tmp_path / "config.json", older)
    assert loop.read_config(tmp_path).hparams["pool_size"] == 1
    assert not loop.read_config(tmp_path).hparams["global_max"]


def test_warmup_cosine_schedule_rises_over_the_first_epoch_then_decays_to_zero():
    schedule = loop.learning_rate_schedule(1e-3, "warmup_cosine", epochs=5, steps_per_epoch=10)
    rates = [float(schedule(step)) for step in (0, 5, 10, 30, 50)]
    assert rates[0] == 0 and rates[1] == pytest.approx(5e-4) and rates[2] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(5e-4, rel=1e-5) and rates[4] == pytest.approx(0, abs=1e-9)
    assert loop.learning_rate_schedule(1e-3, "constant") == 1e-3


def test_a_fast_run_trains_on_capped_proteins_with_its_schedule_and_resumes_it(tmp_path):
    config = tiny_config(schedule="warmup_cosine", learning_rate=1e-2, epochs=2, train_max_length=30)
    model = loop.train(tmp_path / "run", config, verbose=0)
    assert model.optimizer.iterations.numpy() == 2 * 4  # 30 proteins in 4 batches of 8 per epoch
    assert float(model.optimizer.learning_rate) == pytest.approx(0, abs=1e-9)  # the cosine's end
    example = datasets.get(TINY).examples("train")[0]
    cut = loop.truncated(example, 30)
    assert len(example.features["tokens"]) > 30 and len(cut.features["tokens"]) == 30
    np.testing.assert_array_equal(cut.features["tokens"][:15], example.features["tokens"][:15])
    np.testing.assert_array_equal(cut.features["tokens"][15:], example.features["tokens"][-15:])


def test_an_unknown_backend_is_a_clear_error(capsys):
    from protloc.apps.cli import main

    assert main(["train", "--backend", "torch", "--out", "x"]) == 2
    assert "unknown Keras backend 'torch'; choose from tensorflow, jax, numpy" in capsys.readouterr().err


def test_cli_options_override_a_config_file(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "alstm", "hparams": {"lstm_units": 64, "dropout": 0.3},
                                "learning_rate": 5e-4, "recipe": "paper"}))
    args = build_parser().parse_args(["train", "--out", "x", "--config", str(path), "--dropout", "0.2",
                                      "--conv-filters", "10", "0", "10", "10", "10", "10"])
    config = _run_config(args)
    assert config.model == "alstm" and config.hparams["lstm_units"] == 64 and config.hparams["dropout"] == 0.2
    assert config.hparams["conv_filters"] == [10, 0, 10, 10, 10, 10] and config.learning_rate == 5e-4
    assert (config.recipe, config.schedule) == ("paper", "constant")
    args = build_parser().parse_args(["train", "--out", "x", "--config", str(path), "--learning-rate", "1e-3",
                                      "--recipe", "fast"])
    assert (_run_config(args).learning_rate, _run_config(args).recipe) == (1e-3, "fast")
    for flag, expected in (("--global-max", True), ("--no-global-max", False)):  # switches set the recipe's default
        args = build_parser().parse_args(["train", "--out", "x", flag, "--recipe", "pooled" if expected else "coarse"])
        assert _run_config(args).hparams["global_max"] is expected


def test_a_config_round_trip_gives_identical_settings_and_reading_fills_in_nothing(tmp_path):
    path = tmp_path / "best.json"
    path.write_text(json.dumps({"model": "rlstm", "hparams": {**SMALL, "dropout": 0.3}, "learning_rate": 5e-3,
                                "recipe": "fast"}))
    args = build_parser().parse_args(["train", "--out", str(tmp_path / "run"), "--config", str(path), "--dataset",
                                      TINY, "--epochs", "1", "--batch-size", "8"])
    config = _run_config(args)
    loop.train(tmp_path / "run", config, verbose=0)
    assert loop.read_config(tmp_path / "run") == config
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert set(saved["hparams"]) == set(config.hparams) and saved["hparams"]["dropout"] == 0.3
    assert (saved["recipe"], saved["train_max_length"], saved["learning_rate"]) == ("fast", 400, 5e-3)
    del saved["hparams"]["pool_size"]  # a current config.json missing a setting is an error, not today's default
    files.write_json(tmp_path / "run" / "config.json", saved)
    with pytest.raises(ValueError, match="hparams must name every hyper-parameter.*pool_size"):
        loop.read_config(tmp_path / "run")


@pytest.mark.slow
def test_old_run_directories_still_load_and_predict_as_before(tmp_path):
    """The benchmark runs kept in the repository predate presets: config.json of earlier formats (migrated as
    run_config.MIGRATIONS says; tests/data/run-first-format is the first, from a MultiLoc run kept until 6656012), no
    card, no evidence."""
    from protloc.data import sequences
    from protloc.prediction.predictor import Localizer

    kept = sorted((REPO / "benchmarks" / "weights").glob("*/config.json"))
    assert len(kept) >= 5
    for path in [*kept, REPO / "tests" / "data" / "run-first-format" / "config.json"]:
        config = run_config.read_config(path.parent)
        assert config.dataset in datasets.names() and set(config.hparams) == set(run_config.HYPERPARAMETERS)
    first = run_config.read_config(REPO / "tests" / "data" / "run-first-format")
    run = tmp_path / "old-run"  # a run of the first format: its config.json, history and network, nothing else
    run.mkdir()
    shutil.copy(REPO / "tests" / "data" / "run-first-format" / "config.json", run / "config.json")
    (run / "history.csv").write_text("epoch,accuracy\n0,0.5\n")
    network = zoo.build_model(first.model, datasets.get(first.dataset).class_names, **first.hparams)
    network.save(run / "model.keras")
    localizer = Localizer.from_preset(run)
    assert not localizer.uses_homology and localizer.class_names == list(datasets.get("multiloc").class_names)
    records = list(sequences.read_fasta(REPO / "protloc" / "prediction" / "presets" / "examples.fasta"))
    direct = network.predict({"tokens": sequences.encode_sequence(records[0].sequence)[None]}, verbose=0)[0]
    np.testing.assert_allclose(next(localizer.predict(records)).probabilities, direct, atol=1e-6)
    with pytest.raises(preset.PresetError, match="deeploc2-fold0.*a multi-label preset needs its 'thresholds' file"):
        Localizer.from_preset(REPO / "benchmarks" / "weights" / "deeploc2-fold0")  # kept without its thresholds
    kept = loading.load_network(REPO / "benchmarks" / "weights" / "deeploc2-fold0")  # its network alone: scored as kept
    assert zoo.label_scheme_of(kept) == datasets.MULTI_LABEL and zoo.MEMBRANE_OUTPUT in kept.output


def test_train_refuses_a_file_or_a_foreign_directory_as_its_out_at_once(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, not a run directory"):
        loop.train(tmp_path / "file", tiny_config(), verbose=0)
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_text("x")
    with pytest.raises(ValueError, match="non-empty directory that is not a protloc run"):
        loop.train(tmp_path / "photos", tiny_config(), verbose=0)


def test_train_refuses_a_finished_run_kept_without_its_checkpoints(tmp_path):
    run = tmp_path / "kept"
    run.mkdir()
    loop._write_config(run, tiny_config())
    (run / "history.csv").write_text("epoch,accuracy\n0,0.5\n1,0.6\n")
    with pytest.raises(ValueError, match="records 2 finished epochs but it has no checkpoint to resume from"):
        loop.train(run, tiny_config(), verbose=0)
    assert (run / "history.csv").read_text().count("\n") == 3 and not (run / "model.keras").exists()


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
    from protloc.apps.cli import main

    assert main(["evaluate", str(tmp_path / "nowhere")]) == 2
    assert "protloc evaluate: error: no preset called" in capsys.readouterr().err


def test_atomic_writes_get_normal_permissions(tmp_path):
    files.write_text(tmp_path / "a.txt", "x")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_recipe_describes_its_settings_in_one_line():
    assert RECIPES["pooled"].describe() == ("30 epochs, lr 0.003 warmup_cosine, batch 32, training proteins cut to "
                                            "1000, dropout 0.25, pool size 2")
    assert RECIPES["coarse"].describe().endswith("dropout 0.25, pool size 4, global max")
