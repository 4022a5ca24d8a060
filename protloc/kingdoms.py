"""The organism group as an optional per-protein input (:data:`protloc.features.KINGDOM`): one-hot over
:data:`protloc.features.KINGDOMS`, all zeros where it is not given, so that one model predicts with or without it."""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from protloc.datasets.spec import Example
from protloc.features import KINGDOM, KINGDOMS


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
