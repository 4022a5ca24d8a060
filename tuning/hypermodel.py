"""A keras-tuner HyperModel over the zoo: declares the search space read from the registry, then calls
``protloc.models.build_model``; trials train the way a training recipe does (:mod:`protloc.models.recipes`)."""
from __future__ import annotations

import functools

import keras_tuner

from protloc.data import datasets, pipeline
from protloc.models import hyperparameters, losses, recipes, zoo
from protloc.training import loop
from tuning import cost

MULTI_LABEL_OBJECTIVE = "val_locations_ap"
"""A multi-label search's objective: the validation average precision of the locations, micro-averaged over every
protein and location (the area under the precision-recall curve; threshold-free)."""

SEARCHED = {name: hp for name, hp in hyperparameters.HYPERPARAMETERS.items() if hp.search}
"""The registry's hyper-parameters that have a search space."""
SEARCH_SPACE_NAMES = ("model", *(item for hp in SEARCHED.values() for item in (hp.item_names or (hp.name,))),
                      "learning_rate")
"""Names of the hyper-parameters ``ProtlocHyperModel.build`` declares."""


def declare(hp: keras_tuner.HyperParameters, name: str, space: tuple, default):
    """Declares one tuner hyper-parameter from a registry space ``("choice", values)``, ``("int", low, high,
    step)``, ``("float", low, high, step)`` or ``("boolean",)``; returns its value for this trial."""
    kind, *arguments = space
    if kind == "choice":
        return hp.Choice(name, list(arguments[0]), default=default)
    if kind == "int":
        return hp.Int(name, *arguments[:2], step=arguments[2], default=default)
    if kind == "float":
        return hp.Float(name, *arguments[:2], step=arguments[2], default=default)
    if kind == "boolean":
        return hp.Boolean(name, default=bool(default))
    raise ValueError(f"unknown search space kind {kind!r} for {name}")


def on_grid(value, space: tuple):
    """``value`` moved to the nearest point of an ``("int", low, high, step)`` space (other spaces: unchanged), so
    that a recipe's default is one of the values a narrower or coarser search range declares."""
    if space[0] != "int":
        return value
    _, low, high, step = space
    return int(min(high, max(low, low + round((value - low) / step) * step)))


