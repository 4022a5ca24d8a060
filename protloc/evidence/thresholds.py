"""Per-location decision thresholds of a multi-label predictor, and the rule that turns probabilities into
locations.

A protein is in every location whose probability reaches that location's threshold; a protein whose
probabilities all fall short is put in the one location furthest above, or least below, its threshold (every
protein lives somewhere). Thresholds are chosen on held-out training data (:func:`fit`) for the score they serve:
by default the micro-averaged F1 of the decisions over all locations (DeepLoc 2.0's headline score), by coordinate
ascent (each location's threshold in turn, the others fixed, three sweeps, starting from 0.5); or each location's
own Matthews correlation coefficient (``objective="mcc"``, DeepLoc 2.0's rule), which for large classes sets
thresholds lower and so calls more locations per protein; or each location's own F1 (``objective="f1"``: the
macro-averaged F1's thresholds, up to the at-least-one rule). They are saved as JSON (``thresholds.json`` in a preset), one set for the network
alone and, where the preset fuses homology, one for the fused probabilities.
"""
from __future__ import annotations

import json
import math
import pathlib
from functools import partial

import numpy as np

from protloc.utils import files

SOURCES = ("network", "fused")
"""The probabilities a set of thresholds is for: the network's alone, or fused with homology."""
SIGNAL_TYPES_KEY = "signal_types"
"""The thresholds of a sorting-signal head's types (one per type, for each type's largest MCC), where fitted."""


OBJECTIVES = ("micro_f1", "mcc", "f1")


def fit(probabilities: np.ndarray, labels: np.ndarray, objective: str = "micro_f1", candidates: int = 99,
        sweeps: int = 3) -> np.ndarray:
    """float64 ``(classes,)``: the thresholds of the best ``objective`` (module docstring) on these proteins, each
    chosen among ``candidates`` quantiles of its location's probabilities (up to the 99.9th) and 0.5.

    Args:
        probabilities: ``(n, classes)`` on proteins the network did not train on.
        labels: ``(n, classes)`` 0/1.
        objective: ``micro_f1``, ``mcc`` or ``f1``.
    """
    probabilities, labels = np.asarray(probabilities, np.float64), np.asarray(labels).astype(bool)
    if probabilities.shape != labels.shape or probabilities.ndim != 2:
        raise ValueError(f"probabilities {probabilities.shape} and labels {labels.shape} must be (n, classes) alike")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
    grids = [np.unique(np.concatenate([np.quantile(column, np.linspace(0.01, 0.999, candidates)), [0.5]]))
             for column in probabilities.T]
    if objective in ("mcc", "f1"):
        from sklearn import metrics  # here: importing scikit-learn costs prediction 2 s of start-up

        score = metrics.matthews_corrcoef if objective == "mcc" else partial(metrics.f1_score, zero_division=0)
        return np.array([grid[int(np.argmax([score(labels[:, c], probabilities[:, c] >= t) for t in grid]))]
                         for c, grid in enumerate(grids)])
    chosen = np.full(probabilities.shape[1], 0.5)
    for _ in range(sweeps):
        for c, grid in enumerate(grids):
            scores = []
            for threshold in grid:
                chosen[c] = threshold
                scores.append(micro_f1(decide(probabilities, chosen), labels))
            chosen[c] = grid[int(np.argmax(scores))]
    return chosen


def micro_f1(decided: np.ndarray, labels: np.ndarray) -> float:
    """The micro-averaged F1 of 0/1 decisions against 0/1 labels, both ``(n, classes)``."""
    decided, labels = np.asarray(decided, bool), np.asarray(labels, bool)
    true_positives = np.sum(decided & labels)
    wrong = np.sum(decided != labels)
    return float(2 * true_positives / (2 * true_positives + wrong)) if true_positives + wrong else 1.0


def decide(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """bool ``(n, classes)``: the locations of each protein (module docstring: at least one each)."""
    probabilities = np.asarray(probabilities, np.float64)
    decided = probabilities >= thresholds
    margin = probabilities - thresholds
    decided[np.arange(len(decided)), np.argmax(margin, axis=1)] |= ~decided.any(axis=1)
    return decided


def cross_fitted(probabilities: np.ndarray, labels: np.ndarray, halves: np.ndarray,
                 objective: str = "micro_f1") -> np.ndarray:
    """bool ``(n, classes)``: each half's decisions with thresholds fitted (:func:`fit`) on the other half, so that
    no protein is decided by thresholds fitted on it (``halves``: 0 or 1 per protein)."""
    decided = np.zeros(np.shape(probabilities), dtype=bool)
    for half in (0, 1):
        fitted = fit(probabilities[halves != half], labels[halves != half], objective)
        decided[halves == half] = decide(probabilities[halves == half], fitted)
    return decided


def save(path, thresholds: dict, class_names, provenance=None) -> None:
    """Writes ``{"class_names", "network": [...], "fused": [...], "provenance"}`` atomically (``thresholds``: source
    -> ``(classes,)`` values)."""
    files.write_json(path, {"class_names": list(class_names),
                            **{source: [float(t) for t in values] for source, values in thresholds.items()},
                            "provenance": provenance or {}})


def load(path, class_names) -> dict[str, np.ndarray]:
    """The thresholds saved in ``path`` by source (``network``, and ``fused`` where fitted; and a signal head's
    ``signal_types``, one per type, where fitted).

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
    signals = saved.get(SIGNAL_TYPES_KEY)
    if signals is not None:
        if (not isinstance(signals, list) or not signals
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                           and 0 <= v <= 1 for v in signals)):
            raise ValueError(f"{path}: {SIGNAL_TYPES_KEY!r} must hold finite numbers in [0, 1]")
        found[SIGNAL_TYPES_KEY] = np.array(signals, dtype=np.float64)
    return found
