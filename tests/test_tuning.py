"""tuning: the search space comes from the registry and the defaults from the recipe; trials train as the recipe
does (a Hyperband round continues the schedule); a 2-trial search on a tiny synthetic data set keeps every
trial's history and resumes after being killed; chief and workers."""
import json
import os
import re
import shlex
import socket
import subprocess
import sys

import keras_tuner
import numpy as np
import pytest

from protloc.apps.cli import _run_config, build_parser
from protloc.models import zoo
from protloc.utils import runtime
from tests.helpers import REPO, multi_label_spec, toy_spec
from tuning import search
from tuning.hypermodel import SEARCH_SPACE_NAMES, ProtlocHyperModel
from tuning.runner import fixed_hyperparameters

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

SPEC = toy_spec(f"{__name__}:SPEC", n_per_class=8)
MULTI = multi_label_spec(f"{__name__}:MULTI", families=8, per_family=4, num_folds=2)


def small_space():
    hp = keras_tuner.HyperParameters()
    hp.Fixed("filters_w21", 0)   # a width turned off
    hp.Fixed("filters_w15", 0)
    hp.Fixed("lstm_units", 64)
    hp.Fixed("dense_units", 64)
    return hp


def test_the_space_is_the_registrys_and_the_defaults_the_recipes():
    hp = keras_tuner.HyperParameters()
    model = ProtlocHyperModel(SPEC, recipe="paper").build(hp)
    assert model.name == "rlstm" and model.get_layer("conv_bank").filters == (10,) * 6
    assert model.get_layer("conv_dropout").rate == 0.5 and float(model.optimizer.learning_rate) == np.float32(2e-4)
    assert zoo.class_names_of(model) == list(SPEC.class_names)
    searched = {name for name, hp in zoo.HYPERPARAMETERS.items() if hp.search and not hp.families}
    declared = set(hp.values)
    assert {"model", "learning_rate", "filters_w1", "filters_w21", "pool_size", "global_max"} <= declared
    assert searched - {"conv_filters", "terminal_windows"} <= declared and declared <= set(SEARCH_SPACE_NAMES)
    assert "attention_units" not in declared  # conditional on the A-LSTM
    assert (hp.values["terminal_n"], hp.values["terminal_c"]) == (0, 0)  # no terminal branch unless searched
    assert "terminal_windows" not in [layer.name for layer in model.layers]

    coarse = keras_tuner.HyperParameters()
    model = ProtlocHyperModel(SPEC).build(coarse)  # the default recipe: coarse
    assert (coarse.values["pool_size"], coarse.values["global_max"], coarse.values["dropout"]) == (4, True, 0.25)
    assert model.get_layer("pooling").pool_size == 4 and model.get_layer("conv_dropout").rate == 0.25
    alstm = fixed_hyperparameters(["model=alstm"])
    ProtlocHyperModel(SPEC).build(alstm)
    assert "attention_units" in alstm.values and "pool_size" not in alstm.values

    termini = fixed_hyperparameters(["terminal_n=100", "terminal_c=50"])  # the terminal windows, item by item
    hypermodel = ProtlocHyperModel(SPEC)
    layer = hypermodel.build(termini).get_layer("terminal_windows")
    assert (layer.n_terminal, layer.c_terminal) == (100, 50)
    assert hypermodel.run_config(termini)["hparams"]["terminal_windows"] == [100, 50]


