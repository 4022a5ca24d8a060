"""The prediction table: one row per protein, as ``protloc predict`` writes it (TSV, CSV or JSON) and the web page's
API returns it.

Columns (:func:`header`): ``id``, ``length``, then for a single-label preset ``prediction`` and ``confidence`` (its
probability), for a multi-label one ``locations`` (the locations decided, ``|``-joined as DeepLoc 2.0 writes them)
and, with a membrane output, ``membrane`` (its probability), and with a sorting-signal head ``signals`` (the types
called, DeepLoc 2.0's names ``|``-joined, empty for none: :data:`protloc.data.features.SIGNAL_NAMES`); with homology
evidence ``evidence``, ``neighbour``,
``neighbour_identity``, ``neighbour_class``; then ``flags`` (comma-separated :data:`protloc.data.input_flags.FLAGS`,
empty
for none); then one probability per class (6 decimals).

Formats (:data:`FORMATS`): ``tsv`` and ``csv`` (the same columns and text), ``json`` (a list of objects, one per
protein, keyed by the same column names: numbers as numbers rounded to 6 decimals, empty homology fields as null,
``flags``, ``locations`` and ``signals`` as lists of names). DeepLoc's own files: :mod:`protloc.prediction.deeploc_formats`.
"""
from __future__ import annotations

import csv
import dataclasses
import itertools
import json
from typing import Iterable, Sequence, TextIO

import numpy as np

from protloc.data.features import SIGNAL_NAMES
from protloc.prediction.predictor import Prediction

HOMOLOGY_COLUMNS = ("evidence", "neighbour", "neighbour_identity", "neighbour_class")
"""Columns after the call when homology evidence is used."""
FORMATS = ("tsv", "csv", "json")


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the table's columns are.

    Attributes:
        class_names: the classes (locations), in probability-column order.
        homology: with the homology columns.
        multi_label: ``locations`` (and ``membrane``) instead of ``prediction`` and ``confidence``.
        membrane: with the ``membrane`` column (multi-label presets with a membrane output).
        signals: with the ``signals`` column (networks with a sorting-signal head).
    """

    class_names: tuple
    homology: bool = False
    multi_label: bool = False
    membrane: bool = False
    signals: bool = False

    @classmethod
    def of(cls, localizer) -> "Layout":
        """The layout of a :class:`protloc.prediction.predictor.Localizer`'s predictions."""
        from protloc.models import zoo

        outputs = localizer.network.output
        membrane = isinstance(outputs, dict) and zoo.MEMBRANE_OUTPUT in outputs
        signals = isinstance(outputs, dict) and zoo.SIGNAL_TYPES_OUTPUT in outputs
        return cls(tuple(localizer.class_names), localizer.uses_homology, localizer.multi_label, membrane, signals)


def header(layout: Layout) -> list[str]:
    """Columns of the table (module docstring)."""
    call = (["locations", *(["membrane"] if layout.membrane else []), *(["signals"] if layout.signals else [])]
            if layout.multi_label else ["prediction", "confidence"])
    return ["id", "length", *call, *(HOMOLOGY_COLUMNS if layout.homology else ()), "flags", *layout.class_names]


def record(prediction: Prediction, layout: Layout) -> dict:
    """One row as a dict keyed by the columns of :func:`header`, typed (numbers rounded to 6 decimals, homology
    fields None without a neighbour, flags and locations lists)."""
    names = layout.class_names
    row = {"id": prediction.id, "length": prediction.length}
    if layout.multi_label:
        row["locations"] = [names[i] for i in prediction.locations]
        if layout.membrane:
            row["membrane"] = round(float(prediction.membrane), 6)
        if layout.signals:
            row["signals"] = [SIGNAL_NAMES[code] for code in prediction.signals or ()]
    else:
        best = int(np.argmax(prediction.probabilities))
        row["prediction"], row["confidence"] = names[best], round(float(prediction.probabilities[best]), 6)
    if layout.homology:
        hit = prediction.neighbour
        row.update(evidence=prediction.evidence, neighbour=hit.accession if hit else None,
                   neighbour_identity=round(hit.identity, 3) if hit else None,
                   neighbour_class="|".join(names[label] for label in hit.labels) if hit else None)
    row["flags"] = list(prediction.flags)
    row.update((name, round(float(p), 6)) for name, p in zip(names, prediction.probabilities))
    return row


