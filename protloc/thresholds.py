"""Per-location decision thresholds of a multi-label predictor, and the rule that turns probabilities into
locations.

A protein is in every location whose probability reaches that location's threshold; a protein whose
probabilities all fall short is put in the one location furthest above, or least below, its threshold (every
protein lives somewhere). Thresholds are chosen on held-out training data (:func:`fit`): for each location, the
threshold of the largest Matthews correlation coefficient between the decisions and the true labels. They are
saved as JSON (``thresholds.json`` in a preset), one set for the network alone and, where the preset fuses
homology, one for the fused probabilities.
"""
from __future__ import annotations

import json
import math
import pathlib

import numpy as np
from sklearn.metrics import matthews_corrcoef

from protloc import files

SOURCES = ("network", "fused")
"""The probabilities a set of thresholds is for: the network's alone, or fused with homology."""


def fit(probabilities: np.ndarray, labels: np.ndarray, candidates: int = 99) -> np.ndarray:
    """float64 ``(classes,)``: per location, the threshold (among ``candidates`` quantiles of its probabilities,
    and 0.5) of the largest MCC of ``probabilities >= threshold`` against ``labels``.

    Args:
        probabilities: ``(n, classes)`` on proteins the network did not train on.
        labels: ``(n, classes)`` 0/1.
    """
    probabilities, labels = np.asarray(probabilities, np.float64), np.asarray(labels).astype(bool)
    if probabilities.shape != labels.shape or probabilities.ndim != 2:
        raise ValueError(f"probabilities {probabilities.shape} and labels {labels.shape} must be (n, classes) alike")
    chosen = np.empty(probabilities.shape[1])
    for column in range(probabilities.shape[1]):
        values = probabilities[:, column]
        tried = np.unique(np.concatenate([np.quantile(values, np.linspace(0.01, 0.99, candidates)), [0.5]]))
        scores = [matthews_corrcoef(labels[:, column], values >= threshold) for threshold in tried]
        chosen[column] = tried[int(np.argmax(scores))]
    return chosen


def decide(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """bool ``(n, classes)``: the locations of each protein (module docstring: at least one each)."""
    probabilities = np.asarray(probabilities, np.float64)
    decided = probabilities >= thresholds
    margin = probabilities - thresholds
    decided[np.arange(len(decided)), np.argmax(margin, axis=1)] |= ~decided.any(axis=1)
    return decided


def save(path, thresholds: dict, class_names, provenance=None) -> None:
    """Writes ``{"class_names", "network": [...], "fused": [...], "provenance"}`` atomically (``thresholds``: source
    -> ``(classes,)`` values)."""
    files.write_json(path, {"class_names": list(class_names),
                            **{source: [float(t) for t in values] for source, values in thresholds.items()},
                            "provenance": provenance or {}})


def load(path, class_names) -> dict[str, np.ndarray]:
    """The thresholds saved in ``path`` by source (``network``, and ``fused`` where fitted).

    Raises:
        ValueError: not a thresholds file, other class names, or a value that is not a finite number in [0, 1]
            (the file named).
    """
    path = pathlib.Path(path)
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable thresholds file ({error})") from None
    if not isinstance(saved, dict) or saved.get("class_names") != list(class_names) or "network" not in saved:
        raise ValueError(f"{path}: not a thresholds file for the locations {', '.join(class_names)}")
    found = {}
    for source in SOURCES:
        if source not in saved:
            continue
        values = saved[source]
        if (not isinstance(values, list) or len(values) != len(class_names)
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           and 0 <= v <= 1 for v in values)):
            raise ValueError(f"{path}: {source!r} must hold {len(class_names)} finite numbers in [0, 1]")
        found[source] = np.array(values, dtype=np.float64)
    return found
