"""Scores of predictions. Single-label: accuracy with a 95% interval, per-class precision / recall / MCC, and the
confusion matrix (the layout of the paper's Table 2: one row per true compartment, one column per predicted
compartment, counts of proteins). Multi-label: micro and macro F1, subset accuracy, Jaccard, per-location MCC and
the membrane's accuracy and MCC (:func:`multilabel_report`).
"""
from __future__ import annotations

import math

import numpy as np

from protloc.data import datasets
from protloc.models import inference, zoo
from protloc.models.recipes import DEFAULT_BATCH_SIZE
from protloc.utils import files


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
    """Writes ``stem.json`` and ``stem.md`` (single- or multi-label, as the report is) in ``directory``, each
    atomically."""
    files.write_json(f"{directory}/{stem}.json", report)
    text = multilabel_markdown(report, title) if "micro_f1" in report else markdown_report(report, title)
    files.write_text(f"{directory}/{stem}.md", text)


def predict_probabilities(model, examples, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Probabilities ``(n, classes)`` of a network for ``examples`` (:class:`protloc.data.datasets.Example`, with every
    feature the network takes), in the examples' order (:class:`protloc.models.inference.Forward`)."""
    return inference.Forward(model, batch_size)(examples)[inference.MAIN_OUTPUT]


def evaluate_examples(model, examples, batch_size: int = DEFAULT_BATCH_SIZE) -> dict:
    """:func:`classification_report` of ``model`` on ``examples`` (class names from the model)."""
    probabilities = predict_probabilities(model, examples, batch_size)
    return classification_report(datasets.labels_of(examples), np.argmax(probabilities, axis=-1),
                                 zoo.class_names_of(model))


def multilabel_report(labels, decided, class_names, membrane=None, membrane_probability=None) -> dict:
    """The scores of multi-label predictions (scikit-learn's metrics), as DeepLoc 2.0 reports them.

    Args:
        labels: ``(n, classes)`` 0/1, the true locations.
        decided: ``(n, classes)`` 0/1, the predicted ones.
        class_names: the locations, in column order.
        membrane: ``(n,)`` 0/1 true membrane association, or None.
        membrane_probability: ``(n,)`` predicted membrane probability (called at 0.5), or None.

    Returns:
        a JSON-ready dict: ``n``; ``micro_f1``, ``macro_f1``, ``subset_accuracy`` (exact match), ``jaccard``
        (mean over proteins of |true & predicted| / |true | predicted|); ``per_class`` (precision, recall, F1, MCC,
        support, predicted); with the membrane, ``membrane`` (accuracy, MCC, support).
    """
    from sklearn import metrics

    labels, decided = np.asarray(labels).astype(int), np.asarray(decided).astype(int)
    report = {"n": int(len(labels)), "class_names": list(class_names),
              "micro_f1": float(metrics.f1_score(labels, decided, average="micro", zero_division=0)),
              "macro_f1": float(metrics.f1_score(labels, decided, average="macro", zero_division=0)),
              "subset_accuracy": float(metrics.accuracy_score(labels, decided)),
              "jaccard": float(metrics.jaccard_score(labels, decided, average="samples", zero_division=0)),
              "per_class": {}}
    for column, name in enumerate(class_names):
        true, predicted = labels[:, column], decided[:, column]
        report["per_class"][name] = {
            "precision": float(metrics.precision_score(true, predicted, zero_division=0)),
            "recall": float(metrics.recall_score(true, predicted, zero_division=0)),
            "f1": float(metrics.f1_score(true, predicted, zero_division=0)),
            "mcc": float(metrics.matthews_corrcoef(true, predicted)),
            "support": int(true.sum()), "predicted": int(predicted.sum())}
    if membrane is not None and membrane_probability is not None:
        true, called = np.asarray(membrane).astype(int), (np.asarray(membrane_probability) >= 0.5).astype(int)
        report["membrane"] = {"accuracy": float(metrics.accuracy_score(true, called)),
                              "mcc": float(metrics.matthews_corrcoef(true, called)), "support": int(true.sum())}
    return report


def multilabel_markdown(report: dict, title: str) -> str:
    """A multi-label report as Markdown: the summary line, then per-location scores."""
    lines = [f"# {title}", "",
             f"Micro F1 **{report['micro_f1']:.3f}**, macro F1 {report['macro_f1']:.3f}, subset accuracy "
             f"{report['subset_accuracy']:.3f}, Jaccard {report['jaccard']:.3f} on {report['n']} proteins"
             + (f"; membrane accuracy {report['membrane']['accuracy']:.3f}, MCC {report['membrane']['mcc']:.3f}"
                if "membrane" in report else "") + ".", "",
             "| location | support | predicted | precision | recall | F1 | MCC |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, row in report["per_class"].items():
        lines.append(f"| {name} | {row['support']} | {row['predicted']} | {row['precision']:.3f} | "
                     f"{row['recall']:.3f} | {row['f1']:.3f} | {row['mcc']:.3f} |")
    return "\n".join(lines) + "\n"
