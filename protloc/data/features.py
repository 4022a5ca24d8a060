"""Names and widths of the inputs a zoo model can take (per residue, or one vector per protein), and the vocabulary of
its sorting-signal targets: the contract between data sets, evidence modules (which compute such inputs) and models
(which read them). Plain data, no imports of either side."""
from __future__ import annotations

TOKENS = "tokens"
"""int32 ``(length,)`` per protein, ``(batch, length)`` batched: :mod:`protloc.data.sequences` tokens, 0 = padding."""
PROFILE = "profile"
"""float32 ``(length, PROFILE_WIDTH)``: each residue's amino-acid frequencies from a sequence search
(:mod:`protloc.evidence.profiles`), columns in :data:`protloc.data.sequences.STANDARD_RESIDUES` order, rows summing to 1."""
PROFILE_WIDTH = 20
"""Columns of the profile input (the 20 standard residues)."""
KINGDOM = "kingdom"
"""float32 ``(4,)`` per protein, ``(batch, 4)`` batched: the organism group, one-hot over
:data:`KINGDOMS`; all zeros where it is not given (:mod:`protloc.data.kingdoms`)."""
KINGDOMS = ("Metazoa", "Fungi", "Viridiplantae", "Other")
"""The organism groups of the kingdom input, in column order (DeepLoc 2.0's four)."""
PROTEIN_INPUTS = {KINGDOM: len(KINGDOMS)}
"""Per-protein inputs (one vector per protein, no residue axis): name -> width. Every other input is per residue."""
SIGNAL_TYPES = ("SP", "TM", "MT", "CH", "TH", "NLS", "NES", "PTS", "GPI")
"""Sorting-signal types (DeepLoc 2.0's): signal peptide, transmembrane domain, mitochondrial, chloroplast and
thylakoid luminal transit peptides, nuclear localization and export signals, peroxisomal targeting signal, GPI
anchor."""
RESIDUE_SIGNAL_CLASSES = ("none", *SIGNAL_TYPES)
"""A residue's signal: code ``k`` is ``RESIDUE_SIGNAL_CLASSES[k]`` (0: in no signal)."""
SIGNAL_NAMES = {"SP": "Signal peptide", "TM": "Transmembrane domain", "MT": "Mitochondrial transit peptide",
                "CH": "Chloroplast transit peptide", "TH": "Thylakoid luminal transit peptide",
                "NLS": "Nuclear localization signal", "NES": "Nuclear export signal",
                "PTS": "Peroxisomal targeting signal", "GPI": "GPI anchor"}
"""Each signal type's name as DeepLoc 2.0 writes it in its ``Signals`` column (GPI anchors, which DeepLoc 2.0's data
marks but its output does not name, as ``GPI anchor``)."""
