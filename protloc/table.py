"""The prediction table: one row per protein, as ``protloc predict`` writes it (TSV).

Columns (:func:`header`): ``id``, ``length``, ``prediction``, ``confidence``, with homology evidence ``evidence``,
``neighbour``, ``neighbour_identity``, ``neighbour_class``, then ``flags`` (comma-separated
:data:`protloc.input_flags.FLAGS`, empty for none), then one probability per class (6 decimals).
"""
from __future__ import annotations

import itertools
from typing import Iterable, TextIO

import numpy as np

from protloc.predictor import Prediction

HOMOLOGY_COLUMNS = ("evidence", "neighbour", "neighbour_identity", "neighbour_class")
"""Columns after ``confidence`` when homology evidence is used."""


def header(class_names, homology: bool = False) -> list[str]:
    """Columns of the table (module docstring)."""
    return ["id", "length", "prediction", "confidence", *(HOMOLOGY_COLUMNS if homology else ()), "flags",
            *class_names]


def format_row(prediction: Prediction, class_names, homology: bool = False) -> str:
    """One row of the table (no newline): the columns of :func:`header`, the homology columns empty where there is
    no neighbour."""
    best = int(np.argmax(prediction.probabilities))
    values = "\t".join(f"{p:.6f}" for p in prediction.probabilities)
    extra = ""
    if homology:
        hit = prediction.neighbour
        extra = (f"{prediction.evidence}\t{hit.accession}\t{hit.identity:.3f}\t"
                 f"{'|'.join(class_names[label] for label in hit.labels)}\t" if hit else f"{prediction.evidence}\t\t\t\t")
    return (f"{prediction.id}\t{prediction.length}\t{class_names[best]}\t{prediction.probabilities[best]:.6f}\t"
            f"{extra}{','.join(prediction.flags)}\t{values}")


def write_table(predictions: Iterable[Prediction], class_names, out: TextIO, homology: bool = False) -> int:
    """Writes the table; returns the number of rows.

    Nothing is written until the first prediction is ready, i.e. until the first chunk of the input has been read
    and checked, so a bad input caught there leaves ``out`` untouched (stdout included)."""
    remaining = iter(predictions)
    first = next(remaining, None)
    out.write("\t".join(header(class_names, homology)) + "\n")
    count = 0
    for prediction in itertools.chain([first] if first is not None else [], remaining):
        out.write(format_row(prediction, class_names, homology) + "\n")
        count += 1
    return count


def tee_attention(predictions: Iterable[Prediction], out: TextIO):
    """Passes predictions on while writing one attention row per protein: id, then alpha per residue."""
    for prediction in predictions:
        out.write(prediction.id + "\t" + "\t".join(f"{a:.6f}" for a in prediction.attention) + "\n")
        yield prediction
