"""tuning: the search space comes from the registry; a 2-trial, 1-epoch search on a tiny synthetic data set;
per-width 0 filters; the result trains; resume."""
import json

import keras_tuner
import numpy as np
import pytest

from protloc import datasets, models, training
from protloc.cli import _run_config, build_parser
from tests.helpers import toy_spec
from tuning.hypermodel import SEARCH_SPACE_NAMES, ProtlocHyperModel
from tuning.search import fixed_hyperparameters, run_search

SPEC = toy_spec(f"{__name__}:SPEC", n_per_class=8)


def small_space():
    hp = keras_tuner.HyperParameters()
    hp.Fixed("filters_w21", 0)   # a width turned off
    hp.Fixed("filters_w15", 0)
    hp.Fixed("lstm_units", 64)
    hp.Fixed("dense_units", 64)
    return hp


def test_default_hyperparameters_are_the_papers_and_the_space_is_the_registrys():
    hp = keras_tuner.HyperParameters()
    model = ProtlocHyperModel(SPEC).build(hp)
    assert model.name == "rlstm" and model.get_layer("conv_bank").filters == (10,) * 6
    assert model.get_layer("conv_dropout").rate == 0.5
    assert float(model.optimizer.learning_rate) == np.float32(2e-4)
    assert models.class_names_of(model) == list(SPEC.class_names)
    searched = {name for name, hp in models.HYPERPARAMETERS.items() if hp.search and not hp.families}
    declared = set(hp.values)
    assert {"model", "learning_rate", "filters_w1", "filters_w21"} <= declared
    assert searched - {"conv_filters"} <= declared and declared <= set(SEARCH_SPACE_NAMES)
    assert "attention_units" not in declared  # conditional on the A-LSTM


def test_search_respects_zero_filters_trains_and_resumes(tmp_path):
    best = run_search(tmp_path / "search", "random", max_trials=2, epochs=1, spec=SPEC, folds=(0, 1),
                      batch_size=8, hyperparameters=small_space(), verbose=0)
    assert best["hparams"]["conv_filters"][4:] == [0, 0] and best["folds"] == [0, 1]
    assert best["dataset"] == SPEC.name and best["learning_rate"] in (1e-4, 2e-4, 5e-4, 1e-3)
    trials = list((tmp_path / "search" / "tuner").glob("trial_*"))
    assert len(trials) == 2 and (tmp_path / "search" / "trials.md").exists()

    saved = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    args = build_parser().parse_args(["train", "--out", str(tmp_path / "run"), "--epochs", "1",
                                      "--dataset", SPEC.name,
                                      "--config", str(tmp_path / "search" / "best_hparams.json")])
    config = _run_config(args)
    assert config.model == saved["model"] and config.hparams["conv_filters"][4:] == [0, 0]
    assert config.learning_rate == saved["learning_rate"] and (config.recipe, config.schedule) == ("paper", "constant")
    model = training.train(tmp_path / "run", config, verbose=0)
    kept = [width for width, count in zip((1, 3, 5, 9, 15, 21), saved["hparams"]["conv_filters"]) if count]
    assert [c.kernel_size[0] for c in model.get_layer("conv_bank").convolutions] == kept and kept[-1] <= 9

    run_search(tmp_path / "search", "random", max_trials=2, epochs=1, spec=SPEC, folds=(0, 1),
               batch_size=8, hyperparameters=small_space(), verbose=0)
    assert len(list((tmp_path / "search" / "tuner").glob("trial_*"))) == 2


def test_fix_option_pins_values_and_rejects_unknown_names():
    hp = fixed_hyperparameters(["model=alstm", "lstm_units=64", "learning_rate=1e-3", "filters_w21=0"])
    assert hp.values == {"model": "alstm", "lstm_units": 64, "learning_rate": 1e-3, "filters_w21": 0}
    model = ProtlocHyperModel(SPEC).build(hp)
    assert model.name == "alstm" and model.get_layer("conv_bank").filters[-1] == 0
    assert "attention_units" in hp.values  # declared for the A-LSTM
    with pytest.raises(ValueError, match="NAME=VALUE.*'units=3'"):
        fixed_hyperparameters(["units=3"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        fixed_hyperparameters(["model"])
    with pytest.raises(ValueError, match="fold must be 0-2"):
        ProtlocHyperModel(SPEC, folds=[3])


def test_one_chief_and_two_workers_complete_a_two_trial_search_on_localhost(tmp_path):
    import os
    import socket
    import subprocess
    import sys

    from tests.helpers import REPO

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = ("import sys; from protloc import datasets; from tests.helpers import toy_spec; "
            "datasets.register(toy_spec('toy-distributed', n_per_class=8)); from tuning import search; "
            "sys.exit(search.main(sys.argv[1:]))")
    argv = [sys.executable, "-c", code, "--tuner", "random", "--max-trials", "2", "--epochs", "1", "--fold", "0",
            "--dataset", "toy-distributed", "--out", str(tmp_path / "search")]
    environment = {**os.environ, "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
    processes = [subprocess.Popen(argv, cwd=REPO, env={**environment, "KERASTUNER_TUNER_ID": tuner_id},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for tuner_id in ("chief", "tuner0", "tuner1")]
    try:
        outputs = [process.communicate(timeout=600) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0, 0], [err[-2000:] for _, err in outputs]
    best = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    assert best["dataset"] == "toy-distributed" and best["folds"] == [0]
    trials = (tmp_path / "search" / "trials.md").read_text()
    assert trials.startswith("# Search trials (2;") and trials.count("| COMPLETED |") == 2
    assert '"worker": "tuner0"' in outputs[1][0] and '"worker": "tuner1"' in outputs[2][0]