class ProtlocHyperModel(keras_tuner.HyperModel):
    """Search space: model family, every registry hyper-parameter with a ``search`` space (each item of a
    list-valued one, e.g. filters per conv width, 0 turning a width off) and the learning rate. Defaults are the
    recipe's values where it sets them (e.g. ``coarse``: dropout 0.25, pooling 4, filter maxima), else the
    registry's (the paper's). Family-specific parameters are conditional on the family.

    Every trial trains as the recipe does: its schedule (over ``max_epochs``, so a Hyperband trial continued
    from an earlier round carries on along the same schedule), batch size and training length cap. ``fit`` trains
    one model per validation fold and reports the objective (:attr:`objective`; one fold: the Keras history, whose
    best epoch keras-tuner scores; several: the mean of the last epochs' values): the validation accuracy of a
    single-label data set; of a multi-label one (with its membrane output where the data set has one) the
    locations' micro-averaged average precision (:data:`MULTI_LABEL_OBJECTIVE`), with their micro and macro F1 at
    0.5 recorded beside it.

    Args:
        spec: the data set (:class:`protloc.data.datasets.DatasetSpec`).
        folds: the folds to validate on (all of the spec's, or one for a cheap search); default all.
        recipe: a key of :data:`protloc.models.recipes.RECIPES`.
        max_epochs: the schedule's length in epochs (default: the recipe's).
        seed: shuffling seed.
        data_dir: where the data set's files are (None: its default).
        families: the model families searched (default: all of the registry's).
        loss: a multi-label model's location loss (:func:`protloc.training.loop.compile_model`; ``weighted``:
            positives weighted by each location's frequency among the training proteins of the first fold).
        filter_range: ``(low, high, step)``: the search range of the filters per conv width instead of the
            registry's.
        exclude_folds: training folds never read (neither trained on nor validated on), e.g. a partition kept for
            the final cross-validation.
    """

    def __init__(self, spec: datasets.DatasetSpec, folds=None, recipe: str = recipes.DEFAULT_RECIPE,
                 max_epochs: int | None = None, seed: int = 0, data_dir=None, families=None,
                 loss: str = "crossentropy", filter_range: tuple | None = None, exclude_folds=(), **kwargs):
        super().__init__(**kwargs)
        if recipe not in recipes.RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(recipes.RECIPES)}")
        self.spec, self.data_dir, self.recipe_name, self.recipe = spec, data_dir, recipe, recipes.RECIPES[recipe]
        self.exclude_folds = tuple(sorted({spec.check_fold(f) for f in exclude_folds}))
        self.folds = tuple(spec.check_fold(f) for f in folds) if folds is not None else tuple(
            f for f in range(spec.num_folds) if f not in self.exclude_folds)
        if set(self.folds) & set(self.exclude_folds):
            raise ValueError(f"fold(s) {sorted(set(self.folds) & set(self.exclude_folds))} both validated on and "
                             f"excluded")
        self.max_epochs, self.seed = int(max_epochs or self.recipe.epochs), seed
        self.families = [zoo.check_family(name) for name in (families or zoo.FAMILIES)]
        self.multi_label = spec.label_scheme == datasets.MULTI_LABEL
        if loss != "crossentropy" and not self.multi_label:
            raise ValueError(f"{loss} loss is for multi-label data sets; {spec.name} is single-label")
        self.loss = loss
        if filter_range is not None and not (0 <= filter_range[0] < filter_range[1] and filter_range[2] > 0):
            raise ValueError(f"filter range must be LOW HIGH STEP with 0 <= LOW < HIGH and STEP > 0, got {filter_range}")
        self.filter_space = ("int", *filter_range) if filter_range is not None else None

    @property
    def objective(self) -> str:
        """The metric a trial is scored by (maximized)."""
        return MULTI_LABEL_OBJECTIVE if self.multi_label else "val_accuracy"

    def space(self, name: str, parameter) -> tuple:
        """A searched hyper-parameter's space: the registry's, or this search's filter range."""
        return self.filter_space if name == "conv_filters" and self.filter_space else parameter.search

    def default(self, name: str, family: str):
        """A hyper-parameter's default in this search: the recipe's value for ``family``, else the registry's."""
        parameter = hyperparameters.HYPERPARAMETERS[name]
        if name in self.recipe.hparams and parameter.used_by(family):
            return self.recipe.hparams[name]
        return parameter.default

    def build(self, hp: keras_tuner.HyperParameters):
        family = hp.Choice("model", self.families, default=self.families[0])
        hparams = {name: self.default(name, family) for name in self.recipe.hparams
                   if hyperparameters.HYPERPARAMETERS[name].used_by(family)}
        for name, parameter in SEARCHED.items():
            if parameter.families:
                if family in parameter.families:
                    with hp.conditional_scope("model", list(parameter.families)):
                        hparams[name] = declare(hp, name, self.space(name, parameter), self.default(name, family))
            elif parameter.item_names:
                hparams[name] = [declare(hp, item, self.space(name, parameter), on_grid(default, self.space(name,
                                                                                                        parameter)))
                                 for item, default in zip(parameter.item_names, self.default(name, family))]
            else:
                hparams[name] = declare(hp, name, self.space(name, parameter), self.default(name, family))
        if not any(hparams["conv_filters"]):
            raise keras_tuner.errors.FailedTrialError("every conv width is off")
        learning_rate = declare(hp, "learning_rate", recipes.LEARNING_RATE_SEARCH, self.recipe.learning_rate)
        schedule = loop.learning_rate_schedule(learning_rate, self.recipe.schedule, self.max_epochs,
                                                   self.steps_per_epoch(self.folds[0]))
        model = zoo.build_model(family, self.spec.class_names, self.spec.label_scheme, self.spec.membrane, **hparams)
        if not self.multi_label:
            return loop.compile_model(model, schedule)
        import keras

        metrics = [keras.metrics.AUC(curve="PR", name="ap"),
                   keras.metrics.F1Score(average="micro", threshold=0.5, name="micro_f1"),
                   keras.metrics.F1Score(average="macro", threshold=0.5, name="macro_f1")]
        weights = None
        if self.loss == "weighted":
            train = self._examples(self.folds[0])[0]
            weights = losses.positive_weights(datasets.labels_of(train, len(self.spec.class_names)))
        return loop.compile_model(model, schedule, self.loss, weights, location_metrics=metrics)

    @functools.lru_cache(maxsize=8)
    def _examples(self, fold: int) -> tuple[list, list]:
        """Training examples (cut to the recipe's length) and validation examples of one held-out fold."""
        kept = [f for f in range(self.spec.num_folds) if f != fold and f not in self.exclude_folds]
        train = self.spec.examples("train", kept, self.data_dir)
        return ([loop.truncated(e, self.recipe.train_max_length) for e in train],
                self.spec.examples("train", [fold], self.data_dir))

    def steps_per_epoch(self, fold: int) -> int:
        """Training batches per epoch with ``fold`` held out."""
        classes = len(self.spec.class_names) if self.multi_label else None
        return len(pipeline.BucketedBatches(self._examples(fold)[0], self.recipe.batch_size, self.seed,
                                            num_classes=classes))

    def fit(self, hp, model, *args, initial_epoch: int = 0, **kwargs):
        if initial_epoch and len(self.folds) > 1:
            raise ValueError("a trial continued from an earlier round (Hyperband) validates on one fold: give --fold")
        histories = []
        classes = len(self.spec.class_names) if self.multi_label else None
        for index, fold in enumerate(self.folds):
            fold_model = model if index == 0 else self.build(hp)
            train, validation = self._examples(fold)
            # a continued trial restarts from saved weights: move the schedule to where that trial stopped
            fold_model.optimizer.iterations.assign(initial_epoch * self.steps_per_epoch(fold))
            histories.append(fold_model.fit(
                pipeline.batches(train, self.recipe.batch_size, self.seed, epoch=initial_epoch, num_classes=classes),
                validation_data=pipeline.batches(validation, self.recipe.batch_size, num_classes=classes),
                shuffle=False, initial_epoch=initial_epoch, **kwargs))
        if len(histories) == 1:
            return histories[0]
        recorded = [self.objective, *(["val_locations_micro_f1", "val_locations_macro_f1"] if self.multi_label else [])]
        return {name: sum(h.history[name][-1] for h in histories) / len(histories) for name in recorded}

    def run_config(self, hp: keras_tuner.HyperParameters) -> dict:
        """A trial's values -> the ``{"model", "hparams", "learning_rate", "recipe"}`` JSON that ``protloc train
        --config`` reads (the recipe's own values for what the search did not declare)."""
        return self.config_of(hp.values)

    def relative_cost(self, values: dict) -> float:
        """A configuration's (a trial's values) estimated multiply-adds per residue
        (:func:`tuning.cost.multiply_adds_per_residue`) over those of the recipe's own R-LSTM."""
        config = self.config_of(values)
        recipe = {name: value for name, value in self.recipe.hparams.items()
                  if hyperparameters.HYPERPARAMETERS[name].used_by("rlstm")}
        return (cost.multiply_adds_per_residue(config["model"], **config["hparams"])
                / cost.multiply_adds_per_residue("rlstm", **recipe))

    def config_of(self, values: dict) -> dict:
        """:meth:`run_config` of a trial's values (a dict)."""
        family = values["model"]
        hparams = {name: self.default(name, family) for name in self.recipe.hparams
                   if hyperparameters.HYPERPARAMETERS[name].used_by(family)}
        for name, parameter in SEARCHED.items():
            if parameter.item_names:
                hparams[name] = [values[item] for item in parameter.item_names]
            elif values.get(name) is not None:
                hparams[name] = values[name]
        return {"model": family, "hparams": hparams, "learning_rate": values["learning_rate"],
                "recipe": self.recipe_name}
