"""tuning: a 2-trial, 1-epoch search on tiny synthetic data; per-width 0 filters; the result trains; resume."""
import json

import keras_tuner
import numpy as np
import pytest

from protloc import data, training
from protloc.cli import _run_config, build_parser
from tests.helpers import motif_task
from tuning.hypermodel import ProtlocHyperModel
from tuning.search import fixed_hyperparameters, run_search


def tiny_folds(fold):
    tokens, labels = motif_task(n_per_class=8, seed=fold)
    return data.from_arrays(tokens[::2], labels[::2]), data.from_arrays(tokens[1::2], labels[1::2])


def small_space():
    hp = keras_tuner.HyperParameters()
    hp.Fixed("filters_w21", 0)   # a width turned off
    hp.Fixed("filters_w15", 0)
    hp.Fixed("lstm_units", 64)
    hp.Fixed("dense_units", 64)
    return hp


def test_default_hyperparameters_are_the_papers():
    model = ProtlocHyperModel(tiny_folds).build(keras_tuner.HyperParameters())
    assert model.name == "rlstm" and model.get_layer("conv_bank").filters == (10,) * 6
    assert model.get_layer("conv_dropout").rate == 0.5
    assert float(model.optimizer.learning_rate) == np.float32(2e-4)


def test_search_respects_zero_filters_trains_and_resumes(tmp_path):
    best = run_search(tmp_path / "search", "random", max_trials=2, epochs=1, fold_data=tiny_folds, folds=(0, 1),
                      batch_size=8, hyperparameters=small_space(), verbose=0)
    assert best["hparams"]["conv_filters"][4:] == [0, 0]
    assert 0 <= best["val_accuracy"] <= 1
    trials = list((tmp_path / "search" / "tuner").glob("trial_*"))
    assert len(trials) == 2 and (tmp_path / "search" / "trials.md").exists()

    saved = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    args = build_parser().parse_args(["train", "--out", str(tmp_path / "run"), "--epochs", "1",
                                      "--config", str(tmp_path / "search" / "best_hparams.json")])
    config = _run_config(args)
    assert config.model == saved["model"] and config.hparams["conv_filters"][4:] == [0, 0]
    model = training.train(tmp_path / "run", config, train_data=tiny_folds(0)[0], verbose=0)
    assert [c.kernel_size[0] for c in model.get_layer("conv_bank").convolutions] == [1, 3, 5, 9]

    run_search(tmp_path / "search", "random", max_trials=2, epochs=1, fold_data=tiny_folds, folds=(0, 1),
               batch_size=8, hyperparameters=small_space(), verbose=0)
    assert len(list((tmp_path / "search" / "tuner").glob("trial_*"))) == 2


def test_fix_option_pins_values_and_rejects_unknown_names():
    hp = fixed_hyperparameters(["model=alstm", "lstm_units=64", "learning_rate=1e-3", "filters_w21=0"])
    assert hp.values == {"model": "alstm", "lstm_units": 64, "learning_rate": 1e-3, "filters_w21": 0}
    model = ProtlocHyperModel(tiny_folds).build(hp)
    assert model.name == "alstm" and model.get_layer("conv_bank").filters[-1] == 0
    with pytest.raises(ValueError, match="NAME=VALUE.*'units=3'"):
        fixed_hyperparameters(["units=3"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        fixed_hyperparameters(["model"])
