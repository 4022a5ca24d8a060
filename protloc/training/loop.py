"""Training with per-epoch checkpoints and resume, TensorBoard logs and seeds; writes a run directory, which is a
preset (:mod:`protloc.prediction.preset`) once training has finished.

A run directory holds:
    config.json            every setting of the run, resolved (:mod:`protloc.models.run_config`)
    checkpoints/           epoch-NNN.keras after every epoch (model + optimizer state; the last 3 kept)
    history.csv            one row per epoch (loss, accuracy, val_* when a fold is held out, epoch_seconds)
    logs/                  TensorBoard (where TensorFlow is installed)
    model.keras            the model after the last epoch
    reference.fasta.gz     the data set's training split, labelled: the run's homology reference
    fusion.json            the fusion rule fitted on the held-out fold (runs that hold one out)
    preset.json            the card (:mod:`protloc.training.fitting`)
Re-running on the same directory resumes after the last finished epoch; asking for more epochs extends it.

:func:`train` goes config -> data -> model -> callbacks -> fit -> evidence, one function a step.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import importlib.util
import math
import pathlib
import re
import tempfile
import time

import keras

from protloc.data import datasets, pipeline, sequences
from protloc.data.features import PROTEIN_INPUTS, TOKENS
from protloc.evidence import network_inputs
from protloc.models import losses, zoo
from protloc.models.recipes import PAPER_LEARNING_RATE, SCHEDULES
from protloc.models.run_config import CONFIG_FILE, RunConfig, check_run_directory, read_config, write_config
from protloc.prediction import preset
from protloc.training import fitting
from protloc.utils import files, runtime

CHECKPOINTS_KEPT = 3
_CHECKPOINT = re.compile(r"epoch-(\d+)\.keras$")

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


def compile_model(model: keras.Model, learning_rate=PAPER_LEARNING_RATE, loss: str = "crossentropy",
                  positive_weights=None, location_metrics=()) -> keras.Model:
    """Compiles a zoo model for training with Adam(``learning_rate``, a float or a schedule): a single-label model
    with sparse categorical cross-entropy and accuracy; a multi-label one with binary cross-entropy (``loss
    "focal"``: binary focal cross-entropy, gamma 2; ``"weighted"``: each location's positives weighted by
    ``positive_weights``, one per location) on its locations, scored by micro-averaged AUC, binary
    cross-entropy on its membrane output, scored by accuracy, and on a sorting-signal head cross-entropy over the
    residues and binary cross-entropy over the types of the proteins that have signal labels. ``location_metrics``: further Keras metrics of a
    multi-label model's locations (a search's objective)."""
    optimizer = keras.optimizers.Adam(learning_rate)
    if zoo.label_scheme_of(model) == datasets.SINGLE_LABEL:
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    if loss == "weighted":
        if positive_weights is None:
            raise ValueError("the weighted loss needs one positive weight per location")
        locations = losses.WeightedBinaryCrossentropy(positive_weights)
    else:
        locations = (keras.losses.BinaryFocalCrossentropy(gamma=2.0) if loss == "focal"
                     else keras.losses.BinaryCrossentropy())
    loss_of = {zoo.LOCATIONS_OUTPUT: locations}
    metrics = {zoo.LOCATIONS_OUTPUT: [keras.metrics.AUC(name="auc"), *location_metrics]}
    if zoo.MEMBRANE_OUTPUT in model.output:
        loss_of[zoo.MEMBRANE_OUTPUT] = keras.losses.BinaryCrossentropy()
        metrics[zoo.MEMBRANE_OUTPUT] = [keras.metrics.BinaryAccuracy(name="accuracy")]
    if zoo.SIGNAL_RESIDUES_OUTPUT in model.output:  # residues and proteins without signal labels are -1: left out
        loss_of[zoo.SIGNAL_RESIDUES_OUTPUT] = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
        loss_of[zoo.SIGNAL_TYPES_OUTPUT] = losses.MaskedBinaryCrossentropy()
    model.compile(optimizer=optimizer, loss=loss_of, metrics=metrics)
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


class NonFiniteLossError(ValueError):
    """Training diverged: the loss is NaN or infinite."""


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stops training with :class:`NonFiniteLossError` at the end of an epoch whose loss is NaN or infinite, before
    that epoch is checkpointed (it runs first among the callbacks), so that the run directory keeps its last good
    checkpoint and no model file is written from diverged weights."""

    def __init__(self, run_dir: pathlib.Path):
        super().__init__()
        self.run_dir = run_dir

    def on_epoch_end(self, epoch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            kept = finished_epochs(self.run_dir)
            raise NonFiniteLossError(
                f"training diverged: the loss is {loss} in epoch {epoch + 1} (learning rate too high?); "
                + (f"{self.run_dir} keeps the checkpoint of epoch {kept}" if kept else "nothing was saved")
                + "; train again with other settings into a new --out")


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


def train(run_dir, config: RunConfig, data_dir=None, verbose="auto", callbacks=(),
          processes: runtime.Processes | None = None, strategy=None, command: str | None = None) -> keras.Model:
    """Trains (or resumes) the run in ``run_dir``.

    Args:
        run_dir: the run directory (created if needed).
        config: the run's settings; on resume they must equal the saved ones except for ``epochs``.
        data_dir: where the data set's files are (None: its default, e.g. ``PROTLOC_DATA_DIR``). Only the
            training split is read: ``config.training_folds()`` for training, ``config.fold`` for validation (never an
            excluded fold).
        verbose: Keras progress output.
        callbacks: further Keras callbacks for ``fit``, run after the checkpoint and history ones.
        processes: this process's place in a multi-process training that :func:`protloc.utils.runtime.join_processes`
            has joined: each process trains on its part of every batch (``config.batch_size`` is the whole
            batch), process 0 alone writes the run directory, and no validation runs during training (score the
            held-out fold afterwards with ``protloc evaluate RUN --split validation``).
        strategy: on TensorFlow, a ``tf.distribute`` strategy to train under (e.g. from
            :func:`protloc.utils.runtime.tensorflow_strategy`: ``MirroredStrategy`` over several local GPUs); each batch
            is split between its replicas.
        command: how the run was started, for its card.

    A finished run's directory is a preset: its reference, the fusion rule fitted on its held-out fold and its card
    are written (:func:`protloc.training.fitting.write_run_evidence`; after a multi-process training, the card alone).

    Returns:
        the trained model (also saved as ``run_dir/model.keras``, which is left as it is, modification time
        included, when the run had no epoch left to train).

    Raises:
        ValueError: ``run_dir`` is a file, or a non-empty directory that is not a run of this configuration, or a
            run with finished epochs but no checkpoint (it would be trained again from scratch over them), or Keras
            runs on its numpy backend.
    """
    if keras.backend.backend() == "numpy":
        raise ValueError("Keras's numpy backend only predicts: train on tensorflow or jax (KERAS_BACKEND)")
    run_dir = pathlib.Path(run_dir)
    writes = processes is None or processes.writes
    check_run_directory(run_dir)
    _write_config(run_dir, config, writes)
    keras.utils.set_random_seed(config.seed)
    initial_epoch = finished_epochs(run_dir)
    recorded = 0 if initial_epoch else len(read_history(run_dir))  # checkpoints are saved before history rows
    if recorded:
        raise ValueError(f"{run_dir}: its history.csv records {recorded} finished epochs but it has no checkpoint to "
                         "resume from (a run kept without them?): train into a new --out")
    train_batches, validation_batches, weights = _data(config, data_dir, initial_epoch, processes)
    model = _model(run_dir, config, initial_epoch, len(train_batches), strategy, weights)
    with contextlib.ExitStack() as stack:
        # The other processes of a multi-process training save too (reading the weights is a collective step that
        # every process must take), into a scratch directory dropped at the end.
        out = run_dir if writes else pathlib.Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if initial_epoch < config.epochs:
            model.fit(train_batches, validation_data=validation_batches, epochs=config.epochs,
                      initial_epoch=initial_epoch, callbacks=_callbacks(out, callbacks),
                      verbose=verbose if writes else 0, shuffle=False)
        trained = initial_epoch < config.epochs
        if trained or not (run_dir / "model.keras").exists():
            files.save_model(model, out / "model.keras")  # untouched when nothing was trained: its time says when
    if processes is None and (trained or not (run_dir / preset.CARD).exists()):
        saved = zoo.load_model(run_dir / "model.keras")  # as a user loads it: outside any distribution strategy
        fitting.write_run_evidence(run_dir, config, saved, data_dir, command)
    elif processes is not None and writes:  # predicting the held-out fold would need every process: card only
        fitting.write_run_card(run_dir, config, model, command)
    return model


def _write_config(run_dir: pathlib.Path, config: RunConfig, writes: bool = True) -> None:
    """Step 1: the run's config.json (a resumed run must be the same run); only checked when this process does not
    write the run directory."""
    if (run_dir / CONFIG_FILE).exists() and not read_config(run_dir).same_run_as(config):
        raise ValueError(f"{run_dir} holds a different run (see its {CONFIG_FILE}); choose another --out")
    if writes:
        write_config(run_dir, config)


def _data(config: RunConfig, data_dir, initial_epoch: int, processes: runtime.Processes | None = None):
    """Step 2: training batches (proteins cut to ``train_max_length``, shuffled, at the plan of
    ``initial_epoch``; this process's part of each, in a multi-process training), validation batches of whole
    proteins (or None: no fold held out, or several processes) and, for the ``weighted`` loss, the locations'
    positive weights over the training proteins (else None)."""
    spec = config.spec
    examples = network_inputs.with_run_inputs(config, spec.examples("train", config.training_folds(), data_dir))
    signals = bool(config.hparams["signals"])
    if signals and not any(example.signals is not None for example in examples):
        raise ValueError(f"the sorting-signal head (--signals) needs signal labels, and no training protein of "
                         f"{spec.name} has any (deeploc2: set PROTLOC_DEEPLOC2_SIGNALS_DIR to the directory of "
                         f"signals.csv.gz)")
    train_examples = [truncated(example, config.train_max_length) for example in examples]
    shard = (processes.index, processes.count) if processes else (0, 1)
    classes = len(spec.class_names) if spec.label_scheme == datasets.MULTI_LABEL else None
    train_batches = pipeline.batches(train_examples, config.batch_size, config.seed, epoch=initial_epoch, shard=shard,
                                     num_classes=classes, signals=signals)
    weights = (losses.positive_weights(datasets.labels_of(examples, classes)) if config.loss == "weighted"
               else None)
    if config.fold is None or processes is not None:
        return train_batches, None, weights
    validation = network_inputs.with_run_inputs(config, spec.examples("train", [config.fold], data_dir))
    return train_batches, pipeline.batches(validation, config.batch_size, num_classes=classes, signals=signals), weights


def _model(run_dir: pathlib.Path, config: RunConfig, initial_epoch: int, steps_per_epoch: int,
           strategy=None, positive_weights=None) -> keras.Model:
    """Step 3: the compiled model, from the newest checkpoint when resuming (its optimizer state and learning
    rate schedule included), created under ``strategy``'s scope where one is given (TensorFlow's
    ``tf.distribute`` strategies; the JAX backend distributes through :func:`protloc.utils.runtime.join_processes`).
    """
    with strategy.scope() if strategy is not None else contextlib.nullcontext():
        if initial_epoch:
            return keras.saving.load_model(checkpoints(run_dir / "checkpoints")[-1], safe_mode=True)
        return build_compiled(config, steps_per_epoch, positive_weights)


def build_compiled(config: RunConfig, steps_per_epoch: int, positive_weights=None) -> keras.Model:
    """A new model of ``config`` (family, hyper-parameters, the data set's classes and heads), compiled with its
    recipe's learning-rate schedule over ``config.epochs`` epochs of ``steps_per_epoch`` batches and its loss
    (``positive_weights``: one per location, for the weighted loss)."""
    spec = config.spec
    model = zoo.build_model(config.model, spec.class_names, spec.label_scheme, spec.membrane, **config.hparams)
    return compile_model(model, learning_rate_schedule(config.learning_rate, config.schedule, config.epochs,
                                                       steps_per_epoch), config.loss, positive_weights)


def truncated(example: datasets.Example, max_length: int) -> datasets.Example:
    """``example`` with every per-residue feature (and per-residue signal label) cut to ``max_length`` residues,
    both termini kept."""
    if len(example.features[TOKENS]) <= max_length:
        return example
    features = {name: value if name in PROTEIN_INPUTS else sequences.truncate_middle(value, max_length)
                for name, value in example.features.items()}
    signals = example.signals.truncated(max_length) if example.signals is not None else None
    return dataclasses.replace(example, features=features, signals=signals)


def _callbacks(run_dir: pathlib.Path, extra) -> list:
    """Step 4: the stop on a non-finite loss, epoch timer, checkpoint every epoch, history, TensorBoard (where
    TensorFlow is installed), then ``extra``."""
    history = run_dir / "history.csv"
    callbacks = [StopOnNonFiniteLoss(run_dir), EpochTimer(history), EpochCheckpoint(run_dir / "checkpoints"),
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
