"""C-terminal sorting motifs as evidence beside the DeepLoc 2.0 network, scored on a partition no choice has looked
at: a lever measured before anything of it is built into the package.

Usage:
    python benchmarks/deeploc2_motifs.py --cv-run benchmarks/weights/deeploc2-fold1 ... \\
        --cv-run benchmarks/weights/deeploc2-fold4 --exclude-partition 0 --score-partition 4 \\
        --arm PTS1=PTS1 --arm "all three=PTS1,(K/H/R)DEL,KKXX" --candidates 99 --candidates 999

The motifs (:data:`MOTIFS`) are textbook signals at the very end of the chain: the peroxisomal targeting signal 1
and the ER retrieval signals. A network reads them from one-hot input in principle; with a few hundred peroxisomal
proteins to learn from, it may not. Each motif of an arm shifts its location's log-odds for the proteins that carry
it,

    p'_c = sigmoid(logit(p_c) + sum of the shifts of the location's motifs the protein carries)

by a shift fitted on the fitting partitions (:func:`fit_shifts`: per motif, the one-parameter logistic regression of
its location's label on its carriers, with their network log-odds as offset and an L2 penalty of 1): a likelihood
ratio on top of what the network already says.

The protocol of the homology settings (benchmarks/deeploc2_homology.py), for a choice that needs no training: the
cross-validation runs' out-of-fold probabilities of partitions 1-4, partition 0 never read (nor searched, nor
scored). The shifts, then the fusion rule and the thresholds (best micro F1, as the package fits them) are fitted on
partitions 1-3 and applied to partition 4, network alone and fused with homology (the package's MMseqs2 settings;
:func:`common.fused_decisions`). Each grid of candidate thresholds (``--candidates``: that many quantiles of a
location's probabilities, up to the 99.9th; 99 is the package's) is scored with every arm: 99 quantiles cannot put a
threshold between a location's top 0.1% and top 1.1%, which is where a location of 1% of the proteins (peroxisome)
is decided.

Scores (scikit-learn): micro / macro F1, subset accuracy, Jaccard and per-location MCC on the scored partition; each
motif's carriers and fitted shift; each arm's exact-match hits against the network without motifs on the same grid
(fused; exact McNemar test). Writes benchmarks/results/deeploc2-motifs.{json,md}.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys

import numpy as np

from common import (PARTITION_SCORES, add_partition_options, command, fused_decisions, mcnemar_lines, out_of_fold,
                    partition_hits, partition_scores, read_partitions, write_results)
from protloc.data import datasets
from protloc.training import evaluation
from protloc.utils import runtime

NONE = "no motifs"
FLOOR = 1e-6
"""Probabilities are clipped to [FLOOR, 1 - FLOOR] before their log-odds are taken."""
PENALTY = 1.0
"""L2 penalty on each shift (keeps a motif with few carriers near 0)."""


@dataclasses.dataclass(frozen=True)
class Motif:
    """A sorting motif at the C-terminus: its name, the location it points to (a DeepLoc 2.0 class name), the
    regular expression it matches at the end of the sequence, and its reference."""

    name: str
    location: str
    pattern: str
    reference: str

    def carried_by(self, sequence: str) -> bool:
        return re.search(self.pattern + "$", sequence) is not None


MOTIFS = {motif.name: motif for motif in (
    Motif("PTS1", "peroxisome", "[SAC][KRH][LM]", "Gould et al. 1989, J Cell Biol 108:1657"),
    Motif("(K/H/R)DEL", "er", "[KHR]DEL", "Munro & Pelham 1987, Cell 48:899"),
    Motif("KKXX", "er", "K.?K..", "Jackson et al. 1990, EMBO J 9:3153"),
)}


def arm(text: str) -> tuple[str, tuple]:
    """``NAME=MOTIF,MOTIF,...`` as (name, the :data:`MOTIFS` named)."""
    name, _, listed = text.partition("=")
    chosen = [item.strip() for item in listed.split(",") if item.strip()]
    if not name or not chosen or any(item not in MOTIFS for item in chosen):
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=MOTIF,MOTIF,... with motifs among {', '.join(MOTIFS)}")
    return name, tuple(MOTIFS[item] for item in chosen)


def carried(sequences, motifs) -> np.ndarray:
    """bool ``(n, len(motifs))``: which sequence ends with which motif."""
    sequences = list(sequences)
    return np.array([[motif.carried_by(s) for motif in motifs] for s in sequences],
                    dtype=bool).reshape(len(sequences), len(motifs))


def logit(probabilities: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probabilities, np.float64), FLOOR, 1 - FLOOR)
    return np.log(clipped) - np.log1p(-clipped)


def one_shift(offsets: np.ndarray, labels: np.ndarray) -> float:
    """The ``a`` of the smallest ``sum log loss(sigmoid(offsets + a), labels) + PENALTY * a**2 / 2`` (Newton's
    method; the function is convex)."""
    shift = 0.0
    for _ in range(100):
        p = 1 / (1 + np.exp(-(offsets + shift)))
        step = (np.sum(p - labels) + PENALTY * shift) / (np.sum(p * (1 - p)) + PENALTY)
        shift -= step
        if abs(step) < 1e-9:
            break
    return float(shift)


def fit_shifts(network: np.ndarray, found: np.ndarray, labels: np.ndarray, motifs, class_names) -> np.ndarray:
    """float64 ``(len(motifs),)``: each motif's shift (module docstring), fitted in turn with the earlier motifs of
    its location in place; ``network`` ``(n, classes)``, ``found`` :func:`carried` ``(n, motifs)``, ``labels``
    ``(n, classes)`` 0/1."""
    shifts = np.zeros(len(motifs))
    for m, motif in enumerate(motifs):
        c = class_names.index(motif.location)
        offsets = logit(network[:, c]) + shifted_logits(found, shifts, motifs, class_names)[:, c]
        rows = found[:, m]
        shifts[m] = one_shift(offsets[rows], labels[rows, c]) if rows.any() else 0.0
    return shifts


def shifted_logits(found: np.ndarray, shifts: np.ndarray, motifs, class_names) -> np.ndarray:
    """float64 ``(n, classes)``: each protein's shift of each location's log-odds."""
    total = np.zeros((len(found), len(class_names)))
    for m, motif in enumerate(motifs):
        total[:, class_names.index(motif.location)] += found[:, m] * shifts[m]
    return total


def apply(network: np.ndarray, found: np.ndarray, shifts: np.ndarray, motifs, class_names) -> np.ndarray:
    """The network's probabilities ``(n, classes)`` with the carriers' locations shifted (others unchanged)."""
    total = shifted_logits(found, shifts, motifs, class_names)
    return np.where(total != 0, 1 / (1 + np.exp(-(logit(network) + total))), network).astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_partition_options(parser)
    parser.add_argument("--arm", type=arm, action="append", required=True, metavar="NAME=MOTIF,MOTIF,...",
                        help="motifs used together (repeatable); every arm is compared with the network without")
    parser.add_argument("--candidates", type=int, action="append", metavar="N",
                        help="a grid of N candidate thresholds per location (repeatable; default: 99, the package's)")
    args = parser.parse_args(argv)
    spec = datasets.get("deeploc2")
    names = list(spec.class_names)
    grids = args.candidates or [99]
    if any(n < 2 for n in grids):
        parser.error("--candidates: at least 2")
    runs, read, train = read_partitions(parser, args, spec)

    scored, others = args.score_partition, [k for k in read if k != args.score_partition]
    by_fold = {k: [e for e in train if e.fold == k] for k in read}
    labels = {k: datasets.labels_of(by_fold[k], len(names)) for k in read}
    predicted = {k: out_of_fold(runs[k], by_fold[k]) for k in read}
    hits = {k: partition_hits(train, k, names) for k in read}
    partition_of = {e.id: e.fold for e in train}
    fitting_labels = np.concatenate([labels[k] for k in others])

    arms, motifs_fitted = {NONE: ()}, {}
    arms.update(dict(args.arm))
    rows, exact = {}, {}
    for name, motifs in arms.items():
        found = {k: carried([e.sequence for e in by_fold[k]], motifs) for k in read}
        shifts = fit_shifts(np.concatenate([predicted[k]["locations"] for k in others]),
                            np.concatenate([found[k] for k in others]), fitting_labels, motifs, names)
        shifted = {k: {"locations": apply(predicted[k]["locations"], found[k], shifts, motifs, names)} for k in read}
        if motifs:
            motifs_fitted[name] = [
                {"motif": motif.name, "location": motif.location, "pattern": motif.pattern,
                 "reference": motif.reference, "shift": float(shifts[m]),
                 **{f"{part}_{what}": int(value) for part, ks in (("fitting", others), ("scored", [scored]))
                    for what, value in (("carriers", sum(found[k][:, m].sum() for k in ks)),
                                        ("of_location", sum(labels[k][found[k][:, m], names.index(motif.location)]
                                                            .sum() for k in ks)))}}
                for m, motif in enumerate(motifs)]
        for grid in grids:
            alone, fused, _ = fused_decisions(scored, others, shifted, labels, hits, partition_of, len(names),
                                              candidates=grid)
            key = f"{name}, {grid} candidates"
            rows[key] = {"arm": name, "candidates": grid,
                         "network_alone": partition_scores(labels[scored], alone, names),
                         "fused": partition_scores(labels[scored], fused, names)}
            exact[key] = np.all(fused == labels[scored].astype(bool), axis=1)
    tests = {f"{key} vs {NONE}, {row['candidates']} candidates":
             evaluation.mcnemar_exact(exact[key], exact[f"{NONE}, {row['candidates']} candidates"])
             for key, row in rows.items() if row["arm"] != NONE}
    results = {"command": command(), "machine": runtime.describe_machine(),
               "score_partition": scored, "fitted_on": others,
               "excluded_partitions": sorted(args.exclude_partition), "proteins": len(by_fold[scored]),
               "cv_runs": {str(k): str(run) for k, run in runs.items()}, "rows": rows, "motifs": motifs_fitted,
               "exact_match_tests": tests}
    write_results("deeploc2-motifs", results, markdown(results, names))
    print(markdown(results, names))
    return 0


def markdown(results: dict, class_names) -> str:
    rows = results["rows"]
    lines = ["# C-terminal sorting motifs beside the DeepLoc 2.0 network (scored on a partition no choice looked at)",
             "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Motif shifts, fusion rule and thresholds (best micro F1 among the candidates) fitted on partitions "
             f"{', '.join(map(str, results['fitted_on']))}, scored on partition {results['score_partition']} "
             f"({results['proteins']:,} proteins); partition(s) {', '.join(map(str, results['excluded_partitions']))} "
             "never read. The same network probabilities (the cross-validation runs', out of fold) for every row.", "",
             "| motifs | candidate thresholds | network alone: micro F1 | macro F1 | subset accuracy | fused: micro F1 "
             "| macro F1 | subset accuracy | Jaccard |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows.values():
        alone, fused = row["network_alone"], row["fused"]
        lines.append(f"| {row['arm']} | {row['candidates']} | "
                     + " | ".join(f"{alone[s]:.3f}" for s in PARTITION_SCORES[:3]) + " | "
                     + " | ".join(f"{fused[s]:.3f}" for s in PARTITION_SCORES) + " |")
    lines += ["", "Per location, MCC fused (network alone):", "",
              "| location | " + " | ".join(f"{row['arm']}, {row['candidates']}" for row in rows.values()) + " |",
              "|---|" + "---:|" * len(rows)]
    for location in class_names:
        lines.append(f"| {location} | " + " | ".join(
            f"{row['fused']['mcc'][location]:.3f} ({row['network_alone']['mcc'][location]:.3f})"
            for row in rows.values()) + " |")
    lines += ["", "Motifs (at the C-terminus): carriers, and of them in the motif's location, in the fitting "
              "partitions and the scored one; the fitted shift of the location's log-odds:", "",
              "| motifs | motif | pattern | location | carriers, fitting | of the location | carriers, scored | "
              "of the location | shift | reference |", "|---|---|---|---|---:|---:|---:|---:|---:|---|"]
    for name, found in results["motifs"].items():
        for row in found:
            lines.append(f"| {name} | {row['motif']} | `{row['pattern']}` | {row['location']} | "
                         f"{row['fitting_carriers']} | {row['fitting_of_location']} | {row['scored_carriers']} | "
                         f"{row['scored_of_location']} | {row['shift']:+.2f} | {row['reference']} |")
    lines += mcnemar_lines(results["exact_match_tests"], "Exact-match hits, fused, against the network without motifs "
                                                         "on the same grid (exact McNemar test):")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
