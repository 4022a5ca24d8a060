"""Small synthetic data for fast tests, and the benchmark scripts as modules."""
import importlib
import pathlib
import sys

import numpy as np
import pytest

from protloc.data import datasets, sequences
from protloc.data.features import KINGDOMS

REPO = pathlib.Path(__file__).resolve().parents[1]

MOTIF = np.array([19, 19, 9, 9])  # W W K K
SMALL = dict(lstm_units=4, dense_units=4, conv_filters=[2, 2, 2, 0, 0, 0])
"""Hyper-parameters of a zoo model small enough to train in a test."""


def motif_task(n_per_class=200, seed=0, min_length=25, max_length=60):
    """Random proteins of 3 classes: motif near the N-terminus (0), near the C-terminus (1), none (2).

    Returns (list of int32 token arrays, int labels array).
    """
    rng = np.random.default_rng(seed)
    token_lists, labels = [], []
    for label in range(3):
        for _ in range(n_per_class):
            tokens = rng.integers(1, 21, size=rng.integers(min_length, max_length + 1)).astype(np.int32)
            tokens[tokens == 19] = 1  # W only inside motifs
            offset = rng.integers(0, 4)
            if label == 0:
                tokens[offset:offset + 4] = MOTIF
            elif label == 1:
                tokens[len(tokens) - 4 - offset:len(tokens) - offset] = MOTIF
            token_lists.append(tokens)
            labels.append(label)
    return token_lists, np.array(labels)


TOY_CLASSES = ("n_motif", "c_motif", "none")


def toy_spec(name: str, n_per_class: int = 30, num_folds: int = 3, extra_width: int = 0) -> datasets.DatasetSpec:
    """A synthetic data set defined here only: the motif task's 3 classes, ``num_folds`` folds, a fifth of the
    proteins as test split; each example carries its sequence (letters of its tokens). With ``extra_width``, every
    example also has a float feature ``"extra"`` ``(length, extra_width)`` that marks the motif's residues in its
    first column (the rest is noise).

    ``name`` is how :func:`protloc.data.datasets.get` finds the spec again: ``"MODULE:ATTRIBUTE"`` of the variable the
    caller stores it in (e.g. ``toy_spec(f"{__name__}:SPEC")`` at a test module's top level)."""
    def read(split, directory=None):
        tokens, labels = motif_task(n_per_class=n_per_class, seed=0 if split == "train" else 1)
        rng = np.random.default_rng(2)
        for index, (protein, label) in enumerate(zip(tokens, labels)):
            features = {"tokens": protein}
            if extra_width:
                extra = rng.normal(size=(len(protein), extra_width)).astype(np.float32)
                extra[:, 0] = protein == MOTIF[0]
                features["extra"] = extra
            yield datasets.Example(f"{split}{index}", features, int(label),
                                   index % num_folds if split == "train" else datasets.TEST_FOLD, letters(protein))

    return datasets.DatasetSpec(name, TOY_CLASSES, num_folds, read, "synthetic motif task")


def letters(tokens) -> str:
    """The one-letter sequence of standard-residue tokens."""
    return "".join(sequences.VOCABULARY[token - 1] for token in tokens)


def pad(token_lists, length=None):
    """Right-pads token arrays with 0 to ``length`` (default: the longest)."""
    length = length or max(len(t) for t in token_lists)
    out = np.zeros((len(token_lists), length), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        out[row, :len(tokens)] = tokens
    return out


def load_benchmark(name: str):
    """benchmarks/NAME.py as a module (benchmarks/ goes on sys.path, as when a script runs, so the scripts and
    the tests share one ``common`` module)."""
    if str(REPO / "benchmarks") not in sys.path:
        sys.path.insert(0, str(REPO / "benchmarks"))
    return importlib.import_module(name)


def family_spec(name: str, n_per_class: int = 24, num_folds: int = 3, families: int = 2) -> datasets.DatasetSpec:
    """A synthetic data set with homology: each of 3 classes holds ``families`` protein families (an ancestor of 120
    random residues, members with 20% of residues substituted), so a protein's closest relatives in other folds are
    of its class, and the class is also written in a motif near the N-terminus (the network's evidence). Examples
    carry their sequences; a fifth of each family is the test split. ``name``: as :func:`toy_spec`."""
    rng = np.random.default_rng(5)
    ancestors = [[rng.integers(1, 21, 120) for _ in range(families)] for _ in range(3)]
    proteins = {"train": [], "test": []}
    for label in range(3):
        for index in range(n_per_class + n_per_class // 4):
            tokens = ancestors[label][index % families].copy()
            changed = rng.random(len(tokens)) < 0.2
            tokens[changed] = rng.integers(1, 21, int(changed.sum()))
            tokens[2:6] = [19, 19, 9 + label, 9 + label]
            proteins["train" if index < n_per_class else "test"].append((tokens.astype(np.int32), label))

    def read(split, directory=None):
        for index, (tokens, label) in enumerate(proteins[split]):
            fold = index % num_folds if split == "train" else datasets.TEST_FOLD
            yield datasets.Example(f"{split}{index}", {"tokens": tokens}, label, fold, letters(tokens))

    return datasets.DatasetSpec(name, TOY_CLASSES, num_folds, read, "synthetic protein families")


MULTI_CLASSES = ("alpha", "beta", "gamma", "delta")


def multi_label_spec(name: str, families: int = 12, per_family: int = 6, num_folds: int = 3) -> datasets.DatasetSpec:
    """A synthetic multi-label data set with homology and membrane flags: ``families`` protein families (an
    ancestor of 100 random residues; members with 20% of residues substituted), each with one or two of 4
    locations, written as motifs near the N-terminus (one position per location); membrane-associated where the
    family is in ``delta``; family ``f``'s kingdom is ``KINGDOMS[f % 4]``. Folds deal each family's members
    round-robin, so relatives span folds; no test split.
    ``name``: as :func:`toy_spec`."""
    rng = np.random.default_rng(7)
    found = []
    for family in range(families):
        ancestor = rng.integers(1, 21, 100)
        locations = tuple(sorted({family % 4, *((family * 3 + 1) % 4,) * (family % 3 == 0)}))
        for member in range(per_family):
            tokens = ancestor.copy()
            changed = rng.random(len(tokens)) < 0.2
            tokens[changed] = rng.integers(1, 21, int(changed.sum()))
            tokens[tokens == 19] = 1
            for location in locations:
                tokens[3 + 6 * location:7 + 6 * location] = [19, 19, 9, 9]
            found.append(datasets.Example(f"f{family}m{member}", {"tokens": tokens.astype(np.int32)}, locations,
                                          len(found) % num_folds, letters(tokens), float(3 in locations),
                                          KINGDOMS[family % len(KINGDOMS)]))

    def read(split, directory=None):
        return list(found)

    return datasets.DatasetSpec(name, MULTI_CLASSES, num_folds, read, "synthetic multi-label families",
                                label_scheme=datasets.MULTI_LABEL, splits=("train",), membrane=True)


def trained_run(root: pathlib.Path, *train_options: str):
    """Body of a module fixture (``yield from``): a run trained by ``protloc train TRAIN_OPTIONS --out ROOT/run``, with
    protloc's cache (MMseqs2 databases) in ``ROOT/cache`` while the fixture lives."""
    from protloc.apps.cli import main

    environment = pytest.MonkeyPatch()
    environment.setenv("PROTLOC_CACHE_DIR", str(root / "cache"))
    try:
        assert main(["train", *train_options, "--out", str(root / "run")]) == 0
        yield root / "run"
    finally:
        environment.undo()
