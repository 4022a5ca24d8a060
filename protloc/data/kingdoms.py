"""The organism group: an optional per-protein input (:data:`protloc.data.features.KINGDOM`: one-hot over
:data:`protloc.data.features.KINGDOMS`, all zeros where it is not given, so that one model predicts with or without
it), and
a mask of the locations a group's cells do not have, applied to any preset's output when the group is given."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from protloc.data.datasets.spec import Example
from protloc.data.features import KINGDOM, KINGDOMS


def check_kingdom(name: str | None) -> str | None:
    """``name`` if it is one of :data:`KINGDOMS` (or None / "": not given, returned as None), else a ``ValueError``
    listing them."""
    if not name:
        return None
    if name not in KINGDOMS:
        raise ValueError(f"unknown kingdom {name!r}; choose from {', '.join(KINGDOMS)}")
    return name


def kingdom_vector(name: str | None) -> np.ndarray:
    """float32 ``(len(KINGDOMS),)``: 1 in ``name``'s column; all zeros for None or "" (not given)."""
    vector = np.zeros(len(KINGDOMS), dtype=np.float32)
    if check_kingdom(name):
        vector[KINGDOMS.index(name)] = 1.0
    return vector


def with_kingdoms(examples: Sequence[Example], kingdom: str | None = None, withheld: bool = False) -> list[Example]:
    """``examples`` with the :data:`KINGDOM` feature: ``kingdom`` for every one where given, else each example's own
    ``kingdom`` attribute (a data set's); all zeros with ``withheld`` (as if nobody had said)."""
    if withheld or kingdom:
        vector = kingdom_vector(None if withheld else kingdom)
        return [dataclasses.replace(e, features={**e.features, KINGDOM: vector}) for e in examples]
    return [dataclasses.replace(e, features={**e.features, KINGDOM: kingdom_vector(e.kingdom)}) for e in examples]


ABSENT_LOCATIONS = {"Metazoa": ("plastid", "chloroplast"), "Fungi": ("plastid", "chloroplast")}
"""Locations an organism group's cells do not have, by class name (DeepLoc 2.0's ``plastid``, MultiLoc's
``chloroplast``): animals and fungi have no plastids. In DeepLoc 2.0's data none of the 16,741 Metazoa and 5,841 Fungi
proteins is in a plastid (1,042 Viridiplantae and 5 Other ones are); ``Other`` holds protists, some with plastids."""


def absent_mask(class_names, kingdom: str | None) -> np.ndarray:
    """bool ``(len(class_names),)``: True for each class the organism group ``kingdom`` has no such location for
    (:data:`ABSENT_LOCATIONS`); all False where the group is not given."""
    absent = ABSENT_LOCATIONS.get(check_kingdom(kingdom) or "", ())
    return np.array([name in absent for name in class_names], dtype=bool)


def masked(probabilities: np.ndarray, mask: np.ndarray, multi_label: bool) -> np.ndarray:
    """``probabilities`` ``(n, classes)`` with the masked classes at 0; a single-label distribution renormalized over
    the others (the probability of each given that the masked classes are impossible)."""
    if not mask.any():
        return probabilities
    kept = np.where(mask, 0.0, probabilities).astype(np.float32)
    if multi_label:
        return kept
    return kept / np.maximum(kept.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny)
