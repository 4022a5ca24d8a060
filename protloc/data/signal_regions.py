"""Sorting-signal regions from per-residue signal codes: each run of one signal type along a protein."""
from __future__ import annotations

import numpy as np

from protloc.data.features import SIGNAL_TYPES


def regions(codes) -> list[tuple[str, int, int]]:
    """``(type, first, last)`` for every run of consecutive residues with the same signal code, in order of
    ``first``; positions 0-based and inclusive.

    Args:
        codes: int ``(length,)``: 0 for no signal, k for ``SIGNAL_TYPES[k - 1]``.
    """
    codes = np.asarray(codes)
    found = []
    for code in np.unique(codes[codes > 0]):
        where = np.flatnonzero(codes == code)
        for run in np.split(where, np.flatnonzero(np.diff(where) > 1) + 1):
            found.append((SIGNAL_TYPES[int(code) - 1], int(run[0]), int(run[-1])))
    return sorted(found, key=lambda region: region[1])
