"""The prediction table: one row per protein, as ``protloc predict`` writes it (TSV).

Columns (:func:`header`): ``id``, ``length``, then for a single-label preset ``prediction`` and ``confidence`` (its
probability), for a multi-label one ``locations`` (the locations decided, ``|``-joined as DeepLoc 2.0 writes them)
and, with a membrane output, ``membrane`` (its probability); with homology evidence ``evidence``, ``neighbour``,
``neighbour_identity``, ``neighbour_class``; then ``flags`` (comma-separated :data:`protloc.input_flags.FLAGS`, empty
for none); then one probability per class (6 decimals).
"""
from __future__ import annotations

import dataclasses
import itertools
from typing import Iterable, TextIO

import numpy as np

from protloc.predictor import Prediction

HOMOLOGY_COLUMNS = ("evidence", "neighbour", "neighbour_identity", "neighbour_class")
"""Columns after the call when homology evidence is used."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """What the table's columns are.

    Attributes:
        class_names: the classes (locations), in probability-column order.
        homology: with the homology columns.
        multi_label: ``locations`` (and ``membrane``) instead of ``prediction`` and ``confidence``.
        membrane: with the ``membrane`` column (multi-label presets with a membrane output).
    """

    class_names: tuple
    homology: bool = False
    multi_label: bool = False
    membrane: bool = False

    @classmethod
    def of(cls, localizer) -> "Layout":
        """The layout of a :class:`protloc.predictor.Localizer`'s predictions."""
        from protloc import models

        outputs = localizer.network.output
        membrane = isinstance(outputs, dict) and models.MEMBRANE_OUTPUT in outputs
        return cls(tuple(localizer.class_names), localizer.uses_homology, localizer.multi_label, membrane)


def header(layout: Layout) -> list[str]:
    """Columns of the table (module docstring)."""
    call = (["locations", *(["membrane"] if layout.membrane else [])] if layout.multi_label
            else ["prediction", "confidence"])
    return ["id", "length", *call, *(HOMOLOGY_COLUMNS if layout.homology else ()), "flags", *layout.class_names]


def format_row(prediction: Prediction, layout: Layout) -> str:
    """One row of the table (no newline): the columns of :func:`header`, the homology columns empty where there is
    no neighbour."""
    names = layout.class_names
    if layout.multi_label:
        call = "|".join(names[i] for i in prediction.locations)
        if layout.membrane:
            call += f"\t{prediction.membrane:.6f}"
    else:
        best = int(np.argmax(prediction.probabilities))
        call = f"{names[best]}\t{prediction.probabilities[best]:.6f}"
    extra = ""
    if layout.homology:
        hit = prediction.neighbour
        extra = (f"{prediction.evidence}\t{hit.accession}\t{hit.identity:.3f}\t"
                 f"{'|'.join(names[label] for label in hit.labels)}\t" if hit else f"{prediction.evidence}\t\t\t\t")
    values = "\t".join(f"{p:.6f}" for p in prediction.probabilities)
    return f"{prediction.id}\t{prediction.length}\t{call}\t{extra}{','.join(prediction.flags)}\t{values}"


def write_table(predictions: Iterable[Prediction], layout: Layout, out: TextIO) -> int:
    """Writes the table; returns the number of rows.

    Nothing is written until the first prediction is ready, i.e. until the first chunk of the input has been read
    and checked, so a bad input caught there leaves ``out`` untouched (stdout included)."""
    remaining = iter(predictions)
    first = next(remaining, None)
    out.write("\t".join(header(layout)) + "\n")
    count = 0
    for prediction in itertools.chain([first] if first is not None else [], remaining):
        out.write(format_row(prediction, layout) + "\n")
        count += 1
    return count


def tee_attention(predictions: Iterable[Prediction], out: TextIO):
    """Passes predictions on while writing one attention row per protein: id, then alpha per residue."""
    for prediction in predictions:
        out.write(prediction.id + "\t" + "\t".join(f"{a:.6f}" for a in prediction.attention) + "\n")
        yield prediction
