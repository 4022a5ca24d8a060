"""DeepLoc's own result files, so that pipelines that parse DeepLoc read protloc's predictions unchanged.

``deeploc2`` (DeepLoc 2.0's ``results_YYYYMMDD-HHMMSS.csv``): comma-separated, nothing quoted, header
:data:`DEEPLOC2_HEADER`; ``Protein_ID`` is the first word of the FASTA header; ``Localizations`` and ``Signals`` join
DeepLoc's names with ``|`` in the fixed order of the probability columns; ``Localizations`` is never empty (the
locations the preset's thresholds decide, which are at least one); ``Signals`` the sorting signals called by a preset
with a signal head, in DeepLoc 2.0's order and names (:data:`DEEPLOC2_SIGNALS`; GPI anchors, which DeepLoc 2.0 does not
name and its parsers refuse, are left out), empty for none or for a preset without the head. Numbers are written as DeepLoc 2.0 writes them: the probability rounded to 4 decimals as a
float32, then written as the shortest text of that float32's exact double value (``0.4495`` -> ``0.4494999945163727``;
:func:`deeploc2_number`).

``deeploc1`` (DeepLoc 1.0's tab-separated table, as predector and similar pipelines parse it): header
:data:`DEEPLOC1_HEADER`; ``Location`` the single most probable location (DeepLoc 1.0 is single-label), ``Membrane``
the probability of membrane association from the preset's membrane output, then one probability per location, 4
decimals. A preset without a membrane output is refused for this format.

Single-label (MultiLoc) presets map onto DeepLoc's locations: ``chloroplast`` -> Plastid, ``lysosome`` and
``vacuole`` -> Lysosome/Vacuole (their probabilities added, as the two are exclusive classes), every other class to
its namesake. A preset with a class DeepLoc has no column for is refused.
"""
from __future__ import annotations

import time
from typing import Iterable, TextIO

import numpy as np

from protloc.data.features import SIGNAL_NAMES

FORMATS = ("deeploc2", "deeploc1")
DEEPLOC_LOCATIONS = ("Cytoplasm", "Nucleus", "Extracellular", "Cell membrane", "Mitochondrion", "Plastid",
                     "Endoplasmic reticulum", "Lysosome/Vacuole", "Golgi apparatus", "Peroxisome")
"""DeepLoc 2.0's locations, in the order of its probability columns."""
DEEPLOC2_HEADER = ("Protein_ID", "Localizations", "Signals", *DEEPLOC_LOCATIONS)
DEEPLOC2_SIGNALS = ("SP", "TM", "MT", "CH", "TH", "NLS", "NES", "PTS")
"""The signal types DeepLoc 2.0 names in its ``Signals`` column, in its order (names: SIGNAL_NAMES)."""
DEEPLOC1_NAMES = {"Nucleus": "Nucleus", "Cytoplasm": "Cytoplasm", "Extracellular": "Extracellular",
                  "Mitochondrion": "Mitochondrion", "Cell membrane": "Cell_membrane",
                  "Endoplasmic reticulum": "Endoplasmic_reticulum", "Plastid": "Plastid",
                  "Golgi apparatus": "Golgi_apparatus", "Lysosome/Vacuole": "Lysosome/Vacuole",
                  "Peroxisome": "Peroxisome"}
"""DeepLoc 1.0's name of each location, in the order of its probability columns."""
DEEPLOC1_HEADER = ("ID", "Location", "Membrane", *DEEPLOC1_NAMES.values())
CLASS_TO_DEEPLOC = {"cytoplasm": "Cytoplasm", "nucleus": "Nucleus", "extracellular": "Extracellular",
                    "plasma_membrane": "Cell membrane", "mitochondrion": "Mitochondrion", "plastid": "Plastid",
                    "chloroplast": "Plastid", "er": "Endoplasmic reticulum", "lysosome_vacuole": "Lysosome/Vacuole",
                    "lysosome": "Lysosome/Vacuole", "vacuole": "Lysosome/Vacuole", "golgi": "Golgi apparatus",
                    "peroxisome": "Peroxisome"}
"""protloc's class names (deeploc2 and MultiLoc presets) -> DeepLoc 2.0's location names."""


def results_name(now: float | None = None) -> str:
    """The file name DeepLoc 2.0 gives its results in an output directory: ``results_YYYYMMDD-HHMMSS.csv`` (local
    time ``now``, default the current time)."""
    return time.strftime("results_%Y%m%d-%H%M%S.csv", time.localtime(now))


