"""What a data set is (:class:`DatasetSpec`) and what it yields (:class:`Example`)."""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
from typing import Callable, Iterable

import numpy as np

from protloc.data.sequences import GZIP_MAGIC

SPLITS = ("train", "test")
SINGLE_LABEL, MULTI_LABEL = "single", "multi"
"""Label schemes: one class per protein (an int label), or one or more (a tuple of class indices)."""
LABEL_SCHEMES = (SINGLE_LABEL, MULTI_LABEL)
TEST_FOLD = -1
"""Fold of every test-split example."""


def check_class_names(names, what: str = "class_names") -> list[str]:
    """``names`` as a list of str if they can name classes everywhere protloc writes them (tables, reference
    headers, ``|``-joined label lists): at least two, distinct, each non-empty and printable without whitespace or
    ``|``; else a ``ValueError`` naming the first bad one."""
    if isinstance(names, (str, bytes)) or not hasattr(names, "__iter__"):
        raise ValueError(f"{what} must be a list of names, got {names!r}")
    if not all(isinstance(name, str) for name in names):
        raise ValueError(f"{what} must be a list of names (strings), got {list(names)!r}")
    names = [str(name) for name in names]
    if len(names) < 2 or len(set(names)) != len(names):
        raise ValueError(f"{what} must hold at least two distinct names, got {names}")
    for name in names:
        if not name or not name.isprintable() or any(c.isspace() or c == "|" for c in name):
            raise ValueError(f"{what}: {name!r} cannot name a class (names must be non-empty, printable, without "
                             f"whitespace, control characters or '|')")
    return names


def pinned_content(path, expected: str, what: str, error=ValueError) -> bytes:
    """The content of the file at ``path`` (``pathlib.Path``), gunzipped when it is gzipped, if its SHA-256 is
    ``expected``; else ``error`` naming the file: unreadable, or ``not the pinned {what}``."""
    try:
        data = path.read_bytes()
        if data[:2] == GZIP_MAGIC:
            data = gzip.decompress(data)
    except (OSError, EOFError) as problem:
        raise error(f"{path}: not readable ({problem})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise error(f"{path} has SHA-256 {digest} (uncompressed), expected {expected}: not the pinned {what}")
    return data


class DataNotFoundError(FileNotFoundError):
    """A data set's files are not where they were looked for; the message says where to put them or which
    option / environment variable names them."""


@dataclasses.dataclass(frozen=True)
class Example:
    """One protein of a data set.

    Attributes:
        id: record identifier (accession).
        features: name -> array whose first axis is the residue axis; ``"tokens"`` int32 ``(length,)``.
        label: class index into the spec's ``class_names`` (single-label), a tuple of them (multi-label), or None
            (a protein to predict).
        fold: cross-validation fold ``0 .. num_folds - 1`` for training examples, ``TEST_FOLD`` for test ones.
        sequence: the whole amino-acid sequence before truncation, where the reader has it (homology searches use
            it); "" otherwise.
        membrane: 1.0 for a membrane-associated protein, 0.0 for another, None where the data set does not say.
        kingdom: the organism group where the data set gives it (e.g. ``Metazoa``), else "".
        signals: the protein's sorting signals where the data set has them
            (:class:`protloc.data.datasets.deeploc2_signals.SignalLabels`: types, and per-residue codes where known),
            else None.
    """

    id: str
    features: dict
    label: object
    fold: int
    sequence: str = ""
    membrane: float | None = None
    kingdom: str = ""
    signals: object = None


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
        label_scheme: ``single`` (an int label per example) or ``multi`` (a tuple of class indices).
        splits: the splits the data set has (a data set evaluated by cross-validation alone has only ``train``).
        membrane: whether its examples say if a protein is membrane-associated (multi-label models then get a
            membrane output).
        terms: where the data come from and on what terms, in a line (written into the card of every model trained
            on it).
    """

    name: str
    class_names: tuple
    num_folds: int
    reader: Reader
    description: str = ""
    label_scheme: str = SINGLE_LABEL
    splits: tuple = SPLITS
    membrane: bool = False
    terms: str = ""

    def __post_init__(self):
        check_class_names(self.class_names, f"data set {self.name!r}: class_names")
        if self.label_scheme not in LABEL_SCHEMES:
            raise ValueError(f"data set {self.name!r}: label_scheme must be one of {', '.join(LABEL_SCHEMES)}")
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
        if split not in self.splits:
            if split in SPLITS:
                raise ValueError(f"data set {self.name!r} has no {split} split (its protocol: cross-validation over "
                                 f"its {self.num_folds} folds; hold one out with --fold)")
            raise ValueError(f"split must be one of {', '.join(self.splits)}, got {split!r}")
        wanted = None if folds is None else {self.check_fold(fold) for fold in folds}
        found = [example for example in self.reader(split, directory)
                 if wanted is None or example.fold in wanted]
        if not found:
            raise ValueError(f"data set {self.name!r} has no {split} examples"
                             + (f" in folds {sorted(wanted)}" if wanted is not None else ""))
        return found


def labels_of(examples: Iterable[Example], num_classes: int | None = None) -> np.ndarray:
    """int32 ``(n,)`` class indices of single-label ``examples``, or with ``num_classes`` int8 ``(n, num_classes)``
    multi-hot rows of multi-label ones, in order."""
    examples = list(examples)
    if num_classes is None:
        return np.array([example.label for example in examples], dtype=np.int32)
    multi_hot = np.zeros((len(examples), num_classes), dtype=np.int8)
    for row, example in enumerate(examples):
        multi_hot[row, list(example.label)] = 1
    return multi_hot
