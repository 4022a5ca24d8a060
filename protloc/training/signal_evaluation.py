"""Scores of predicted sorting signals: per protein (which types it carries) and per residue (where they lie), as
SignalP and TargetP report them: each type's residue precision and recall, and for the N-terminal signals the
cleavage site (the signal's last residue) found within a few residues."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from protloc.data import signal_regions
from protloc.data.features import SIGNAL_TYPES
from protloc.training.evaluation import multilabel_report

N_TERMINAL = ("SP", "MT", "CH", "TH")
"""Signals that start at the N-terminus and end at a cleavage site."""
SITE_TOLERANCE = 3
"""Residues by which a predicted cleavage site may miss the annotated one and still count."""


def first_region_end(codes: np.ndarray, code: int) -> int | None:
    """The 0-based position of the last residue of the first run of ``code`` in ``codes``, or None when it has none."""
    ends = [last for name, _, last in signal_regions.regions(codes) if name == SIGNAL_TYPES[code - 1]]
    return ends[0] if ends else None


def type_report(labels: np.ndarray, decided: np.ndarray) -> dict:
    """Per-protein scores of the signal types (``(n, 9)`` 0/1 each): micro and macro F1, subset accuracy, Jaccard
    and per-type precision, recall, F1 and MCC (:func:`protloc.training.evaluation.multilabel_report`)."""
    return multilabel_report(labels, decided, SIGNAL_TYPES)


def region_report(true_codes: Sequence[np.ndarray], predicted_codes: Sequence[np.ndarray],
                  tolerance: int = SITE_TOLERANCE) -> dict:
    """Per-residue scores over proteins with a per-residue annotation.

    Args:
        true_codes: per protein, int ``(length,)`` residue codes (0: no signal, k: ``SIGNAL_TYPES[k - 1]``).
        predicted_codes: per protein, the predicted codes (e.g. the argmax of the signal head's residue output).
        tolerance: residues by which a cleavage site may be missed.

    Returns:
        ``{"residues": {type: {"precision", "recall", "f1", "support"}}, "cleavage_sites": {type: {"proteins",
        "found", "recall", "predicted", "precision"}}}``: residue scores pooled over all residues; for each
        N-terminal type, among the proteins annotated with it, the share whose predicted first region of that type
        ends within ``tolerance`` residues of the annotated one (recall), and among the proteins predicted to carry
        it at the N-terminus, the share that are annotated with it and end there (precision).
    """
    if len(true_codes) != len(predicted_codes):
        raise ValueError(f"{len(true_codes)} annotated proteins but {len(predicted_codes)} predicted ones")
    true_all = np.concatenate([np.asarray(c) for c in true_codes]) if true_codes else np.zeros(0, int)
    predicted_all = np.concatenate([np.asarray(c) for c in predicted_codes]) if predicted_codes else np.zeros(0, int)
    if true_all.shape != predicted_all.shape:
        raise ValueError("every protein needs as many predicted residue codes as annotated ones")
    residues = {}
    for index, name in enumerate(SIGNAL_TYPES, 1):
        true, predicted = true_all == index, predicted_all == index
        hits = int(np.sum(true & predicted))
        precision = hits / int(predicted.sum()) if predicted.any() else 0.0
        recall = hits / int(true.sum()) if true.any() else 0.0
        residues[name] = {"precision": precision, "recall": recall,
                          "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
                          "support": int(true.sum())}
    sites = {}
    for name in N_TERMINAL:
        code = SIGNAL_TYPES.index(name) + 1
        annotated = found = predicted = 0
        for true, guess in zip(true_codes, predicted_codes):
            true_end = first_region_end(true, code) if len(true) and true[0] == code else None
            guess_end = first_region_end(guess, code) if len(guess) and guess[0] == code else None
            near = true_end is not None and guess_end is not None and abs(true_end - guess_end) <= tolerance
            annotated += true_end is not None
            predicted += guess_end is not None
            found += near
        sites[name] = {"proteins": annotated, "found": found, "recall": found / annotated if annotated else 0.0,
                       "predicted": predicted, "precision": found / predicted if predicted else 0.0}
    return {"residues": residues, "cleavage_sites": sites, "tolerance": tolerance}
