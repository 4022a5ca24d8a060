"""A training run's settings, resolved once: command line, ``--config`` JSON and recipe in, one immutable
:class:`RunConfig` out, saved complete in the run's ``config.json`` and read back exactly.

Resolution (:meth:`RunConfig.resolve`, the one place it happens): a setting given explicitly wins; else the
recipe's value (``epochs``, ``learning_rate``, ``schedule``, ``batch_size``, ``train_max_length`` and the
architecture hyper-parameters the recipe sets for the model's family, e.g. ``dropout``); else the registry's
default (:data:`protloc.models.hyperparameters.HYPERPARAMETERS`). ``config.json`` then records every value, so a run
means the same thing whatever later versions change in recipes or defaults.

Reading (:func:`read_config`) fills in nothing from today's defaults. A ``config.json`` written by an earlier
protloc, which lacks settings added since, is migrated explicitly (:data:`MIGRATIONS`): each missing setting gets
the value that version trained with.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib

from protloc.data import datasets
from protloc.data.datasets import MULTI_LABEL
from protloc.models.hyperparameters import HYPERPARAMETERS
from protloc.models.recipes import DEFAULT_RECIPE, RECIPES, SCHEDULES
from protloc.utils import files

FORMAT = 5
"""``format`` of the config.json files this version writes."""
LOSSES = ("crossentropy", "focal", "weighted")
"""Losses of a multi-label data set's locations (:func:`protloc.training.compile_model`); single-label data sets
train with cross-entropy."""
CONFIG_FILE = "config.json"
MIGRATIONS = (
    ("recipe", "paper", "protloc 0.1 named no recipe: it trained at a constant learning rate on whole proteins", 2),
    ("schedule", "constant", "protloc 0.1: a constant learning rate", 2),
    ("train_max_length", 1000, "protloc 0.1: whole proteins (cut to 1,000 residues, as prediction sees them)", 2),
    ("profile_db", None, "runs before profiles were added had no profile database", 2),
    ("hparams.profile", False, "runs before profiles were added took no profile input", 2),
    ("hparams.residue_inputs", {}, "runs before extra per-residue inputs were added took none", 2),
    ("hparams.pool_size", 1, "runs before pool_size was added did not pool (the paper's model)", 2),
    ("hparams.global_max", False, "runs before global_max was added had no filter maxima", 2),
    ("loss", "crossentropy", "runs before focal loss was offered trained with cross-entropy", 2),
    ("hparams.kingdom", False, "runs before the kingdom input was added took none", 3),
    ("hparams.terminal_windows", [0, 0], "runs before terminal windows were added had none", 4),
    ("exclude_folds", [], "runs before exclude_folds was added read every training fold", 4),
    ("hparams.signals", False, "runs before the sorting-signal head was added had none", 5),
)
"""How an older config.json is read (no ``format``: protloc before 0.2, read as format 1): each setting missing from
it, the value that version trained with, why, and the format that added the setting (applied to older files only).
``learning_rate`` inside ``hparams`` (protloc 0.1) moves out of it; ``backend`` is
provenance, not a setting."""


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run, every value resolved (build one with :meth:`resolve`).

    Attributes:
        model: zoo family (a key of ``protloc.models.FAMILIES``).
        hparams: every architecture hyper-parameter of the registry, resolved (a copy; do not modify).
        recipe: the recipe the settings came from (a key of ``protloc.models.recipes.RECIPES``).
        epochs, learning_rate, schedule, batch_size, train_max_length: see :class:`protloc.models.recipes.Recipe`.
        seed: seeds weights, dropout and shuffling.
        loss: ``crossentropy``, or for a multi-label data set's locations ``focal`` (binary focal cross-entropy,
            gamma 2) or ``weighted`` (binary cross-entropy with each location's positives weighted by
            :func:`protloc.models.losses.positive_weights` of the training proteins).
        fold: training fold held out for validation; None trains on the whole training split.
        dataset: the data set's name (:func:`protloc.data.datasets.get`).
        profile_db: absolute paths of the database(s) profiles are computed from
            (:class:`protloc.evidence.profiles.ProfileDatabase`), or None; config.json records them relative to the run
            directory, so a run moved with its database still finds it.
        exclude_folds: training folds the run never reads: not for training, validation, its homology reference
            or its fusion (a partition kept aside for scoring once every choice is made, e.g. choose on DeepLoc
            2.0's partitions 1-3 against 4 with partition 0 excluded).
    """

    model: str
    hparams: dict
    recipe: str
    epochs: int
    learning_rate: float
    schedule: str
    batch_size: int
    train_max_length: int
    seed: int
    loss: str
    fold: int | None
    dataset: str
    profile_db: tuple | None
    exclude_folds: tuple = ()

    def __post_init__(self):
        from protloc.models import zoo

        zoo.check_family(self.model)
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose from {', '.join(RECIPES)}")
        unknown = sorted(set(self.hparams) ^ set(HYPERPARAMETERS))
        if unknown:
            raise ValueError(f"hparams must name every hyper-parameter of the registry exactly; these differ: "
                             f"{unknown}")
        spec = self.spec  # an unknown data set fails here
        if self.fold is not None:
            spec.check_fold(self.fold)
        for fold in self.exclude_folds:
            spec.check_fold(fold)
        if self.fold is not None and self.fold in self.exclude_folds:
            raise ValueError(f"fold {self.fold} is both held out for validation and excluded")
        if not self.training_folds():
            raise ValueError(f"no training fold left: {spec.name} has folds 0-{spec.num_folds - 1}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be >= 1, got {self.batch_size}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning rate must be > 0, got {self.learning_rate}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {', '.join(SCHEDULES)}")
        if self.train_max_length < 2:
            raise ValueError(f"train_max_length must be at least 2, got {self.train_max_length}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}")
        if self.loss != "crossentropy" and spec.label_scheme != MULTI_LABEL:
            raise ValueError(f"{self.loss} loss is for multi-label data sets; {self.dataset} is single-label")
        if self.hparams["signals"] and spec.label_scheme != MULTI_LABEL:
            raise ValueError(f"the sorting-signal head (--signals) is for multi-label data sets; {self.dataset} is "
                             f"single-label")
        if self.hparams["profile"] and not self.profile_db:
            raise ValueError("a profile model (hparams profile=True) needs the database its profiles come from: "
                             "give --profile-db")

    @classmethod
    def resolve(cls, model: str = "rlstm", hparams: dict | None = None, recipe: str | None = None,
                epochs: int | None = None, learning_rate: float | None = None, schedule: str | None = None,
                batch_size: int | None = None, train_max_length: int | None = None, seed: int = 0,
                fold: int | None = None, dataset: str = datasets.DEFAULT, profile_db=None,
                loss: str = "crossentropy", exclude_folds=()) -> "RunConfig":
        """The run config of these settings: None (or a missing hyper-parameter) takes the recipe's value, else
        the registry's default (module docstring). ``profile_db`` paths are made absolute; giving one makes the
        model a profile model."""
        from protloc.models import zoo

        recipe = recipe or DEFAULT_RECIPE
        if recipe not in RECIPES:
            raise ValueError(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
        chosen = RECIPES[recipe]
        given = {name: value for name, value in (hparams or {}).items() if value is not None}
        for name, value in chosen.hparams.items():
            if name not in given and HYPERPARAMETERS[name].used_by(model):
                given[name] = value
        if profile_db:
            profile_db = tuple(str(pathlib.Path(path).resolve()) for path in profile_db)
            given["profile"] = True
        return cls(model=model, hparams=zoo.resolve_hparams(**given), recipe=recipe,
                   epochs=int(epochs if epochs is not None else chosen.epochs),
                   learning_rate=float(learning_rate if learning_rate is not None else chosen.learning_rate),
                   schedule=schedule or chosen.schedule,
                   batch_size=int(batch_size if batch_size is not None else chosen.batch_size),
                   train_max_length=int(train_max_length if train_max_length is not None
                                        else chosen.train_max_length),
                   seed=int(seed), loss=loss, fold=fold, dataset=dataset, profile_db=profile_db or None,
                   exclude_folds=tuple(sorted({int(fold) for fold in exclude_folds or ()})))

    @property
    def spec(self) -> datasets.DatasetSpec:
        """The data set the run trains on."""
        return datasets.get(self.dataset)

    def training_folds(self) -> list[int]:
        """The folds the run trains on: every training fold but the held-out one and the excluded ones."""
        return [fold for fold in range(self.spec.num_folds) if fold != self.fold and fold not in self.exclude_folds]

    def seen_folds(self) -> list[int]:
        """The folds the run reads at all (training and validation): every training fold but the excluded ones."""
        return [fold for fold in range(self.spec.num_folds) if fold not in self.exclude_folds]

    def same_run_as(self, other: "RunConfig") -> bool:
        """True when only the number of epochs differs, and the schedule allows that (a constant one)."""
        ignored = {"epochs": 0} if self.schedule == "constant" else {}
        return {**dataclasses.asdict(self), **ignored} == {**dataclasses.asdict(other), **ignored}

    def to_json(self, run_dir) -> dict:
        """config.json's content for a run in ``run_dir``: every setting, profile databases relative to it."""
        data = {"format": FORMAT, **dataclasses.asdict(self)}
        if self.profile_db:
            data["profile_db"] = [os.path.relpath(path, pathlib.Path(run_dir).resolve()) for path in self.profile_db]
        return data

    @classmethod
    def from_json(cls, data: dict, run_dir) -> "RunConfig":
        """The config that :meth:`to_json` wrote for ``run_dir`` (or an older config.json, migrated: see
        :data:`MIGRATIONS`).

        Raises:
            ValueError: a setting is missing or unknown (named).
        """
        data = dict(data)
        data.pop("backend", None)  # provenance, not a setting of the run
        version = data.pop("format", None) or 1
        if version not in range(1, FORMAT + 1):
            raise ValueError(f"config format {version} is not one this protloc reads (1 to {FORMAT})")
        data = migrated(data, version)
        fields = {field.name for field in dataclasses.fields(cls)}
        if set(data) != fields:
            raise ValueError(f"settings missing: {sorted(fields - set(data))}; unknown: {sorted(set(data) - fields)}")
        data["exclude_folds"] = tuple(data["exclude_folds"])
        if data["profile_db"]:
            data["profile_db"] = tuple(str((pathlib.Path(run_dir) / path).resolve()) for path in data["profile_db"])
        return cls(**data)


def migrated(saved: dict, version: int = 1) -> dict:
    """The settings of a config.json of format ``version`` with the :data:`MIGRATIONS` of later formats applied
    (nothing overwritten)."""
    saved = {**saved, "hparams": dict(saved.get("hparams", {}))}
    if "learning_rate" in saved["hparams"]:  # protloc 0.1 kept it among the hyper-parameters
        saved["learning_rate"] = saved["hparams"].pop("learning_rate")
    for key, value, _, added in MIGRATIONS:
        if added <= version:
            continue
        target, name = (saved["hparams"], key.split(".", 1)[1]) if key.startswith("hparams.") else (saved, key)
        target.setdefault(name, value)
    return saved


def read_config(run_dir) -> RunConfig:
    """The RunConfig saved in ``run_dir/config.json``.

    Raises:
        FileNotFoundError: no config.json (not a run directory).
        ValueError: a config.json that cannot be read, naming the file.
    """
    path = pathlib.Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir} is not a protloc run directory (no {CONFIG_FILE})")
    try:
        return RunConfig.from_json(json.loads(path.read_text()), run_dir)
    except (ValueError, TypeError, KeyError) as error:
        raise ValueError(f"{path}: not a readable run config ({error})") from None


def check_run_directory(run_dir: pathlib.Path) -> None:
    """Refuses an ``--out`` that is a file, or a non-empty directory without a run's config.json."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ValueError(f"--out {run_dir} is a file, not a run directory")
    if run_dir.is_dir() and not (run_dir / CONFIG_FILE).exists() and any(run_dir.iterdir()):
        raise ValueError(f"--out {run_dir} is a non-empty directory that is not a protloc run (no {CONFIG_FILE}); "
                         f"choose a new or empty directory")


def write_config(run_dir, config: RunConfig) -> None:
    """Writes ``run_dir/config.json`` atomically."""
    files.write_json(pathlib.Path(run_dir) / CONFIG_FILE, config.to_json(run_dir))