def text_cells(row: dict) -> list[str]:
    """The cells of a :func:`record` as the TSV and CSV write them."""
    def cell(key, value):
        if value is None:
            return ""
        if key == "flags":
            return ",".join(value)
        if key in ("locations", "signals"):
            return "|".join(value)
        if isinstance(value, float):
            return f"{value:.3f}" if key == "neighbour_identity" else f"{value:.6f}"
        return str(value)

    return [cell(key, value) for key, value in row.items()]


def format_row(prediction: Prediction, layout: Layout) -> str:
    """One TSV row (no newline): the columns of :func:`header`."""
    return "\t".join(text_cells(record(prediction, layout)))


def write_table(predictions: Iterable[Prediction], layout: Layout, out: TextIO, format: str = "tsv") -> int:
    """Writes the table of ``predictions`` in ``format`` (one of :data:`FORMATS`); returns the number of rows.

    Nothing is written until the first prediction is ready, i.e. until the first chunk of the input has been read
    and checked, so a bad input caught there leaves ``out`` untouched (stdout included)."""
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    remaining = iter(predictions)
    first = next(remaining, None)
    rows = (record(p, layout) for p in itertools.chain([first] if first is not None else [], remaining))
    return write_records(rows, layout, out, format)


def write_records(rows: Iterable[dict], layout: Layout, out: TextIO, format: str = "tsv") -> int:
    """Writes rows made by :func:`record` in ``format``; returns how many."""
    count = 0
    if format == "json":
        out.write("[")
        for count, row in enumerate(rows, 1):
            out.write(("\n" if count == 1 else ",\n") + json.dumps(row, allow_nan=False))  # strict JSON
        out.write("\n]\n")
        return count
    writer = csv.writer(out, delimiter="\t" if format == "tsv" else ",", lineterminator="\n",
                        quoting=csv.QUOTE_NONE if format == "tsv" else csv.QUOTE_MINIMAL, escapechar="\\")
    writer.writerow(header(layout))
    for count, row in enumerate(rows, 1):
        writer.writerow(text_cells(row))
    return count


def tee_attention(predictions: Iterable[Prediction], out: TextIO):
    """Passes predictions on while writing one attention row per protein: id, then alpha per residue."""
    for prediction in predictions:
        out.write(prediction.id + "\t" + "\t".join(f"{a:.6f}" for a in prediction.attention) + "\n")
        yield prediction


def same_rows(first: Iterable[Sequence], second: Iterable[Sequence], tolerance: float = 1e-5,
              ordered: bool = True) -> bool:
    """Whether two prediction tables' rows agree, as tables written on other backends, machines or engines should:
    text cells equal, numeric cells (numbers, or text that reads as one) within ``tolerance`` (and a relative 1e-7,
    for cells written with 6 decimals whose binary values differ by a hair more than 1e-6).

    Args:
        first, second: rows, each a sequence of cells (a TSV line split at tabs, a JSON row's values).
        ordered: False compares the rows in any order (Beam's shards come in none).
    """
    def parsed(row: Sequence) -> tuple[tuple, tuple]:
        text, numbers = [], []
        for cell in row:
            try:
                numbers.append(float(cell))
            except (TypeError, ValueError):
                text.append(cell)
        return tuple(map(str, text)), tuple(numbers)

    first, second = [parsed(row) for row in first], [parsed(row) for row in second]
    if not ordered:
        first, second = sorted(first), sorted(second)
    return len(first) == len(second) and all(
        a_text == b_text and len(a_numbers) == len(b_numbers)
        and np.allclose(a_numbers, b_numbers, rtol=1e-7, atol=tolerance, equal_nan=True)
        for (a_text, a_numbers), (b_text, b_numbers) in zip(first, second))
