"""What a data set is (:class:`DatasetSpec`) and what it yields (:class:`Example`)."""
from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import numpy as np

SPLITS = ("train", "test")
TEST_FOLD = -1
"""Fold of every test-split example."""


class DataNotFoundError(FileNotFoundError):
    """A data set's files are not where they were looked for; the message says where to put them or which
    option / environment variable names them."""


@dataclasses.dataclass(frozen=True)
class Example:
    """One protein of a data set.

    Attributes:
        id: record identifier (accession).
        features: name -> array whose first axis is the residue axis; ``"tokens"`` int32 ``(length,)``.
        label: class index into the spec's ``class_names``.
        fold: cross-validation fold ``0 .. num_folds - 1`` for training examples, ``TEST_FOLD`` for test ones.
        sequence: the whole amino-acid sequence before truncation, where the reader has it (homology searches use
            it); "" otherwise.
    """

    id: str
    features: dict
    label: int
    fold: int
    sequence: str = ""


Reader = Callable[[str, object], Iterable[Example]]
"""``reader(split, directory)`` -> the examples of ``split`` ("train" or "test"); ``directory`` None means the
data set's default location."""


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A data set: its name, class names in label order, number of cross-validation folds and reader.

    Attributes:
        name: registry name, recorded in run directories.
        class_names: one name per class, in label order.
        num_folds: cross-validation folds of the training split.
        reader: see :data:`Reader`.
        description: one line for help texts.
    """

    name: str
    class_names: tuple
    num_folds: int
    reader: Reader
    description: str = ""

    def __post_init__(self):
        if len(self.class_names) < 2 or len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"data set {self.name!r}: class_names must hold at least two distinct names")
        if self.num_folds < 2:
            raise ValueError(f"data set {self.name!r}: num_folds must be at least 2, got {self.num_folds}")

    def check_fold(self, fold: int) -> int:
        """``fold`` if it is one of this data set's folds, else a ``ValueError`` naming the valid ones."""
        if not 0 <= int(fold) < self.num_folds:
            raise ValueError(f"fold must be 0-{self.num_folds - 1} for data set {self.name!r}, got {fold}")
        return int(fold)

    def folds_except(self, held_out: int | None) -> list[int] | None:
        """The training folds without ``held_out``; None (all of them) when nothing is held out."""
        if held_out is None:
            return None
        self.check_fold(held_out)
        return [fold for fold in range(self.num_folds) if fold != held_out]

    def examples(self, split: str, folds=None, directory=None) -> list[Example]:
        """The examples of ``split`` in the reader's order, only those of ``folds`` when given.

        Args:
            split: "train" or "test".
            folds: training folds to keep (None keeps all).
            directory: where the data set's files are (None: the reader's default).

        Raises:
            ValueError: unknown split or fold.
            DataNotFoundError: the files are not found.
        """
        if split not in SPLITS:
            raise ValueError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        wanted = None if folds is None else {self.check_fold(fold) for fold in folds}
        found = [example for example in self.reader(split, directory)
                 if wanted is None or example.fold in wanted]
        if not found:
            raise ValueError(f"data set {self.name!r} has no {split} examples"
                             + (f" in folds {sorted(wanted)}" if wanted is not None else ""))
        return found


def labels_of(examples: Iterable[Example]) -> np.ndarray:
    """int32 ``(n,)`` class indices of ``examples``, in order."""
    return np.array([example.label for example in examples], dtype=np.int32)