def deeploc2_number(probability: float) -> str:
    """A probability as DeepLoc 2.0 writes it: rounded to 4 decimals in float32, then the shortest text of that
    float32 as a double (``0.4495`` -> ``0.4494999945163727``, ``1`` -> ``1.0``)."""
    return repr(float(np.round(np.float32(probability), 4)))


def location_matrix(class_names) -> np.ndarray:
    """float32 ``(len(class_names), 10)``: 1 where a class maps onto one of :data:`DEEPLOC_LOCATIONS`.

    Raises:
        ValueError: a class without a DeepLoc location (named).
    """
    unknown = [name for name in class_names if name not in CLASS_TO_DEEPLOC]
    if unknown:
        raise ValueError(f"DeepLoc's formats have no column for class(es) {', '.join(unknown)}; they hold "
                         f"{', '.join(DEEPLOC_LOCATIONS)}")
    matrix = np.zeros((len(class_names), len(DEEPLOC_LOCATIONS)), np.float32)
    for row, name in enumerate(class_names):
        matrix[row, DEEPLOC_LOCATIONS.index(CLASS_TO_DEEPLOC[name])] = 1.0
    return matrix


def check_layout(layout, format: str) -> np.ndarray:
    """The :func:`location_matrix` of a table layout (:class:`protloc.prediction.table.Layout`) for ``format``.

    Raises:
        ValueError: a class without a DeepLoc location, or ``deeploc1`` for a preset without a membrane output.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if format == "deeploc1" and not layout.membrane:
        raise ValueError("--format deeploc1 needs a preset with a membrane output (DeepLoc 1.0's Membrane column), "
                         "e.g. deeploc2; this one has none")
    return location_matrix(layout.class_names)


def _checked_id(prediction, separator: str) -> str:
    """The protein's first header word, refused where the format's separator or a line break would split it."""
    if not prediction.id or separator in prediction.id or "\n" in prediction.id or "\r" in prediction.id:
        what = "an empty identifier" if not prediction.id else f"identifier {prediction.id!r}"
        raise ValueError(f"{what} cannot be written in DeepLoc's format (it holds no quoting); rename the record")
    return prediction.id


def deeploc2_row(prediction, matrix: np.ndarray) -> str:
    """One line (no newline) of DeepLoc 2.0's CSV for a :class:`protloc.prediction.predictor.Prediction`."""
    probabilities = np.asarray(prediction.probabilities, np.float32) @ matrix
    decided = np.zeros(len(DEEPLOC_LOCATIONS), bool)
    for index in prediction.locations:
        decided |= matrix[index] > 0
    locations = "|".join(name for name, chosen in zip(DEEPLOC_LOCATIONS, decided) if chosen)
    called = set(getattr(prediction, "signals", None) or ())
    signals = "|".join(SIGNAL_NAMES[code] for code in DEEPLOC2_SIGNALS if code in called)
    return ",".join([_checked_id(prediction, ","), locations, signals, *map(deeploc2_number, probabilities)])


def deeploc1_row(prediction, matrix: np.ndarray) -> str:
    """One line (no newline) of DeepLoc 1.0's table for a :class:`protloc.prediction.predictor.Prediction` of a preset
    with a
    membrane output."""
    probabilities = np.asarray(prediction.probabilities, np.float32) @ matrix
    best = DEEPLOC1_NAMES[DEEPLOC_LOCATIONS[int(np.argmax(probabilities))]]
    order = [DEEPLOC_LOCATIONS.index(name) for name in DEEPLOC1_NAMES]
    numbers = [f"{float(value):.4f}" for value in (prediction.membrane, *probabilities[order])]
    return "\t".join([_checked_id(prediction, "\t"), best, *numbers])


def write(predictions: Iterable, layout, out: TextIO, format: str) -> int:
    """Writes ``predictions`` as DeepLoc's ``format`` file (module docstring) to ``out``; returns the rows written.

    Nothing is written before the first prediction is ready, so that a bad input found in its first chunk leaves
    ``out`` untouched.

    Raises:
        ValueError: see :func:`check_layout`; an identifier the format cannot hold.
    """
    matrix = check_layout(layout, format)
    header, row, separator = ((DEEPLOC2_HEADER, deeploc2_row, ",") if format == "deeploc2"
                              else (DEEPLOC1_HEADER, deeploc1_row, "\t"))
    count = 0
    for count, prediction in enumerate(predictions, 1):
        if count == 1:
            out.write(separator.join(header) + "\n")
        out.write(row(prediction, matrix) + "\n")
    if not count:
        out.write(separator.join(header) + "\n")
    return count
