"""The models shipped with the package.

Two models, named as ``--model`` takes them:

* ``pretrained`` (``model.keras``): one R-LSTM, the built-in default of ``protloc predict`` (fast);
* ``pretrained-ensemble`` (``ensemble.keras``): an ensemble of R-LSTMs, as many times slower as it has members
  (its card and the README say how its accuracy compares with the single model's).

Each has a card (``model.json``, ``ensemble.json``): what it is, how it was trained (command, epochs,
hyper-parameters, data), the class names and its measured test accuracy; and fusion parameters
(``model.fusion.json``, ``ensemble.fusion.json``, see :mod:`protloc.fusion`) for homology evidence from their
reference set, ``reference.fasta.gz``: the proteins of their training split with their classes (never the test
split). ``benchmarks/homology.py`` writes the reference and the fusion files.
"""
from __future__ import annotations

import json
import pathlib

DIRECTORY = pathlib.Path(__file__).parent
SHIPPED = {"pretrained": "model", "pretrained-ensemble": "ensemble"}
"""Name of a shipped model -> stem of its ``.keras`` file and ``.json`` card in this directory."""


def model_path(name: str = "pretrained") -> pathlib.Path:
    """The ``.keras`` file of the shipped model ``name`` (a key of ``SHIPPED``); load it with
    :func:`protloc.load_pretrained`."""
    return DIRECTORY / f"{_stem(name)}.keras"


EXAMPLES = DIRECTORY / "examples.fasta"
"""11 MultiLoc test proteins, one per compartment (each its class's first test protein), the class in each header's
description (``labelled CLASS``): what ``python -m protloc.demo`` predicts."""
REFERENCE = DIRECTORY / "reference.fasta.gz"
"""Labelled FASTA of the shipped models' training split (see :class:`protloc.homology.ReferenceSet`)."""


def fusion_path(name: str = "pretrained") -> pathlib.Path:
    """The fusion parameters of the shipped model ``name``."""
    return DIRECTORY / f"{_stem(name)}.fusion.json"


def card_path(name: str = "pretrained") -> pathlib.Path:
    """The card of the shipped model ``name``."""
    return DIRECTORY / f"{_stem(name)}.json"


def model_card(name: str = "pretrained") -> dict:
    """A shipped model's description (its ``.json`` card)."""
    return json.loads(card_path(name).read_text())


def _stem(name: str) -> str:
    if name not in SHIPPED:
        raise ValueError(f"no shipped model is called {name!r}; choose from {', '.join(SHIPPED)}")
    return SHIPPED[name]
