"""Fusion of the network's probabilities with homology evidence into the final probabilities.

Single-label (:class:`Fusion`): a log-linear rule (a product of experts). A protein with at least one hit gets, for
each class c,

    score_c = network_weight * log(p_c) + identity_weight * identity_c + bits_weight * relative_bits_c
    fused = softmax(score)

where ``p_c`` is the network's probability (floored at ``FLOOR``), ``identity_c`` the highest sequence identity (0-1)
among its hits of class c and ``relative_bits_c`` the highest bit score among them over the best hit's (both 0 for a
class without a hit; :class:`protloc.evidence.class_evidence.ClassEvidence`). A protein without a hit keeps the
network's
probabilities. The three weights are fitted on training data only (:func:`fit`: the smallest mean log loss, a
convex problem), and saved as JSON beside the model they were fitted for, with how they were fitted.

Multi-label (:class:`MultiLabelFusion`): one logistic rule per location, on the logit of the network's probability
and the location's evidence.

Evidence of a single-label call: homology's own class is the top class of its term (``identity_weight * identity_c +
bits_weight * relative_bits_c``). ``both`` when it is the network's top class too, ``homology`` when the fused call
is homology's class against the network's, ``network`` otherwise (no hit, or the network's call kept against
homology's).
"""
from __future__ import annotations

import dataclasses
import json
import math
import pathlib

import numpy as np

from protloc.evidence.class_evidence import ClassEvidence
from protloc.utils import files

FLOOR = 1e-6
"""Probabilities are floored at this before their log is taken (fusion and log loss)."""
PENALTY = 1e-4
"""L2 penalty on the three weights in :func:`fit` (keeps them finite when homology separates the classes)."""


@dataclasses.dataclass(frozen=True)
class Fusion:
    """The fusion rule's weights (see the module docstring) and how they were obtained.

    Attributes:
        network_weight: exponent of the network's probabilities for a protein with hits (1: as they are).
        identity_weight: weight of each class's highest hit identity (per unit identity, 0-1).
        bits_weight: weight of each class's highest hit bit score relative to the best hit's (0-1).
        provenance: free-form description of the data and command that fitted them.
    """

    network_weight: float
    identity_weight: float
    bits_weight: float
    provenance: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        for name in ("network_weight", "identity_weight", "bits_weight"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"fusion weight {name} must be a finite number, got {getattr(self, name)}")

    def homology_scores(self, evidence: ClassEvidence) -> np.ndarray:
        """Homology's term of the score, float64 ``(n, classes)``."""
        return self.identity_weight * evidence.identity + self.bits_weight * evidence.relative_bits

    def apply(self, network: np.ndarray, evidence: ClassEvidence) -> tuple[np.ndarray, np.ndarray]:
        """``(fused, homology scores)`` of the network's probabilities ``(n, classes)`` and the proteins' class
        evidence (:meth:`homology_scores`, :meth:`fuse`)."""
        scores = self.homology_scores(evidence)
        return self.fuse(network, scores, evidence.has_hit), scores

    def fuse(self, network: np.ndarray, scores: np.ndarray, has_hit: np.ndarray) -> np.ndarray:
        """Fused probabilities float32 ``(n, classes)`` from the network's ``(n, classes)``, homology's scores
        ``(n, classes)`` and ``has_hit`` ``(n,)``; rows without a hit are the network's."""
        network = np.asarray(network, np.float64)
        logits = self.network_weight * np.log(np.maximum(network, FLOOR)) + np.asarray(scores, np.float64)
        fused = _softmax(logits)
        return np.where(np.asarray(has_hit)[:, None], fused, network).astype(np.float32)

    def save(self, path) -> None:
        """Writes the weights and provenance as JSON, atomically."""
        files.write_json(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path) -> "Fusion":
        """Reads weights written by :meth:`save`.

        Raises:
            FileNotFoundError: no file; ValueError: not a fusion file, or a weight that is not a finite number
                (named).
        """
        path = pathlib.Path(path)
        try:
            saved = json.loads(path.read_text())
            weights = [saved[name] for name in ("network_weight", "identity_weight", "bits_weight")]
            if not all(isinstance(w, (int, float)) and not isinstance(w, bool) for w in weights):
                raise TypeError(f"weights must be numbers, got {weights}")
            return cls(*(float(w) for w in weights), dict(saved.get("provenance", {})))
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"{path} is not a fusion parameter file ({type(error).__name__}: {error})") from None


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis, float64."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities floored at ``FLOOR``)."""
    chosen = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.maximum(chosen, FLOOR))))


