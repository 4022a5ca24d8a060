"""Class evidence from labelled relatives: per protein and class, how close its closest relative of that class is.

The form in which homology hands its findings to fusion (:mod:`protloc.evidence.fusion`), so that neither needs the
other:
:mod:`protloc.evidence.homology` computes it from a search's hits, fusion reads only these arrays.
"""
from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class ClassEvidence:
    """Per protein and class, the closest labelled relatives of that class.

    Attributes:
        identity: float64 ``(n, classes)``: the highest sequence identity (0-1) among a protein's hits of each class;
            0 for a class without a hit.
        relative_bits: float64 ``(n, classes)``: the highest bit score among a protein's hits of each class over the
            best hit's bit score (0-1); 0 for a class without a hit.
        has_hit: bool ``(n,)``: whether the protein has any hit.
    """

    identity: np.ndarray
    relative_bits: np.ndarray
    has_hit: np.ndarray

    def __post_init__(self):
        shape = np.shape(self.identity)
        if len(shape) != 2 or np.shape(self.relative_bits) != shape or np.shape(self.has_hit) != shape[:1]:
            raise ValueError(f"class evidence needs identity and relative_bits of one shape (n, classes) and has_hit "
                             f"(n,); got {shape}, {np.shape(self.relative_bits)}, {np.shape(self.has_hit)}")

    def __len__(self) -> int:
        return len(self.has_hit)

    @classmethod
    def none(cls, count: int, num_classes: int) -> "ClassEvidence":
        """Evidence of ``count`` proteins without any hit."""
        return cls(np.zeros((count, num_classes)), np.zeros((count, num_classes)), np.zeros(count, dtype=bool))

    def select(self, rows) -> "ClassEvidence":
        """The evidence of the proteins ``rows`` (indices or a boolean mask)."""
        return ClassEvidence(self.identity[rows], self.relative_bits[rows], self.has_hit[rows])
