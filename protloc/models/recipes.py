"""Training recipes: how a model is trained (epochs, learning rate and schedule, batch size, training length cap, and
the few architecture hyper-parameters a recipe sets, such as dropout). Plain data, importable without Keras (the
CLI's help reads it)."""
from __future__ import annotations

import dataclasses

DEFAULT_BATCH_SIZE = 32
"""Proteins per batch wherever no recipe or option says otherwise (evaluation, prediction, plots); a recipe names
its own."""
PAPER_LEARNING_RATE = 2e-4
"""Adam's learning rate in Sønderby et al. 2015."""
SCHEDULES = ("constant", "warmup_cosine")
"""``constant``: the learning rate throughout. ``warmup_cosine``: linear warm-up from 0 over the first epoch, then
cosine decay to 0 at the last epoch (so a run of this schedule cannot be extended to more epochs)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """How a model is trained.

    Attributes:
        epochs: epochs.
        learning_rate: Adam's learning rate (the peak, for a schedule that varies it).
        schedule: one of ``SCHEDULES``.
        batch_size: proteins per length-bucketed batch.
        train_max_length: residues kept per training protein, both termini (middle truncation, as
            :func:`protloc.data.sequences.truncate_middle`); prediction always sees up to 1,000.
        hparams: architecture hyper-parameters (names of :data:`protloc.models.hyperparameters.HYPERPARAMETERS`) the
            recipe sets in place of their defaults, e.g. ``dropout``; a run's own values override them.
    """

    epochs: int
    learning_rate: float
    schedule: str
    batch_size: int
    train_max_length: int
    hparams: dict = dataclasses.field(default_factory=dict)

    def describe(self) -> str:
        """One line of the recipe's settings, e.g. for ``--help`` and benchmark reports."""
        architecture = "".join(f", {name.replace('_', ' ')}" + ("" if isinstance(value, bool) else f" {value:g}")
                               for name, value in self.hparams.items() if value is not False)
        return (f"{self.epochs} epochs, lr {self.learning_rate:g} {self.schedule}, batch {self.batch_size}, "
                f"training proteins cut to {self.train_max_length}{architecture}")


RECIPES = {
    "paper": Recipe(epochs=100, learning_rate=PAPER_LEARNING_RATE, schedule="constant", batch_size=32,
                    train_max_length=1000),
    "fast": Recipe(epochs=30, learning_rate=3e-3, schedule="warmup_cosine", batch_size=32, train_max_length=400,
                   hparams={"dropout": 0.25}),
    "pooled": Recipe(epochs=30, learning_rate=3e-3, schedule="warmup_cosine", batch_size=32, train_max_length=1000,
                     hparams={"dropout": 0.25, "pool_size": 2}),
    "coarse": Recipe(epochs=30, learning_rate=3e-3, schedule="warmup_cosine", batch_size=32, train_max_length=1000,
                     hparams={"dropout": 0.25, "pool_size": 4, "global_max": True}),
}
"""Named recipes (``fast`` and ``pooled`` chosen among the trials of benchmarks/results/recipe-trials.md;
benchmarks/train_speed.py compares the default with the 50-epoch recipe of the shipped model):

* ``paper``: Sønderby et al.'s (100 epochs at a constant 2e-4, whole proteins, dropout 0.5).
* ``fast``: 30 epochs of a warm-up + cosine schedule from 3e-3, dropout 0.25, training proteins cut to 400 residues.
* ``pooled``: ``fast``'s schedule on whole proteins, with the R-LSTM's conv features max-pooled over 2 residues before
  the LSTMs (``pool_size``; other families train without pooling), which halves the LSTMs' steps.
* ``coarse`` (the default): ``pooled`` with pooling over 4 residues (a quarter of the LSTMs' steps), and each conv
  filter's maximum over the whole protein given to the R-LSTM's classifier beside the LSTMs' states (``global_max``).
"""
DEFAULT_RECIPE = "coarse"
LEARNING_RATE_SEARCH = ("choice", (2e-4, 5e-4, 1e-3, 2e-3, 3e-3, 5e-3))
"""The tuner's space for the learning rate (same form as ``models.HyperParameter.search``)."""