def fit(network: np.ndarray, evidence: ClassEvidence, labels: np.ndarray, provenance=None,
        iterations: int = 50) -> Fusion:
    """The weights of the smallest mean log loss of the fused probabilities against ``labels`` (plus ``PENALTY``
    times their squared norm), by Newton's method: the loss is convex in the weights (a conditional logit model).
    Proteins without a hit keep the network's probabilities whatever the weights, so only those with hits count.

    Args:
        network: the network's probabilities ``(n, classes)`` on proteins it did not train on.
        evidence: the proteins' class evidence from hits against references other than themselves.
        labels: true classes ``(n,)``.
        provenance: recorded in the result (data, command).
        iterations: most Newton steps.
    """
    labels = np.asarray(labels)
    identity, relative_bits, has_hit = evidence.identity, evidence.relative_bits, evidence.has_hit
    features = np.stack([np.log(np.maximum(np.asarray(network, np.float64), FLOOR)), identity, relative_bits],
                        axis=-1)[has_hit]  # (m, classes, 3)
    chosen = features[np.arange(len(features)), labels[has_hit]]  # (m, 3)

    def objective(weights):
        logits = features @ weights
        top = logits.max(axis=1)
        log_total = top + np.log(np.exp(logits - top[:, None]).sum(axis=1))
        return float(np.mean(log_total - chosen @ weights) + PENALTY * weights @ weights), _softmax(logits)

    weights = np.array([1.0, 0.0, 0.0])
    loss, shares = objective(weights)
    for _ in range(iterations if len(features) else 0):
        expected = np.einsum("mc,mck->mk", shares, features)
        gradient = np.mean(expected - chosen, axis=0) + 2 * PENALTY * weights
        second = np.einsum("mc,mck,mcl->kl", shares, features, features) - expected.T @ expected
        step = np.linalg.solve(second / len(features) + 2 * PENALTY * np.eye(3), gradient)
        scale = 1.0
        while scale > 1e-4:  # backtracking: Newton's full step can overshoot far from the optimum
            candidate_loss, candidate_shares = objective(weights - scale * step)
            if candidate_loss <= loss:
                break
            scale /= 2
        if scale <= 1e-4 or loss - candidate_loss < 1e-10:
            break
        weights, loss, shares = weights - scale * step, candidate_loss, candidate_shares
    rule = Fusion(*(float(weight) for weight in weights))
    fused = rule.fuse(network, rule.identity_weight * identity + rule.bits_weight * relative_bits, has_hit)
    summary = {"proteins": int(len(labels)), "log_loss": log_loss(fused, labels),
               "accuracy_fused": float(np.mean(np.argmax(fused, -1) == labels)),
               "accuracy_network": float(np.mean(np.argmax(network, -1) == labels)),
               "with_hit": int(has_hit.sum())}
    return dataclasses.replace(rule, provenance={**(provenance or {}), "fit": summary})


def evidence(network: np.ndarray, scores: np.ndarray, fused: np.ndarray, has_hit: np.ndarray) -> list[str]:
    """``both``, ``homology`` or ``network`` for each protein (see the module docstring), from the network's
    probabilities, homology's scores and the fused probabilities, each ``(n, classes)``, and ``has_hit`` ``(n,)``."""
    network_call, homology_call, fused_call = (np.argmax(a, -1) for a in (network, scores, fused))
    return ["both" if hit and n == h else "homology" if hit and f == h else "network"
            for n, h, f, hit in zip(network_call, homology_call, fused_call, has_hit)]


