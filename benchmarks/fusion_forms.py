"""How the fusion rule's form was chosen: cross-validation within the held-out training fold.

Usage:
    python benchmarks/fusion_forms.py --fold-run RUN_DIR [--fold-run RUN_DIR ...] [--repeats 5]

The proteins of the training fold that the --fold-run runs held out (all the same fold) get hits from a search of
the whole training split leaving each protein itself out, and the network probabilities of each fold run and of
the mean of all of them. For each of these networks, --repeats times: the fold's proteins are dealt at random into
five parts, each form of the rule is fitted on four parts and scored on the fifth, so every protein is scored once
per repeat by a rule that never saw it. Forms:

* network alone;
* weighted mean (protloc's earlier rule): fused = (1 - w) network + w votes, w = max / (1 + exp(-slope (identity -
  midpoint))) with the best hit's identity (w = 0 without a hit), votes from the hits with at least a share of the
  best hit's bit score, each voting for its class with its bit score to a power; the grid point of the smallest
  log loss (the grid the earlier protloc.evidence.fusion.fit searched);
* log-linear (protloc.evidence.fusion, the shipped rule): softmax(a log network + b class identity + c class bits).

The test split is never read. Writes benchmarks/results/fusion-forms.{json,md}.
"""
from __future__ import annotations

import argparse
import itertools
import pathlib
import sys

import numpy as np

from common import cached_predictions, command, machine, write_results
from protloc.data import datasets
from protloc.evidence import fusion, homology
from protloc.training import fitting, loop

SPEC = datasets.get("multiloc")
PARTS = 5
"""Parts the fold's proteins are dealt into in each repeat."""
WEIGHTED_MEAN_GRID = {"slope": (5.0, 10.0, 20.0, 40.0, 80.0),
                      "midpoint": tuple(np.round(np.arange(0.0, 0.95, 0.05), 2)),
                      "max_weight": (0.5, 0.7, 0.8, 0.9, 0.95, 1.0), "vote_power": (1.0, 3.0),
                      "vote_relative_bits": (0.0, 0.5, 0.8, 0.95)}
