"""A keras-tuner HyperModel over the zoo: declares the search space, then calls ``protloc.models.build_model``."""
from __future__ import annotations

from typing import Callable

import keras_tuner

from protloc import data, models
from protloc.layers.conv_bank import PAPER_WIDTHS

PAPER = models.PAPER_HPARAMS

SEARCH_SPACE_NAMES = ("model", *(f"filters_w{width}" for width in PAPER_WIDTHS), "lstm_units", "dense_units",
                      "dropout", "learning_rate", "attention_units")
"""Names of the hyper-parameters ``ProtlocHyperModel.build`` declares."""

FoldData = Callable[[int], tuple]
"""fold -> (unbatched training dataset without that fold, unbatched validation dataset of that fold)."""


class ProtlocHyperModel(keras_tuner.HyperModel):
    """Search space: model family, filters per conv width (0 turns a width off), W_a width, LSTM and dense
    units, dropout and learning rate; every default is the paper's value (see ``models.PAPER_HPARAMS``).

    ``fit`` trains one fresh model per cross-validation fold and reports the mean of the last-epoch
    validation accuracies as ``val_accuracy`` (the paper's 5-fold protocol on the training part).

    Args:
        fold_data: fold -> (train, validation) unbatched ``(tokens, label)`` datasets.
        folds: the folds to average over (all 5, or one for a cheap search).
        batch_size: proteins per length-bucketed batch.
        seed: shuffling seed.
    """

    def __init__(self, fold_data: FoldData, folds=(0, 1, 2, 3, 4), batch_size: int = data.DEFAULT_BATCH_SIZE,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.fold_data, self.folds = fold_data, tuple(folds)
        self.batch_size, self.seed = batch_size, seed

    def build(self, hp: keras_tuner.HyperParameters):
        name = hp.Choice("model", ["rlstm", "alstm"], default="rlstm")
        filters = [hp.Int(f"filters_w{width}", 0, 30, step=5, default=count)
                   for width, count in zip(PAPER_WIDTHS, PAPER["conv_filters"])]
        if not any(filters):
            raise keras_tuner.errors.FailedTrialError("every conv width is off")
        hparams = {
            "conv_filters": filters,
            "lstm_units": hp.Choice("lstm_units", [64, 128, 256], default=PAPER["lstm_units"]),
            "dense_units": hp.Choice("dense_units", [64, 128, 256], default=PAPER["dense_units"]),
            "dropout": hp.Float("dropout", 0.0, 0.6, step=0.1, default=PAPER["dropout"]),
            "learning_rate": hp.Choice("learning_rate", [1e-4, 2e-4, 5e-4, 1e-3], default=PAPER["learning_rate"]),
        }
        if name == "alstm":
            with hp.conditional_scope("model", ["alstm"]):
                hparams["attention_units"] = hp.Choice("attention_units", [100, 200, 400],
                                                       default=PAPER["attention_units"])
        return models.build_model(name, **hparams)

    def fit(self, hp, model, *args, **kwargs):
        scores = []
        for index, fold in enumerate(self.folds):
            fold_model = model if index == 0 else self.build(hp)
            train, validation = self.fold_data(fold)
            history = fold_model.fit(data.batch(train, self.batch_size, shuffle_seed=self.seed),
                                     validation_data=data.batch(validation, self.batch_size), shuffle=False,
                                     **kwargs)
            scores.append(history.history["val_accuracy"][-1])
        return {"val_accuracy": sum(scores) / len(scores)}


def run_config_of(hp: keras_tuner.HyperParameters) -> dict:
    """Best values -> the ``{"model", "hparams"}`` JSON that ``protloc train --config`` reads."""
    values = hp.values
    hparams = {"conv_filters": [int(values[f"filters_w{w}"]) for w in PAPER_WIDTHS]}
    for name in ("lstm_units", "dense_units", "dropout", "learning_rate", "attention_units"):
        if values.get(name) is not None:
            hparams[name] = values[name]
    return {"model": values["model"], "hparams": hparams}