@dataclasses.dataclass(frozen=True)
class MultiLabelFusion:
    """Fusion of a multi-label network's per-location probabilities with homology evidence: for each location c
    (one logistic model per location, fitted on held-out training data by :func:`fit_multi_label`), a protein with
    at least one hit gets

        fused_c = sigmoid(w_c0 * logit(p_c) + w_c1 * identity_c + w_c2 * relative_bits_c + w_c3)

    where ``p_c`` is the network's probability (clipped to [FLOOR, 1 - FLOOR]) and identity / relative bits are the
    class evidence of its hits (:class:`protloc.evidence.class_evidence.ClassEvidence`); a protein without a hit keeps
    the
    network's probabilities.

    Attributes:
        weights: float64 ``(classes, 4)``: per location, the weights of logit(p), identity, relative bits and the
            bias.
        provenance: the data and command that fitted them, and the fit's figures.
    """

    weights: np.ndarray
    provenance: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        weights = np.asarray(self.weights, np.float64)
        if weights.ndim != 2 or weights.shape[1] != 4 or not np.all(np.isfinite(weights)):
            raise ValueError(f"multi-label fusion weights must be finite numbers of shape (classes, 4), got "
                             f"{np.shape(self.weights)}")
        object.__setattr__(self, "weights", weights)

    def __eq__(self, other):
        return (isinstance(other, MultiLabelFusion) and np.array_equal(self.weights, other.weights)
                and self.provenance == other.provenance)

    def apply(self, network: np.ndarray, evidence: ClassEvidence) -> tuple[np.ndarray, np.ndarray]:
        """``(fused float32 (n, classes), homology's term of each logit (n, classes))``."""
        network = np.asarray(network, np.float64)
        if network.shape[1] != len(self.weights):
            raise ValueError(f"the fusion has {len(self.weights)} locations, the network {network.shape[1]}")
        scores = self.weights[:, 1] * evidence.identity + self.weights[:, 2] * evidence.relative_bits
        logits = self.weights[:, 0] * _logit(network) + scores + self.weights[:, 3]
        fused = 1 / (1 + np.exp(-logits))
        return np.where(evidence.has_hit[:, None], fused, network).astype(np.float32), scores

    def save(self, path) -> None:
        """Writes the weights and provenance as JSON, atomically."""
        files.write_json(path, {"kind": "multi_label", "weights": self.weights.tolist(),
                                "provenance": self.provenance})


def _logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(probabilities, FLOOR, 1 - FLOOR)
    return np.log(clipped) - np.log1p(-clipped)


def fit_multi_label(network: np.ndarray, evidence: ClassEvidence, labels: np.ndarray, provenance=None,
                    penalty: float = 1.0) -> MultiLabelFusion:
    """Per location, the logistic regression (scikit-learn, L2-penalised with ``C = 1 / penalty``) of the location's
    label on the logit of the network's probability, the identity and the
    relative bits of the proteins with hits; a location whose labels among them are all alike keeps the network's
    probability (weights 1, 0, 0, 0).

    Args:
        network: the network's probabilities ``(n, classes)`` on proteins it did not train on.
        evidence: their class evidence from hits against references other than themselves.
        labels: ``(n, classes)`` 0/1.
        provenance: recorded in the result (data, command).
    """
    from sklearn.linear_model import LogisticRegression

    network, labels = np.asarray(network, np.float64), np.asarray(labels).astype(int)
    rows = evidence.has_hit
    weights = np.tile([1.0, 0.0, 0.0, 0.0], (network.shape[1], 1))
    for c in range(network.shape[1]):
        target = labels[rows, c]
        if len(np.unique(target)) < 2:
            continue
        inputs = np.stack([_logit(network[rows, c]), evidence.identity[rows, c], evidence.relative_bits[rows, c]],
                          axis=1)
        model = LogisticRegression(C=1 / penalty, max_iter=1000).fit(inputs, target)
        weights[c] = [*model.coef_[0], model.intercept_[0]]
    rule = MultiLabelFusion(weights)
    fused = rule.apply(network, evidence)[0]
    summary = {"proteins": int(len(labels)), "with_hit": int(rows.sum()),
               "log_loss_network": _binary_log_loss(network, labels),
               "log_loss_fused": _binary_log_loss(fused, labels)}
    return dataclasses.replace(rule, provenance={**(provenance or {}), "fit": summary})


def _binary_log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    p = np.clip(np.asarray(probabilities, np.float64), FLOOR, 1 - FLOOR)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log1p(-p)))


def load(path) -> "Fusion | MultiLabelFusion":
    """The fusion rule saved in ``path``: a multi-label one (``"kind": "multi_label"``) or :class:`Fusion`.

    Raises:
        FileNotFoundError: no file; ValueError: not a fusion file, or weights that are not finite numbers (named).
    """
    path = pathlib.Path(path)
    try:
        saved = json.loads(path.read_text())
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as error:
        raise ValueError(f"{path} is not a fusion parameter file ({type(error).__name__}: {error})") from None
    if not (isinstance(saved, dict) and saved.get("kind") == "multi_label"):
        return Fusion.load(path)
    try:
        weights = np.array(saved["weights"], dtype=np.float64)
        return MultiLabelFusion(weights, dict(saved.get("provenance", {})))
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{path} is not a fusion parameter file ({type(error).__name__}: {error})") from None