"""The values the weighted mean's fit tries for each parameter."""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold-run", type=pathlib.Path, required=True, action="append",
                        help="run directory of a model trained with one training fold held out; repeatable (the "
                             "same fold each time)")
    parser.add_argument("--repeats", type=int, default=5, help="random deals of the fold into parts (default 5)")
    parser.add_argument("--data-dir", help="directory of MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    folds = {loop.read_config(run).fold for run in args.fold_run}
    if None in folds or len(folds) > 1:
        parser.error("every --fold-run must hold out the same training fold")
    fold = folds.pop()
    train = SPEC.examples("train", None, args.data_dir)
    search = homology.HomologySearch(homology.ReferenceSet.from_examples(train, SPEC.class_names))
    held_out = fitting.held_out(train, fold, search)
    labels, hits, evidence = held_out.labels, held_out.hits, held_out.evidence
    networks = {}
    for run in args.fold_run:
        run_labels, networks[str(run)] = cached_predictions(run, args.data_dir, fold=fold)
        if not np.array_equal(run_labels, labels):
            raise SystemExit(f"{run}: its fold {fold} proteins differ from the training split's")
    if len(args.fold_run) > 1:
        networks[f"mean of the {len(args.fold_run)}"] = np.mean(list(networks.values()), axis=0)
    rows = {name: cross_validate(network, hits, evidence, labels, args.repeats) for name, network in networks.items()}
    results = {"command": command(), "machine": machine(), "fold": fold, "proteins": len(labels),
               "with_hit": int(sum(bool(found) for found in hits)), "repeats": args.repeats, "parts": PARTS,
               "networks": rows}
    write_results("fusion-forms", results, markdown(results))
    print(markdown(results))
    return 0


def cross_validate(network: np.ndarray, hits: list, evidence, labels: np.ndarray, repeats: int) -> dict:
    """Per form (``network``, ``weighted_mean``, ``log_linear``): the accuracy and log loss of each repeat's
    out-of-part predictions, and per repeat the proteins right under only one of the two rules."""
    vote_sets = {key: weighted_mean_votes(hits, network.shape[1], *key)
                 for key in itertools.product(WEIGHTED_MEAN_GRID["vote_power"],
                                              WEIGHTED_MEAN_GRID["vote_relative_bits"])}
    forms = {"network": [], "weighted_mean": [], "log_linear": []}
    only = {"log_linear": [], "weighted_mean": []}
    for repeat in range(repeats):
        part = np.random.default_rng(repeat).permutation(len(labels)) % PARTS
        predicted = {name: np.zeros(network.shape) for name in forms}
        for k in range(PARTS):
            fit_rows, score_rows = np.flatnonzero(part != k), np.flatnonzero(part == k)
            mean_rule = fit_weighted_mean(network[fit_rows], {key: (v[fit_rows], i[fit_rows])
                                                              for key, (v, i) in vote_sets.items()}, labels[fit_rows])
            votes, identity = vote_sets[mean_rule[:2]]
            predicted["weighted_mean"][score_rows] = weighted_mean(network[score_rows], votes[score_rows],
                                                                   identity[score_rows], *mean_rule[2:])
            rule = fusion.fit(network[fit_rows], evidence.select(fit_rows), labels[fit_rows])
            predicted["log_linear"][score_rows] = rule.apply(network[score_rows], evidence.select(score_rows))[0]
            predicted["network"][score_rows] = network[score_rows]
        right = {name: np.argmax(p, axis=1) == labels for name, p in predicted.items()}
        for name, p in predicted.items():
            forms[name].append({"accuracy": float(right[name].mean()), "log_loss": fusion.log_loss(p, labels)})
        only["log_linear"].append(int(np.sum(right["log_linear"] & ~right["weighted_mean"])))
        only["weighted_mean"].append(int(np.sum(right["weighted_mean"] & ~right["log_linear"])))
    return {"forms": forms, "right_only_under": only}


def weighted_mean_votes(hits: list, num_classes: int, power: float, share: float) -> tuple[np.ndarray, np.ndarray]:
    """Votes ``(n, classes)`` (hits with at least ``share`` of the best bit score vote for their class with their bit
    score to ``power``, normalised to sum to 1; all 0 without hits) and the best hit's identity ``(n,)`` (NaN
    without a hit)."""
    votes = np.zeros((len(hits), num_classes))
    for row, found in enumerate(hits):
        for hit in found:
            if hit.bits >= share * found[0].bits:
                votes[row, list(hit.labels)] += hit.bits ** power
    total = votes.sum(axis=1, keepdims=True)
    return (np.divide(votes, total, out=votes, where=total > 0),
            np.array([found[0].identity if found else np.nan for found in hits]))


def weighted_mean(network: np.ndarray, votes: np.ndarray, identity: np.ndarray, slope: float, midpoint: float,
                  max_weight: float) -> np.ndarray:
    """``(1 - w) network + w votes`` ``(n, classes)``, w from the best hit's identity (0 where it is NaN)."""
    weight = max_weight / (1 + np.exp(-slope * (np.nan_to_num(identity, nan=0.0) - midpoint)))
    weight = np.where(np.isnan(identity), 0.0, weight)[:, None]
    return (1 - weight) * network + weight * votes


def fit_weighted_mean(network: np.ndarray, vote_sets: dict, labels: np.ndarray) -> tuple:
    """``(power, share, slope, midpoint, max_weight)`` of the smallest log loss over ``WEIGHTED_MEAN_GRID``;
    ``vote_sets`` maps ``(power, share)`` to :func:`weighted_mean_votes` of the same proteins."""
    best, best_loss = None, np.inf
    for key, (votes, identity) in vote_sets.items():
        for slope, midpoint, max_weight in itertools.product(WEIGHTED_MEAN_GRID["slope"], WEIGHTED_MEAN_GRID[
                "midpoint"], WEIGHTED_MEAN_GRID["max_weight"]):
            loss = fusion.log_loss(weighted_mean(network, votes, identity, slope, midpoint, max_weight), labels)
            if loss < best_loss:
                best, best_loss = (*key, slope, midpoint, max_weight), loss
    return best


def markdown(results: dict) -> str:
    lines = ["# Fusion rule forms, cross-validated within a training fold", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             f"Training fold {results['fold']} ({results['proteins']} proteins, {results['with_hit']} with a hit in "
             f"the rest of the training split); {results['repeats']} repeats of {results['parts']}-fold "
             "cross-validation within it: each rule fitted on four parts, scored on the fifth. The test split is not "
             "read. Mean over the repeats (range):", "",
             "| fold network | form | accuracy | log loss | right under this form only (per repeat) |",
             "|---|---|---|---:|---:|"]
    names = {"network": "network alone", "weighted_mean": "weighted mean (earlier rule)",
             "log_linear": "log-linear (shipped rule)"}
    for network, row in results["networks"].items():
        for form, scores in row["forms"].items():
            accuracy = [score["accuracy"] for score in scores]
            loss = np.mean([score["log_loss"] for score in scores])
            only = row["right_only_under"].get(form)
            exclusive = f"{np.mean(only):.1f}" if only is not None else ""
            lines.append(f"| `{network}` | {names[form]} | {np.mean(accuracy):.3f} ({min(accuracy):.3f}-"
                         f"{max(accuracy):.3f}) | {loss:.3f} | {exclusive} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
