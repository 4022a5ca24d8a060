"""Fusion of the network's probabilities with homology votes into the final probabilities.

Rule: a protein whose closest reference protein (best bit score) has sequence identity ``i`` gets

    fused = (1 - w(i)) * network + w(i) * votes,    w(i) = max_weight / (1 + exp(-slope * (i - midpoint)))

and a protein without a hit keeps the network's probabilities (w = 0). ``slope``, ``midpoint`` and
``max_weight`` are fitted on training data only (:func:`fit`, by the smallest mean log loss over a grid), and saved
as JSON beside the model they were fitted for, with how they were fitted.

Evidence of a call: ``both`` when the network's and the votes' top classes agree, ``homology`` when the fused call
is the votes' top class against the network's, ``network`` otherwise (no hit, or the network's call kept against
the votes).
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import pathlib

import numpy as np

from protloc import files

GRID = {"slope": (5.0, 10.0, 20.0, 40.0, 80.0), "midpoint": tuple(np.round(np.arange(0.0, 0.95, 0.05), 2)),
        "max_weight": (0.5, 0.7, 0.8, 0.9, 0.95, 1.0)}
"""The values :func:`fit` tries for each parameter."""
FLOOR = 1e-6
"""Probabilities are floored at this in the log loss."""


@dataclasses.dataclass(frozen=True)
class Fusion:
    """The fusion rule's parameters (see the module docstring) and how they were obtained.

    Attributes:
        slope: steepness of the weight in identity (per unit identity, 0-1).
        midpoint: identity at which the weight is half of ``max_weight``.
        max_weight: weight of the votes at full identity.
        provenance: free-form description of the data and command that fitted them.
    """

    slope: float
    midpoint: float
    max_weight: float
    provenance: dict = dataclasses.field(default_factory=dict)

    def weight(self, identity: np.ndarray) -> np.ndarray:
        """Weight of the votes ``(n,)`` for best-hit identities ``(n,)`` (NaN = no hit -> 0)."""
        identity = np.asarray(identity, dtype=np.float64)
        weight = self.max_weight / (1 + np.exp(-self.slope * (np.nan_to_num(identity, nan=0.0) - self.midpoint)))
        return np.where(np.isnan(identity), 0.0, weight)

    def fuse(self, network: np.ndarray, votes: np.ndarray, identity: np.ndarray) -> np.ndarray:
        """Fused probabilities ``(n, classes)`` from the network's ``(n, classes)``, the votes ``(n, classes)``
        and the best-hit identities ``(n,)`` (NaN where a protein has no hit)."""
        weight = self.weight(identity)[:, None]
        return ((1 - weight) * np.asarray(network, np.float64) + weight * np.asarray(votes, np.float64)).astype(
            np.float32)

    def save(self, path) -> None:
        """Writes the parameters and provenance as JSON, atomically."""
        files.write_json(path, dataclasses.asdict(self))

    @classmethod
    def load(cls, path) -> "Fusion":
        """Reads parameters written by :meth:`save`.

        Raises:
            FileNotFoundError: no file; ValueError: not a fusion file (named).
        """
        path = pathlib.Path(path)
        try:
            saved = json.loads(path.read_text())
            return cls(float(saved["slope"]), float(saved["midpoint"]), float(saved["max_weight"]),
                       dict(saved.get("provenance", {})))
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a fusion parameter file ({type(error).__name__}: {error})") from None


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities floored at ``FLOOR``)."""
    chosen = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.maximum(chosen, FLOOR))))


def fit(network: np.ndarray, votes: np.ndarray, identity: np.ndarray, labels: np.ndarray, provenance=None,
        grid=GRID) -> Fusion:
    """The grid point with the smallest mean log loss of the fused probabilities against ``labels``.

    Args:
        network: the network's probabilities ``(n, classes)`` on proteins it did not train on.
        votes: homology votes ``(n, classes)`` of the same proteins against references other than themselves.
        identity: best-hit identity ``(n,)``, NaN for no hit.
        labels: true classes ``(n,)``.
        provenance: recorded in the result (data, command).
    """
    best, best_loss = None, np.inf
    for slope, midpoint, max_weight in itertools.product(grid["slope"], grid["midpoint"], grid["max_weight"]):
        candidate = Fusion(float(slope), float(midpoint), float(max_weight))
        loss = log_loss(candidate.fuse(network, votes, identity), labels)
        if loss < best_loss:
            best, best_loss = candidate, loss
    fused = best.fuse(network, votes, identity)
    summary = {"proteins": int(len(labels)), "log_loss": best_loss,
               "accuracy_fused": float(np.mean(np.argmax(fused, -1) == labels)),
               "accuracy_network": float(np.mean(np.argmax(network, -1) == labels)),
               "with_hit": int(np.sum(~np.isnan(identity)))}
    return dataclasses.replace(best, provenance={**(provenance or {}), "fit": summary})


def evidence(network: np.ndarray, votes: np.ndarray, fused: np.ndarray, has_hit: np.ndarray) -> list[str]:
    """``both``, ``homology`` or ``network`` for each protein (see the module docstring)."""
    network_call, votes_call, fused_call = (np.argmax(a, -1) for a in (network, votes, fused))
    return ["both" if hit and n == v else "homology" if hit and f == v else "network"
            for n, v, f, hit in zip(network_call, votes_call, fused_call, has_hit)]