def test_a_continued_trial_carries_on_along_the_recipes_schedule():
    hypermodel = ProtlocHyperModel(SPEC, folds=[0], max_epochs=4)
    hp = small_space()
    model = hypermodel.build(hp)
    steps = hypermodel.steps_per_epoch(0)
    hypermodel.fit(hp, model, initial_epoch=2, epochs=3, verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 3 * steps  # as if epochs 1-2 had run in this model
    with pytest.raises(ValueError, match="validates on one fold"):
        ProtlocHyperModel(SPEC, folds=[0, 1]).fit(hp, model, initial_epoch=1, epochs=2, verbose=0)


KILLED_SEARCH = """
import os, sys
from tuning import hypermodel, search

fit = hypermodel.ProtlocHyperModel.fit
calls = []
def fit_then_die(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2 and sys.argv[2] == "kill":
        os._exit(9)  # killed in the middle of the second trial
    return fit(self, *args, **kwargs)
hypermodel.ProtlocHyperModel.fit = fit_then_die
sys.exit(search.main(["--dataset", "tests.test_tuning:SPEC", "--tuner", "random", "--max-trials", "2", "--epochs",
                      "1", "--fold", "0", "--fix", "lstm_units=4", "--fix", "dense_units=4", "--fix", "filters_w21=0",
                      "--out", sys.argv[1]]))
"""


def test_a_two_trial_search_keeps_histories_and_resumes_after_being_killed(tmp_path):
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    out = tmp_path / "search"
    killed = subprocess.run([sys.executable, "-c", KILLED_SEARCH, str(out), "kill"], cwd=REPO, env=environment,
                            capture_output=True, text=True, timeout=600)
    assert killed.returncode == 9 and not (out / "best_hparams.json").exists()
    saved = [json.loads(path.read_text()) for path in sorted((out / "tuner").glob("trial_*/trial.json"))]
    assert [trial["status"] for trial in saved] == ["COMPLETED", "RUNNING"]
    first = saved[0]
    # the report was written when the first trial ended; --report-only brings it up to the killed trial
    assert [trial["status"] for trial in json.loads((out / "history.json").read_text())] == ["COMPLETED"]
    argv = ["--dataset", "tests.test_tuning:SPEC", "--tuner", "random", "--max-trials", "2", "--epochs", "1", "--fold",
            "0", "--fix", "lstm_units=4", "--fix", "dense_units=4", "--fix", "filters_w21=0", "--out", str(out)]
    assert search.main([*argv, "--report-only"]) == 0
    reported = json.loads((out / "history.json").read_text())
    assert [(trial["status"], trial["score"]) for trial in reported] == [("COMPLETED", first["score"]),
                                                                        ("RUNNING", None)]
    report = (out / "trials.md").read_text()
    assert "Status: 1 completed, 1 running." in report
    started = shlex.join(["python", "-m", "tuning.search", *argv])
    # the command that started the search and its machine, not the report's own command
    assert f"Command: `{started}`  \nMachine: {runtime.describe_machine()}\n" in report
    assert re.search(r"\n\| 1 \| RUNNING \| 0 \| 0 \| \d+\.\d\d \| - \| `\{", report)  # killed before its first epoch
    assert [json.loads(path.read_text())["status"] for path in sorted((out / "tuner").glob("trial_*/trial.json"))] \
        == ["COMPLETED", "RUNNING"]  # the report ran no trial and changed none
    finished = subprocess.run([sys.executable, "-c", KILLED_SEARCH, str(out), "resume"], cwd=REPO, env=environment,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    history = json.loads((out / "history.json").read_text())
    assert [trial["trial"] for trial in history] == ["0", "1"]
    assert all(trial["status"] == "COMPLETED" and len(trial["history"]["val_accuracy"]) == 1 for trial in history)
    assert history[0]["score"] == first["score"]  # the finished trial was kept, not run again
    assert json.loads((out / "starts.json").read_text())["commands"] == [started]  # resumed as it was started
    assert all(trial["config"]["recipe"] == "coarse" and trial["seconds"] > 0 for trial in history)
    best = json.loads((out / "best_hparams.json").read_text())
    assert best["hparams"]["conv_filters"][5] == 0 and best["folds"] == [0] and best["dataset"] == SPEC.name

    args = build_parser().parse_args(["train", "--out", str(tmp_path / "run"), "--epochs", "1", "--dataset",
                                      SPEC.name, "--config", str(out / "best_hparams.json")])
    config = _run_config(args)
    assert config.model == best["model"] and config.hparams["conv_filters"] == best["hparams"]["conv_filters"]
    assert (config.learning_rate, config.recipe) == (best["learning_rate"], "coarse")
    model = zoo.build_model(config.model, SPEC.class_names, **config.hparams)
    kept = [width for width, count in zip((1, 3, 5, 9, 15, 21), best["hparams"]["conv_filters"]) if count]
    assert [c.kernel_size[0] for c in model.get_layer("conv_bank").convolutions] == kept


def test_configurations_over_the_parameter_limit_fail_untrained_with_their_reason(tmp_path, capsys):
    argv = ["--dataset", "tests.test_tuning:SPEC", "--tuner", "random", "--max-trials", "2", "--epochs", "1",
            "--fold", "0", "--fix", "lstm_units=4", "--fix", "dense_units=4", "--max-parameters", "100",
            "--out", str(tmp_path / "search")]
    with pytest.raises(SystemExit) as stopped:
        search.main(argv)
    assert stopped.value.code == 2
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: " in message and "no trial of the search completed (Oversized model: " in message
    history = json.loads((tmp_path / "search" / "history.json").read_text())
    assert [trial["status"] for trial in history] == ["FAILED", "FAILED"]
    assert all(trial["failure"].startswith("Oversized model: ") and not trial["history"] for trial in history)


def test_fix_option_pins_values_and_rejects_unknown_names():
    hp = fixed_hyperparameters(["model=alstm", "lstm_units=64", "learning_rate=1e-3", "filters_w21=0"])
    assert hp.values == {"model": "alstm", "lstm_units": 64, "learning_rate": 1e-3, "filters_w21": 0}
    model = ProtlocHyperModel(SPEC).build(hp)
    assert model.name == "alstm" and model.get_layer("conv_bank").filters[-1] == 0
    with pytest.raises(ValueError, match="NAME=VALUE.*'units=3'"):
        fixed_hyperparameters(["units=3"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        fixed_hyperparameters(["model"])
    with pytest.raises(ValueError, match="fold must be 0-2"):
        ProtlocHyperModel(SPEC, folds=[3])
    with pytest.raises(ValueError, match="unknown recipe 'slow'"):
        ProtlocHyperModel(SPEC, recipe="slow")


def test_one_chief_and_two_workers_complete_a_two_trial_search_on_localhost(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    argv = [sys.executable, "-m", "tuning.search", "--tuner", "random", "--max-trials", "2", "--epochs", "1",
            "--fold", "0", "--dataset", "tests.toy_data:TINY", "--fix", "lstm_units=4", "--out", str(tmp_path / "s")]
    environment = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port),
                   "PYTHONPATH": str(REPO)}
    processes = [subprocess.Popen(argv, cwd=REPO, env={**environment, "KERASTUNER_TUNER_ID": tuner_id},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for tuner_id in ("chief", "tuner0", "tuner1")]
    try:
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0, 0], [err[-2000:] for _, err in outputs]
    best = json.loads((tmp_path / "s" / "best_hparams.json").read_text())
    assert best["dataset"] == "tests.toy_data:TINY" and best["folds"] == [0]
    trials = (tmp_path / "s" / "trials.md").read_text()
    assert trials.startswith("# Search trials (2;") and trials.count("| COMPLETED |") == 2
    assert '"worker": "tuner0"' in outputs[1][0] and '"worker": "tuner1"' in outputs[2][0]


def test_a_multi_label_search_scores_trials_by_average_precision_and_records_both_f1s(tmp_path, capsys):
    """deeploc2-style data (locations + membrane): the objective is the locations' validation average precision,
    the weighted loss and a wider filter range are used, and the best config names its score."""
    out = tmp_path / "search"
    argv = ["--dataset", "tests.test_tuning:MULTI", "--tuner", "random", "--max-trials", "2", "--epochs", "2",
            "--fix", "lstm_units=4", "--fix", "dense_units=4", "--fix", "model=rlstm", "--loss", "weighted",
            "--filter-range", "8", "64", "8", "--out", str(out)]
    assert search.main(argv) == 0
    best = json.loads((out / "best_hparams.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert best["dataset"] == MULTI.name and best["folds"] == [0, 1] and 0 <= best["val_locations_ap"] <= 1
    assert best["val_locations_ap"] == max(trial["score"] for trial in history)
    assert all(8 <= count <= 64 and count % 8 == 0 for count in best["hparams"]["conv_filters"])
    trials = (out / "trials.md").read_text()
    assert "objective: mean val_locations_ap over folds [0, 1]" in trials
    assert "| val_locations_micro_f1 | val_locations_macro_f1 |" in trials and trials.count("| COMPLETED | 2 |") == 2
    trial = json.loads(sorted((out / "tuner").glob("trial_*/trial.json"))[0].read_text())
    recorded = trial["metrics"]["metrics"]
    assert {"val_locations_ap", "val_locations_micro_f1", "val_locations_macro_f1"} <= set(recorded)


def test_search_options_that_do_not_fit_the_data_set_are_refused(tmp_path, capsys):
    for extra, problem in ((["--report-only"], "holds no search"),
                           (["--loss", "weighted"], "is for multi-label data sets"),
                           (["--fold", "0", "--exclude-fold", "0"], "--fold 0 is also given to --exclude-fold"),
                           (["--filter-range", "30", "10", "5"], "--filter-range must be LOW HIGH STEP"),
                           (["--max-cost", "2"], "--max-cost is a positive bound for --tuner hyperband"),
                           (["--tuner", "hyperband", "--max-cost", "0"], "--max-cost is a positive bound")):
        with pytest.raises(SystemExit) as stopped:
            search.main(["--dataset", "tests.test_tuning:SPEC", *extra, "--out", str(tmp_path / "s")])
        assert stopped.value.code == 2 and problem in capsys.readouterr().err


def test_an_excluded_fold_is_neither_trained_on_nor_validated_on():
    searched = ProtlocHyperModel(SPEC, exclude_folds=[0])
    assert 0 not in searched.folds and searched.folds == tuple(range(1, SPEC.num_folds))
    train, validation = searched._examples(1)
    assert {e.fold for e in train} == set(range(2, SPEC.num_folds)) and {e.fold for e in validation} == {1}
    with pytest.raises(ValueError, match="both validated on and excluded"):
        ProtlocHyperModel(SPEC, folds=[0], exclude_folds=[0])


def test_the_cost_of_a_configuration_counts_the_multiply_adds_of_its_per_residue_layers():
    from tuning.cost import multiply_adds_per_residue

    # the coarse recipe's R-LSTM: 60 input columns, 10 filters per width (1+3+5+9+15+21 = 54), 128 units, pooling 4
    recipe = multiply_adds_per_residue("rlstm", pool_size=4)
    assert recipe == 54 * 60 * 10 + 2 * 4 * 128 * (60 + 128) / 4
    assert multiply_adds_per_residue("rlstm", pool_size=1) == 54 * 60 * 10 + 2 * 4 * 128 * (60 + 128)
    assert multiply_adds_per_residue("alstm", attention_units=100) == (
        54 * 60 * 10 + 2 * 4 * 128 * (60 + 128) + 2 * 128 * 100)
    assert multiply_adds_per_residue("rlstm", pool_size=4, profile=True) == recipe + 54 * 20 * 10  # 20 more columns
    assert multiply_adds_per_residue("rlstm", pool_size=4, terminal_windows=[100, 50]) == recipe  # once a protein
    hypermodel = ProtlocHyperModel(MULTI)  # coarse: the recipe's own R-LSTM costs 1
    recipe_values = fixed_hyperparameters(["model=rlstm"])
    hypermodel.build(recipe_values)
    assert hypermodel.relative_cost(recipe_values.values) == pytest.approx(1.0)


def test_a_cost_bound_keeps_every_configuration_hyperband_draws_under_it(tmp_path):
    from tuning.runner import TUNERS

    hypermodel = ProtlocHyperModel(MULTI, folds=[0], filter_range=(10, 70, 10))
    objective = keras_tuner.Objective(hypermodel.objective, "max")
    costs = {}
    for bound in (None, 1.6):
        admissible = None if bound is None else (lambda values: hypermodel.relative_cost(values) <= bound)
        tuner = TUNERS["hyperband"](hypermodel, objective=objective, max_epochs=3, admissible=admissible, seed=0,
                                    directory=str(tmp_path), project_name=f"bound{bound}", overwrite=True)
        drawn = [tuner.oracle._random_values() for _ in range(20)]
        costs[bound] = [hypermodel.relative_cost(values) for values in drawn]
    assert max(costs[None]) > 1.6 and max(costs[1.6]) <= 1.6  # the space holds dearer ones; none is drawn
    assert len({round(cost, 6) for cost in costs[1.6]}) > 5  # and the bound leaves a space to search


def test_every_tuner_tries_the_recipe_first_then_draws(tmp_path):
    from tuning.runner import TUNERS

    hypermodel = ProtlocHyperModel(MULTI, folds=[0], filter_range=(10, 70, 10))  # coarse: 10 filters a width
    objective = keras_tuner.Objective(hypermodel.objective, "max")
    for name, tuner_class in TUNERS.items():
        budget = {"max_epochs": 3} if name == "hyperband" else {"max_trials": 3}
        tuner = tuner_class(hypermodel, objective=objective, seed=0, directory=str(tmp_path), project_name=name,
                            overwrite=True, **budget)
        first, second = (tuner.oracle.create_trial(f"tuner{k}").hyperparameters.values for k in (0, 1))
        assert hypermodel.relative_cost(first) == pytest.approx(1.0), name  # the recipe's own R-LSTM
        assert (first["model"], first["learning_rate"], first["dropout"], first["pool_size"]) == ("rlstm", 3e-3, 0.25,
                                                                                                 4), name
        assert second != first, name


def test_the_report_states_the_hyperband_plan_each_bracket_trains():
    from tuning.runner import BracketedHyperbandOracle, hyperband_plan

    objective = keras_tuner.Objective("val_locations_ap", "max")
    deeploc2 = BracketedHyperbandOracle(objective, max_epochs=15, factor=3, brackets=1)
    assert hyperband_plan(deeploc2) == ("Hyperband: 12 configurations to epoch 2, then 4 configurations to epoch 5, "
                                        "then 2 configurations to epoch 15 (56 epochs).")
    every = BracketedHyperbandOracle(objective, max_epochs=3, factor=3)
    assert hyperband_plan(every) == ("Hyperband: 3 configurations to epoch 1, then 1 configuration to epoch 3 (5 "
                                     "epochs); 2 configurations to epoch 3 (6 epochs).")
    assert hyperband_plan(keras_tuner.oracles.RandomSearchOracle(objective, max_trials=2)) is None
