"""Training with per-epoch checkpoints and resume, TensorBoard logs and seeds; writes a run directory.

A run directory holds:
    config.json            every setting of the run (model, hyper-parameters, epochs, fold, seed, data)
    checkpoints/           epoch-NNN.keras after every epoch (model + optimizer state; the last 3 kept)
    history.csv            one row per epoch (loss, accuracy, and val_* when a fold is held out)
    logs/                  TensorBoard (where TensorFlow is installed)
    model.keras            the model after the last epoch
Re-running on the same directory resumes after the last finished epoch; asking for more epochs extends it.
"""
from __future__ import annotations

import csv
import dataclasses
import importlib.util
import json
import pathlib
import re

import keras

from protloc import batching, files, models, multiloc

CHECKPOINTS_KEPT = 3
_CHECKPOINT = re.compile(r"epoch-(\d+)\.keras$")


@dataclasses.dataclass
class RunConfig:
    """Everything that defines a training run (saved as config.json).

    Attributes:
        model: zoo name ("rlstm", "alstm").
        hparams: overrides of ``models.PAPER_HPARAMS``; config.json records the resolved values.
        epochs: total epochs.
        batch_size: proteins per (length-bucketed) batch.
        seed: seeds weights, dropout and shuffling.
        fold: training fold (0-4) held out for validation; None trains on the whole training split.
        dataset: data source description (TFDS name).
    """

    model: str = "rlstm"
    hparams: dict = dataclasses.field(default_factory=dict)
    epochs: int = 100
    batch_size: int = batching.DEFAULT_BATCH_SIZE
    seed: int = 0
    fold: int | None = None
    dataset: str = "multiloc"

    def __post_init__(self):
        self.hparams = models.resolve_hparams(**self.hparams)
        if self.model not in models.MODEL_BUILDERS:
            raise ValueError(f"unknown model {self.model!r}; choose from {', '.join(models.MODEL_BUILDERS)}")
        if self.fold is not None and not 0 <= self.fold < 5:
            raise ValueError(f"fold must be 0-4, got {self.fold}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")

    def same_run_as(self, other: "RunConfig") -> bool:
        """True when only the number of epochs differs."""
        return {**dataclasses.asdict(self), "epochs": 0} == {**dataclasses.asdict(other), "epochs": 0}


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
    return RunConfig(**json.loads(path.read_text()))


def train(run_dir, config: RunConfig, train_data=None, validation_data=None, data_dir=None,
          verbose="auto", callbacks=()) -> keras.Model:
    """Trains (or resumes) the run in ``run_dir``.

    Args:
        run_dir: the run directory (created if needed).
        config: the run's settings; on resume they must equal the saved ones except for ``epochs``.
        train_data, validation_data: unbatched ``(tokens, label)`` tf.data datasets; default: the ``multiloc``
            training split, without / with only ``config.fold`` (:func:`protloc.multiloc.batches`: TFDS on
            the TensorFlow backend, the FASTA files of ``PROTLOC_DATA_DIR`` on others). The test split is never
            read here.
        data_dir: TFDS data directory for the default data (TensorFlow backend).
        verbose: Keras progress output.
        callbacks: further Keras callbacks for ``fit``, run after the checkpoint and history ones.

    Returns:
        the trained model (also saved as ``run_dir/model.keras``, which is left as it is, modification time
        included, when the run had no epoch left to train).
    """
    run_dir = pathlib.Path(run_dir)
    config_path = run_dir / "config.json"
    if config_path.exists() and not read_config(run_dir).same_run_as(config):
        raise ValueError(f"{run_dir} holds a different run (see its config.json); choose another --out")
    files.write_json(config_path, dataclasses.asdict(config))

    keras.utils.set_random_seed(config.seed)
    initial_epoch = finished_epochs(run_dir)
    if initial_epoch:
        model = keras.saving.load_model(checkpoints(run_dir / "checkpoints")[-1], safe_mode=True)
    else:
        model = models.build_model(config.model, **config.hparams)

    if train_data is None:
        folds = [f for f in range(5) if f != config.fold]
        train_batches = multiloc.batches("train", folds, config.batch_size, config.seed, data_dir)
        validation_batches = (multiloc.batches("train", [config.fold], config.batch_size, data_dir=data_dir)
                              if config.fold is not None else None)
    else:
        from protloc import data

        train_batches = data.batch(train_data, config.batch_size, shuffle_seed=config.seed)
        validation_batches = data.batch(validation_data, config.batch_size) if validation_data is not None else None

    if initial_epoch < config.epochs:
        callbacks = [EpochCheckpoint(run_dir / "checkpoints"),
                     keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True), *callbacks]
        if importlib.util.find_spec("tensorflow"):  # Keras writes TensorBoard logs through tf.summary
            callbacks.insert(2, keras.callbacks.TensorBoard(str(run_dir / "logs")))
        model.fit(train_batches, validation_data=validation_batches, epochs=config.epochs,
                  initial_epoch=initial_epoch, callbacks=callbacks, verbose=verbose, shuffle=False)
    if initial_epoch < config.epochs or not (run_dir / "model.keras").exists():
        files.save_model(model, run_dir / "model.keras")  # untouched when nothing was trained: its time says when
    return model


def read_history(run_dir) -> list[dict]:
    """Rows of ``history.csv`` (one per finished epoch); values are floats, or None where Keras wrote NA."""
    path = pathlib.Path(run_dir) / "history.csv"
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        return [{key: None if value == "NA" else float(value) for key, value in row.items()}
                for row in csv.DictReader(handle)]
