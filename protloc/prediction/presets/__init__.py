"""The presets shipped with the package, one directory each (the layout: :mod:`protloc.prediction.preset`).

* ``deeploc2``: one R-LSTM (coarse recipe, terminal windows, location-weighted loss) trained on DeepLoc 2.0's 28,303
  Swiss-Prot proteins: one or more of 10 locations and membrane association, homology to those proteins (the default
  of ``protloc predict``);
* ``multiloc``: one R-LSTM trained on MultiLoc's training split, its configuration chosen by a keras-tuner search
  (docs/reference.md, "Hyper-parameter search"): 11 compartments;
* ``multiloc-ensemble``: 10 such R-LSTMs (seeds 0-9), probabilities averaged: as many times slower;
* ``multiloc-paper``: one R-LSTM trained on MultiLoc with the paper's recipe, 50 epochs (the default of earlier
  versions, as ``pretrained``).

Each directory's ``preset.json`` says what the model is, what it needs, how it was trained and what it measured (with
the command that measured it). :data:`EXAMPLES` holds 11 MultiLoc test proteins, one per compartment, that
``python -m protloc.apps.demo`` predicts.
"""
from __future__ import annotations

import pathlib

DIRECTORY = pathlib.Path(__file__).parent
DEFAULT = "deeploc2"
"""The preset ``protloc predict`` uses unless told otherwise."""
EXAMPLES = DIRECTORY / "examples.fasta"
"""11 MultiLoc test proteins, one per compartment (each its class's first test protein), the class in each header's
description (``labelled CLASS``)."""


ALIASES: dict[str, str] = {"pretrained": "multiloc-paper", "pretrained-ensemble": "multiloc-ensemble"}
"""Names that earlier versions shipped presets under -> the preset they stand for now."""


def names() -> list[str]:
    """The names of the shipped presets (their directories here)."""
    return sorted(path.name for path in DIRECTORY.iterdir() if (path / "preset.json").is_file())


def resolve(name: str) -> str | None:
    """The shipped preset a name (or an alias) stands for, or None."""
    name = ALIASES.get(name, name)
    return name if name in names() else None
