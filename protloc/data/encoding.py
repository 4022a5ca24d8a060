"""Fixed per-residue feature tables: one-hot, BLOSUM80 and HSDM (the paper's sequence-only features).

Every table has one row per token of :mod:`protloc.data.sequences` (row 0, padding, is all zeros) and one block
of 20 columns per feature set, columns in the order of ``STANDARD_RESIDUES``:

``onehot``
    1 in the residue's own column.
``blosum80``
    The residue's BLOSUM80 row (Biopython ``substitution_matrices.load("BLOSUM80")``).
``hsdm``
    The residue's row of the homologous-structure-derived matrix HSDM (Prlić et al. 2000; AAindex2
    record PRLA000102, from the ``aaindex`` package, which ships the database).

Scaling: the two substitution matrices come in different units (BLOSUM80 in 1/3-bit units, -8..16; HSDM in
its own score units, -11.5..19.1). Each is standardised over its 400 entries, ``(M - mean(M)) / std(M)``,
so both blocks have zero mean and unit variance and weigh the same; the one-hot block is left as 0/1.

Ambiguity tokens (``B``, ``Z``, ``J``, ``X``) get the mean of the rows of the residues they stand for in
every block, i.e. the expected features under the ambiguity (``X``: uniform over all 20).
"""
from __future__ import annotations

import functools

import numpy as np

from protloc.data.sequences import AMBIGUITY_CODES, STANDARD_RESIDUES, VOCABULARY_SIZE

FEATURE_BLOCKS = ("onehot", "blosum80", "hsdm")
"""Every available block, in the paper's order; also the default selection."""
BLOCK_WIDTH = len(STANDARD_RESIDUES)


@functools.lru_cache(maxsize=None)
def blosum80_matrix() -> np.ndarray:
    """Raw BLOSUM80 scores, float64 array of shape (20, 20), rows and columns in STANDARD_RESIDUES order."""
    from Bio.Align import substitution_matrices

    matrix = substitution_matrices.load("BLOSUM80")
    return np.array([[matrix[a, b] for b in STANDARD_RESIDUES] for a in STANDARD_RESIDUES], dtype=np.float64)


@functools.lru_cache(maxsize=None)
def hsdm_matrix() -> np.ndarray:
    """Raw HSDM scores (AAindex2 PRLA000102), float64 array of shape (20, 20), STANDARD_RESIDUES order."""
    from aaindex import aaindex2

    matrix = aaindex2["PRLA000102"]["matrix"]
    return np.array([[matrix[a][b] for b in STANDARD_RESIDUES] for a in STANDARD_RESIDUES], dtype=np.float64)


def standardize(matrix: np.ndarray) -> np.ndarray:
    """``(M - mean(M)) / std(M)`` over all entries."""
    return (matrix - matrix.mean()) / matrix.std()


def _block(name: str) -> np.ndarray:
    if name == "onehot":
        return np.eye(BLOCK_WIDTH)
    if name == "blosum80":
        return standardize(blosum80_matrix())
    if name == "hsdm":
        return standardize(hsdm_matrix())
    raise ValueError(f"unknown feature block {name!r}; choose from {', '.join(FEATURE_BLOCKS)}")


def validate_blocks(blocks) -> tuple[str, ...]:
    """Checks a block selection: a non-empty sequence of distinct names from FEATURE_BLOCKS."""
    blocks = tuple(blocks)
    if not blocks:
        raise ValueError("at least one feature block is needed")
    unknown = [b for b in blocks if b not in FEATURE_BLOCKS]
    if unknown:
        raise ValueError(f"unknown feature block(s) {unknown}; choose from {', '.join(FEATURE_BLOCKS)}")
    if len(set(blocks)) != len(blocks):
        raise ValueError(f"feature blocks repeat: {blocks}")
    return blocks


def feature_table(blocks=FEATURE_BLOCKS) -> np.ndarray:
    """Per-token features.

    Args:
        blocks: names from FEATURE_BLOCKS, concatenated in the given order.

    Returns:
        float32 array of shape ``(VOCABULARY_SIZE, 20 * len(blocks))``; row 0 (padding) is zero, rows 1-20
        the standard residues, rows 21-24 the ambiguity codes (means of their residues' rows).
    """
    residue_rows = np.concatenate([_block(name) for name in validate_blocks(blocks)], axis=1)
    table = np.zeros((VOCABULARY_SIZE, residue_rows.shape[1]), dtype=np.float64)
    table[1:1 + BLOCK_WIDTH] = residue_rows
    for offset, members in enumerate(AMBIGUITY_CODES.values()):
        table[1 + BLOCK_WIDTH + offset] = residue_rows[[STANDARD_RESIDUES.index(m) for m in members]].mean(0)
    return table.astype(np.float32)
