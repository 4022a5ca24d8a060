"""Fusion of the network's probabilities with homology votes into the final probabilities.

Rule: a protein whose closest reference protein (best bit score) has sequence identity ``i`` gets

    fused = (1 - w(i)) * network + w(i) * votes,    w(i) = max_weight / (1 + exp(-slope * (i - midpoint)))

and a protein without a hit keeps the network's probabilities (w = 0). The votes are
:func:`protloc.homology.class_votes` of its hits with ``vote_power`` and ``vote_relative_bits``. All five
parameters are fitted on training data only (:func:`fit`, by the smallest mean log loss over a grid), and saved as
JSON beside the model they were fitted for, with how they were fitted.

Evidence of a call: ``both`` when the network's and the votes' top classes agree, ``homology`` when the fused call
is the votes' top class against the network's, ``network`` otherwise (no hit, or the network's call kept against
the votes).
"""
from __future__ import annotations

import dataclasses
import itertools
import json
import pathlib
from typing import Sequence

import numpy as np

from protloc import files, homology

GRID = {"slope": (5.0, 10.0, 20.0, 40.0, 80.0), "midpoint": tuple(np.round(np.arange(0.0, 0.95, 0.05), 2)),
        "max_weight": (0.5, 0.7, 0.8, 0.9, 0.95, 1.0), "vote_power": (1.0, 3.0),
        "vote_relative_bits": (0.0, 0.5, 0.8, 0.95)}
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
        vote_power, vote_relative_bits: how hits vote (:func:`protloc.homology.class_votes`).
        provenance: free-form description of the data and command that fitted them.
    """

    slope: float
    midpoint: float
    max_weight: float
    vote_power: float = 1.0
    vote_relative_bits: float = 0.0
    provenance: dict = dataclasses.field(default_factory=dict)

    def votes(self, hits: Sequence[Sequence[homology.Hit]], num_classes: int) -> tuple[np.ndarray, np.ndarray]:
        """:func:`vote_matrix` of each protein's hits with this rule's vote parameters."""
        return vote_matrix(hits, num_classes, self.vote_power, self.vote_relative_bits)

    def apply(self, network: np.ndarray, hits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(fused, votes, identity)`` of the network's probabilities ``(n, classes)`` and each protein's hits."""
        votes, identity = self.votes(hits, np.shape(network)[1])
        return self.fuse(network, votes, identity), votes, identity

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
                       float(saved.get("vote_power", 1.0)), float(saved.get("vote_relative_bits", 0.0)),
                       dict(saved.get("provenance", {})))
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path} is not a fusion parameter file ({type(error).__name__}: {error})") from None


def vote_matrix(hits: Sequence[Sequence[homology.Hit]], num_classes: int, power: float = 1.0,
                relative_bits: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Votes ``(n, num_classes)`` (:func:`protloc.homology.class_votes`) and best-hit identity ``(n,)`` (NaN
    without a hit) of each protein's hits, best first as :meth:`protloc.homology.HomologySearch.search` gives
    them."""
    votes = np.zeros((len(hits), num_classes), dtype=np.float32)
    for row, found in enumerate(hits):
        votes[row] = homology.class_votes(found, num_classes, power, relative_bits)
    return votes, np.array([found[0].identity if found else np.nan for found in hits], dtype=np.float64)


def log_loss(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log probability of the true class (probabilities floored at ``FLOOR``)."""
    chosen = np.asarray(probabilities)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.mean(np.log(np.maximum(chosen, FLOOR))))


def fit(network: np.ndarray, hits, labels: np.ndarray, provenance=None, grid=GRID) -> Fusion:
    """The grid point with the smallest mean log loss of the fused probabilities against ``labels``.

    Args:
        network: the network's probabilities ``(n, classes)`` on proteins it did not train on.
        hits: each protein's hits (best first) against references other than itself.
        labels: true classes ``(n,)``.
        provenance: recorded in the result (data, command).
    """
    best, best_loss = None, np.inf
    for power, relative in itertools.product(grid["vote_power"], grid["vote_relative_bits"]):
        votes, identity = vote_matrix(hits, np.shape(network)[1], power, relative)
        for slope, midpoint, max_weight in itertools.product(grid["slope"], grid["midpoint"], grid["max_weight"]):
            candidate = Fusion(float(slope), float(midpoint), float(max_weight), float(power), float(relative))
            loss = log_loss(candidate.fuse(network, votes, identity), labels)
            if loss < best_loss:
                best, best_loss = candidate, loss
    fused, _, identity = best.apply(network, hits)
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
