"""Accuracy with a 95% interval, per-class precision / recall / MCC, and the confusion matrix.

The confusion matrix uses the layout of the paper's Table 2: one row per true compartment, one column per
predicted compartment, counts of proteins.
"""
from __future__ import annotations

import math

import numpy as np

from protloc import datasets, files, inference, models
from protloc.recipes import DEFAULT_BATCH_SIZE


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a proportion ``correct / total``."""
    if total == 0:
        return (0.0, 1.0)
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (max(0.0, centre - half), min(1.0, centre + half))


def mcnemar_exact(first_correct, second_correct) -> dict:
    """Exact two-sided McNemar test of two classifiers on the same proteins.

    Args:
        first_correct, second_correct: bool arrays ``(n,)``, whether each classifier got protein i right.

    Returns:
        ``{"only_first": b, "only_second": c, "p_value": p}``: b proteins only the first classifier got right,
        c only the second, and the probability of a split at least as uneven as b : c if both were equally
        accurate (binomial with p = 1/2 over the b + c discordant proteins).
    """
    first, second = np.asarray(first_correct, dtype=bool), np.asarray(second_correct, dtype=bool)
    if first.shape != second.shape:
        raise ValueError(f"the classifiers were scored on different proteins: {first.shape} vs {second.shape}")
    only_first, only_second = int(np.sum(first & ~second)), int(np.sum(~first & second))
    discordant = only_first + only_second
    tail = sum(math.comb(discordant, k) for k in range(min(only_first, only_second) + 1)) / 2 ** discordant
    return {"only_first": only_first, "only_second": only_second, "p_value": min(1.0, 2 * tail)}


def binary_mcc(tp: int, fp: int, fn: int, tn: int) -> float:
    """Matthews correlation coefficient of one class against the rest (0 when undefined)."""
    denominator = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return (tp * tn - fp * fn) / denominator if denominator else 0.0


def multiclass_mcc(confusion: np.ndarray) -> float:
    """Gorodkin's multi-class MCC (the R_K statistic) of a confusion matrix."""
    c = confusion.astype(np.float64)
    total, correct = c.sum(), np.trace(c)
    true_counts, predicted_counts = c.sum(1), c.sum(0)
    numerator = correct * total - true_counts @ predicted_counts
    denominator = math.sqrt((total ** 2 - predicted_counts @ predicted_counts)
                            * (total ** 2 - true_counts @ true_counts))
    return float(numerator / denominator) if denominator else 0.0


def classification_report(labels, predictions, class_names) -> dict:
    """All metrics of a set of predictions.

    Args:
        labels: true class indices, shape ``(n,)``.
        predictions: predicted class indices, shape ``(n,)``.
        class_names: names of the classes, in index order.

    Returns:
        a JSON-ready dict: ``n``, ``accuracy``, ``accuracy_95ci``, ``mcc`` (Gorodkin), ``per_class``
        (precision, recall, MCC, support per class) and ``confusion_matrix`` (rows true, columns predicted).
    """
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    k = len(class_names)
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (labels, predictions), 1)
    n, correct = int(confusion.sum()), int(np.trace(confusion))
    per_class = {}
    for i, name in enumerate(class_names):
        tp = int(confusion[i, i])
        fp, fn = int(confusion[:, i].sum()) - tp, int(confusion[i].sum()) - tp
        per_class[name] = {
            "precision": tp / (tp + fp) if tp + fp else 0.0,
            "recall": tp / (tp + fn) if tp + fn else 0.0,
            "mcc": binary_mcc(tp, fp, fn, n - tp - fp - fn),
            "support": tp + fn,
        }
    return {
        "n": n,
        "accuracy": correct / n if n else 0.0,
        "accuracy_95ci": list(wilson_interval(correct, n)),
        "mcc": multiclass_mcc(confusion),
        "class_names": list(class_names),
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
    }


def markdown_report(report: dict, title: str) -> str:
    """The report as Markdown: summary line, per-class table and the Table-2-style confusion matrix."""
    low, high = report["accuracy_95ci"]
    lines = [f"# {title}", "",
             f"Accuracy **{report['accuracy']:.3f}** (95% CI {low:.3f}-{high:.3f}) on {report['n']} proteins; "
             f"multi-class MCC {report['mcc']:.3f}.", "",
             "| compartment | support | precision | recall | MCC |", "|---|---:|---:|---:|---:|"]
    for name, row in report["per_class"].items():
        lines.append(f"| {name} | {row['support']} | {row['precision']:.3f} | {row['recall']:.3f} | {row['mcc']:.3f} |")
    names = report["class_names"]
    lines += ["", "Confusion matrix (rows: true compartment, columns: predicted):", "",
              "| true \\ predicted | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for name, row in zip(names, report["confusion_matrix"]):
        lines.append(f"| {name} | " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def write_report(report: dict, directory, stem: str, title: str) -> None:
    """Writes ``stem.json`` and ``stem.md`` in ``directory``, each atomically."""
    files.write_json(f"{directory}/{stem}.json", report)
    files.write_text(f"{directory}/{stem}.md", markdown_report(report, title))


def predict_probabilities(model, examples, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Probabilities ``(n, classes)`` of a network for ``examples`` (:class:`protloc.datasets.Example`, with every
    feature the network takes), in the examples' order (:class:`protloc.inference.Forward`)."""
    return inference.Forward(model, batch_size)(examples)[inference.MAIN_OUTPUT]


def evaluate_examples(model, examples, batch_size: int = DEFAULT_BATCH_SIZE) -> dict:
    """:func:`classification_report` of ``model`` on ``examples`` (class names from the model)."""
    probabilities = predict_probabilities(model, examples, batch_size)
    return classification_report(datasets.labels_of(examples), np.argmax(probabilities, axis=-1),
                                 models.class_names_of(model))
