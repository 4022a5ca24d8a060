"""Names and widths of the per-residue inputs a zoo model can take: the contract between data sets, evidence
modules (which compute such inputs) and models (which read them). Plain data, no imports of either side."""
from __future__ import annotations

TOKENS = "tokens"
"""int32 ``(length,)`` per protein, ``(batch, length)`` batched: :mod:`protloc.sequences` tokens, 0 = padding."""
PROFILE = "profile"
"""float32 ``(length, PROFILE_WIDTH)``: each residue's amino-acid frequencies from a sequence search
(:mod:`protloc.profiles`), columns in :data:`protloc.sequences.STANDARD_RESIDUES` order, rows summing to 1."""
PROFILE_WIDTH = 20
"""Columns of the profile input (the 20 standard residues)."""
