"""Training with per-epoch checkpoints and resume, TensorBoard logs and seeds; writes a run directory.

A run directory holds:
    config.json            every setting of the run (data set, model, hyper-parameters, recipe, fold, seed) and
                           the Keras backend that trained it
    checkpoints/           epoch-NNN.keras after every epoch (model + optimizer state; the last 3 kept)
    history.csv            one row per epoch (loss, accuracy, val_* when a fold is held out, epoch_seconds)
    logs/                  TensorBoard (where TensorFlow is installed)
    model.keras            the model after the last epoch
Re-running on the same directory resumes after the last finished epoch; asking for more epochs extends it.

:func:`train` goes config -> data -> model -> callbacks -> fit, one function a step.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.util
import json
import pathlib
import re
import sys
import tempfile
import time

import keras

from protloc import datasets, files, models, pipeline, profiles, runtime, sequences
from protloc.hyperparameters import HYPERPARAMETERS, PAPER_HPARAMS
from protloc.recipes import DEFAULT_RECIPE, PAPER_LEARNING_RATE, RECIPES, SCHEDULES

CHECKPOINTS_KEPT = 3
_CHECKPOINT = re.compile(r"epoch-(\d+)\.keras$")

@dataclasses.dataclass
class RunConfig:
    """Everything that defines a training run (saved as config.json).

    The recipe's settings (``epochs``, ``learning_rate``, ``schedule``, ``batch_size``, ``train_max_length``, and
    the architecture hyper-parameters it sets that the model family uses, such as ``dropout``) default to those of
    the recipe named by ``recipe``; any given explicitly (in ``hparams`` for the architecture's) overrides it, and
    config.json records the resolved values beside the recipe's name.

    Attributes:
        model: zoo family (a key of ``models.FAMILIES``).
        hparams: architecture overrides of ``models.HYPERPARAMETERS``; config.json records the resolved values.
        recipe: a key of ``RECIPES``.
        epochs, learning_rate, schedule, batch_size, train_max_length: see :class:`Recipe`.
        seed: seeds weights, dropout and shuffling.
        fold: training fold held out for validation; None trains on the whole training split.
        dataset: registered data set name (:func:`protloc.datasets.get`).
        profile_db: the database(s) sequence profiles are computed from (:class:`protloc.profiles.ProfileDatabase`
            paths, recorded absolute); giving one makes the model a profile model (``hparams["profile"]``), and a
            profile model needs one.
    """

    model: str = "rlstm"
    hparams: dict = dataclasses.field(default_factory=dict)
    recipe: str = DEFAULT_RECIPE
    epochs: int | None = None
    learning_rate: float | None = None
    schedule: str | None = None
    batch_size: int | None = None
    train_max_length: int | None = None
    seed: int = 0
    fold: int | None = None
    dataset: str = datasets.DEFAULT
    profile_db: list | None = None

    def __post_init__(self):
        if self.recipe not in RECIPES:
            raise ValueError(f"unknown recipe {self.recipe!r}; choose from {', '.join(RECIPES)}")
        hparams = dict(self.hparams)
        if "learning_rate" in hparams:  # written inside hparams by protloc 0.1's run directories and tuner
            self.learning_rate = hparams.pop("learning_rate")
        recipe = dataclasses.asdict(RECIPES[self.recipe])
        for name, value in recipe.pop("hparams").items():
            if hparams.get(name) is None and HYPERPARAMETERS[name].used_by(self.model):
                hparams[name] = value
        for name, value in recipe.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        if self.profile_db:
            self.profile_db = [str(pathlib.Path(path).resolve()) for path in self.profile_db]
            hparams["profile"] = True
        self.hparams = models.resolve_hparams(**hparams)
        if self.hparams["profile"] and not self.profile_db:
            raise ValueError("a profile model (hparams profile=True) needs the database its profiles come from: "
                             "give --profile-db")
        models.check_family(self.model)
        spec = self.spec  # an unknown data set fails here
        if self.fold is not None:
            spec.check_fold(self.fold)
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

    @property
    def spec(self) -> datasets.DatasetSpec:
        """The data set the run trains on."""
        return datasets.get(self.dataset)

    def same_run_as(self, other: "RunConfig") -> bool:
        """True when only the number of epochs differs, and the schedule allows that (a constant one)."""
        ignored = {"epochs": 0} if self.schedule == "constant" else {}
        return {**dataclasses.asdict(self), **ignored} == {**dataclasses.asdict(other), **ignored}


def learning_rate_schedule(learning_rate: float, schedule: str = "constant", epochs: int = 1,
                           steps_per_epoch: int = 1):
    """Adam's learning rate: a float for ``constant``, else a ``keras.optimizers.schedules`` object over
    ``epochs * steps_per_epoch`` optimizer steps (see ``SCHEDULES``)."""
    if schedule == "constant":
        return learning_rate
    if schedule == "warmup_cosine":
        return keras.optimizers.schedules.CosineDecay(
            0.0, decay_steps=max(1, (epochs - 1) * steps_per_epoch), warmup_target=learning_rate,
            warmup_steps=steps_per_epoch)
    raise ValueError(f"unknown schedule {schedule!r}; choose from {', '.join(SCHEDULES)}")


def compile_model(model: keras.Model, learning_rate=PAPER_LEARNING_RATE) -> keras.Model:
    """Compiles a zoo model for training: Adam(``learning_rate``, a float or a schedule), sparse categorical
    cross-entropy, accuracy."""
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


class EpochTimer(keras.callbacks.Callback):
    """Adds each epoch's wall time in seconds (training and validation) to its logs as ``epoch_seconds``, so that
    history.csv records it. Leaves the logs alone when an existing history.csv has no such column (a run started
    by an older protloc), so its rows keep their columns."""

    def __init__(self, history: pathlib.Path):
        super().__init__()
        self.enabled = not history.exists() or "epoch_seconds" in history.read_text().partition("\n")[0]
        self.start = None

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if self.enabled and logs is not None:
            logs["epoch_seconds"] = time.perf_counter() - self.start


class EpochCheckpoint(keras.callbacks.Callback):
    """Saves the whole model (with optimizer state) atomically after every epoch; keeps the last few."""

    def __init__(self, directory: pathlib.Path, keep: int = CHECKPOINTS_KEPT):
        super().__init__()
        self.directory, self.keep = pathlib.Path(directory), keep

    def on_epoch_end(self, epoch, logs=None):
        files.save_model(self.model, self.directory / f"epoch-{epoch + 1:03d}.keras")
        for old in checkpoints(self.directory)[:-self.keep]:
            old.unlink()


def checkpoints(directory) -> list[pathlib.Path]:
    """Checkpoint files in ``directory``, oldest epoch first."""
    directory = pathlib.Path(directory)
    found = [p for p in directory.glob("epoch-*.keras") if _CHECKPOINT.search(p.name)] if directory.exists() else []
    return sorted(found, key=lambda p: int(_CHECKPOINT.search(p.name).group(1)))


def finished_epochs(run_dir) -> int:
    """Epochs of the run in ``run_dir`` saved so far (its newest checkpoint's number; 0 for none)."""
    saved = checkpoints(pathlib.Path(run_dir) / "checkpoints")
    return int(_CHECKPOINT.search(saved[-1].name).group(1)) if saved else 0


def read_config(run_dir) -> RunConfig:
    """The RunConfig saved in ``run_dir/config.json``."""
    path = pathlib.Path(run_dir) / "config.json"
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a protloc run directory (no config.json)")
    saved = json.loads(path.read_text())
    saved.pop("backend", None)  # provenance, not a setting of the run
    if "recipe" not in saved:  # protloc 0.1: a constant learning rate on whole proteins, named by no recipe
        saved.update(recipe="paper", schedule="constant", train_max_length=1000)
    # config.json records every hyper-parameter of its protloc version; one added since had its default then
    saved["hparams"] = {**PAPER_HPARAMS, **saved.get("hparams", {})}
    return RunConfig(**saved)


def train(run_dir, config: RunConfig, data_dir=None, verbose="auto", callbacks=(),
          processes: runtime.Processes | None = None, strategy=None) -> keras.Model:
    """Trains (or resumes) the run in ``run_dir``.

    Args:
        run_dir: the run directory (created if needed).
        config: the run's settings; on resume they must equal the saved ones except for ``epochs``.
        data_dir: where the data set's files are (None: its default, e.g. ``PROTLOC_DATA_DIR``). Only the
            training split is read: without ``config.fold`` for training, ``config.fold`` for validation.
        verbose: Keras progress output.
        callbacks: further Keras callbacks for ``fit``, run after the checkpoint and history ones.
        processes: this process's place in a multi-process training that :func:`protloc.runtime.join_processes`
            has joined: each process trains on its part of every batch (``config.batch_size`` is the whole
            batch), process 0 alone writes the run directory, and no validation runs during training (score the
            held-out fold afterwards with ``protloc evaluate RUN --split validation``).
        strategy: on TensorFlow, a ``tf.distribute`` strategy to train under (e.g. from
            :func:`protloc.runtime.tensorflow_strategy`: ``MirroredStrategy`` over several local GPUs); each batch
            is split between its replicas.

    Returns:
        the trained model (also saved as ``run_dir/model.keras``, which is left as it is, modification time
        included, when the run had no epoch left to train).
    """
    run_dir = pathlib.Path(run_dir)
    writes = processes is None or processes.writes
    _write_config(run_dir, config, writes)
    keras.utils.set_random_seed(config.seed)
    initial_epoch = finished_epochs(run_dir)
    train_batches, validation_batches = _data(config, data_dir, initial_epoch, processes)
    model = _model(run_dir, config, initial_epoch, len(train_batches), strategy)
    with contextlib.ExitStack() as stack:
        # The other processes of a multi-process training save too (reading the weights is a collective step that
        # every process must take), into a scratch directory dropped at the end.
        out = run_dir if writes else pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if initial_epoch < config.epochs:
            model.fit(train_batches, validation_data=validation_batches, epochs=config.epochs,
                      initial_epoch=initial_epoch, callbacks=_callbacks(out, callbacks),
                      verbose=verbose if writes else 0, shuffle=False)
        if initial_epoch < config.epochs or not (run_dir / "model.keras").exists():
            files.save_model(model, out / "model.keras")  # untouched when nothing was trained: its time says when
    return model


def _write_config(run_dir: pathlib.Path, config: RunConfig, writes: bool = True) -> None:
    """Step 1: the run's config.json (a resumed run must be the same run), with the Keras backend that trains it
    (of the latest session, for a run resumed on another backend); only checked when this process does not
    write the run directory."""
    if (run_dir / "config.json").exists() and not read_config(run_dir).same_run_as(config):
        raise ValueError(f"{run_dir} holds a different run (see its config.json); choose another --out")
    if writes:
        files.write_json(run_dir / "config.json", {**dataclasses.asdict(config), "backend": keras.backend.backend()})


def _data(config: RunConfig, data_dir, initial_epoch: int, processes: runtime.Processes | None = None):
    """Step 2: training batches (proteins cut to ``train_max_length``, shuffled, at the plan of
    ``initial_epoch``; this process's part of each, in a multi-process training) and validation batches of whole
    proteins (or None: no fold held out, or several processes)."""
    spec = config.spec
    examples = with_run_features(config, spec.examples("train", spec.folds_except(config.fold), data_dir))
    train_examples = [truncated(example, config.train_max_length) for example in examples]
    shard = (processes.index, processes.count) if processes else (0, 1)
    train_batches = pipeline.batches(train_examples, config.batch_size, config.seed, epoch=initial_epoch, shard=shard)
    if config.fold is None or processes is not None:
        return train_batches, None
    validation = with_run_features(config, spec.examples("train", [config.fold], data_dir))
    return train_batches, pipeline.batches(validation, config.batch_size)


def with_run_features(config: RunConfig, examples: list) -> list:
    """``examples`` with the per-residue features the run's model takes beyond its tokens (profiles from the run's
    database, computed or read from the cache), as training and evaluation of the run need them."""
    if not config.profile_db:
        return examples
    search = profiles.ProfileSearch(profiles.ProfileDatabase(config.profile_db))
    found = profiles.with_profiles(examples, search)
    print(f"profiles of {len(examples)} proteins: {len(examples) - search.searched} from the cache, "
          f"{search.searched} computed", file=sys.stderr)
    return found


def _model(run_dir: pathlib.Path, config: RunConfig, initial_epoch: int, steps_per_epoch: int,
           strategy=None) -> keras.Model:
    """Step 3: the compiled model, from the newest checkpoint when resuming (its optimizer state and learning
    rate schedule included), created under ``strategy``'s scope where one is given (TensorFlow's
    ``tf.distribute`` strategies; the JAX backend distributes through :func:`protloc.runtime.join_processes`).
    """
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        if initial_epoch:
            return keras.saving.load_model(checkpoints(run_dir / "checkpoints")[-1], safe_mode=True)
        model = models.build_model(config.model, config.spec.class_names, **config.hparams)
        return compile_model(model, learning_rate_schedule(config.learning_rate, config.schedule, config.epochs,
                                                           steps_per_epoch))


def truncated(example: datasets.Example, max_length: int) -> datasets.Example:
    """``example`` with every per-residue feature cut to ``max_length`` residues, both termini kept."""
    if len(example.features[models.TOKENS]) <= max_length:
        return example
    features = {name: sequences.truncate_middle(value, max_length) for name, value in example.features.items()}
    return dataclasses.replace(example, features=features)


def _callbacks(run_dir: pathlib.Path, extra) -> list:
    """Step 4: epoch timer, checkpoint every epoch, history, TensorBoard (where TensorFlow is installed), then
    ``extra``."""
    history = run_dir / "history.csv"
    callbacks = [EpochTimer(history), EpochCheckpoint(run_dir / "checkpoints"),
                 keras.callbacks.CSVLogger(str(history), append=True)]
    if importlib.util.find_spec("tensorflow"):  # Keras writes TensorBoard logs through tf.summary
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "logs")))
    return [*callbacks, *extra]


def read_history(run_dir) -> list[dict]:
    """Rows of ``history.csv`` (one per finished epoch); values are floats, or None where Keras wrote NA."""
    path = pathlib.Path(run_dir) / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{key: None if value == "NA" else float(value) for key, value in row.items()}
                for row in csv.DictReader(handle)]
