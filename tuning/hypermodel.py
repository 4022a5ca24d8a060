"""A keras-tuner HyperModel over the zoo: declares the search space read from the registry, then calls
``protloc.models.build_model``."""
from __future__ import annotations

import keras_tuner

from protloc import datasets, hyperparameters, models, pipeline, recipes, training

SEARCHED = {name: hp for name, hp in hyperparameters.HYPERPARAMETERS.items() if hp.search}
"""The registry's hyper-parameters that have a search space."""
SEARCH_SPACE_NAMES = ("model", *(item for hp in SEARCHED.values() for item in (hp.item_names or (hp.name,))),
                      "learning_rate")
"""Names of the hyper-parameters ``ProtlocHyperModel.build`` declares."""


def declare(hp: keras_tuner.HyperParameters, name: str, space: tuple, default):
    """Declares one tuner hyper-parameter from a registry space ``("choice", values)``, ``("int", low, high,
    step)`` or ``("float", low, high, step)``; returns its value for this trial."""
    kind, *arguments = space
    if kind == "choice":
        return hp.Choice(name, list(arguments[0]), default=default)
    if kind == "int":
        return hp.Int(name, *arguments[:2], step=arguments[2], default=default)
    if kind == "float":
        return hp.Float(name, *arguments[:2], step=arguments[2], default=default)
    raise ValueError(f"unknown search space kind {kind!r} for {name}")


class ProtlocHyperModel(keras_tuner.HyperModel):
    """Search space: model family, every registry hyper-parameter with a ``search`` space (each item of a
    list-valued one, e.g. filters per conv width, 0 turning a width off) and the learning rate; every default is
    the registry's (the paper's) value. Family-specific parameters are conditional on the family.

    ``fit`` trains one fresh model per cross-validation fold and reports the mean of the last-epoch
    validation accuracies as ``val_accuracy`` (the paper's protocol on the training part).

    Args:
        spec: the data set (:class:`protloc.datasets.DatasetSpec`).
        folds: the folds to average over (all of the spec's, or one for a cheap search); default all.
        batch_size: proteins per length-bucketed batch.
        seed: shuffling seed.
        data_dir: where the data set's files are (None: its default).
    """

    def __init__(self, spec: datasets.DatasetSpec, folds=None, batch_size: int = pipeline.DEFAULT_BATCH_SIZE,
                 seed: int = 0, data_dir=None, **kwargs):
        super().__init__(**kwargs)
        self.spec, self.data_dir = spec, data_dir
        self.folds = tuple(spec.check_fold(f) for f in folds) if folds is not None else tuple(range(spec.num_folds))
        self.batch_size, self.seed = batch_size, seed

    def build(self, hp: keras_tuner.HyperParameters):
        family = hp.Choice("model", list(models.FAMILIES), default="rlstm")
        hparams = {}
        for name, parameter in SEARCHED.items():
            if parameter.families:
                if family in parameter.families:
                    with hp.conditional_scope("model", list(parameter.families)):
                        hparams[name] = declare(hp, name, parameter.search, parameter.default)
            elif parameter.item_names:
                hparams[name] = [declare(hp, item, parameter.search, default)
                                 for item, default in zip(parameter.item_names, parameter.default)]
            else:
                hparams[name] = declare(hp, name, parameter.search, parameter.default)
        if not any(hparams["conv_filters"]):
            raise keras_tuner.errors.FailedTrialError("every conv width is off")
        learning_rate = declare(hp, "learning_rate", recipes.LEARNING_RATE_SEARCH, recipes.PAPER_LEARNING_RATE)
        return training.compile_model(models.build_model(family, self.spec.class_names, **hparams), learning_rate)

    def fit(self, hp, model, *args, **kwargs):
        scores = []
        for index, fold in enumerate(self.folds):
            fold_model = model if index == 0 else self.build(hp)
            train = self.spec.examples("train", self.spec.folds_except(fold), self.data_dir)
            validation = self.spec.examples("train", [fold], self.data_dir)
            history = fold_model.fit(pipeline.batches(train, self.batch_size, self.seed),
                                     validation_data=pipeline.batches(validation, self.batch_size), shuffle=False,
                                     **kwargs)
            scores.append(history.history["val_accuracy"][-1])
        return {"val_accuracy": sum(scores) / len(scores)}


def run_config_of(hp: keras_tuner.HyperParameters) -> dict:
    """Best values -> the ``{"model", "hparams", "learning_rate", "recipe"}`` JSON that ``protloc train --config``
    reads; the recipe is ``paper``, a constant learning rate on whole proteins, as the search trains."""
    values = hp.values
    hparams = {}
    for name, parameter in SEARCHED.items():
        if parameter.item_names:
            hparams[name] = [values[item] for item in parameter.item_names]
        elif values.get(name) is not None:
            hparams[name] = values[name]
    return {"model": values["model"], "hparams": hparams, "learning_rate": values["learning_rate"], "recipe": "paper"}
