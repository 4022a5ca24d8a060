"""Architecture and loss levers for the DeepLoc 2.0 model, each scored the same way on the validation partition.

Usage:
    python benchmarks/deeploc2_levers.py --run baseline=runs/deeploc2/levers/baseline \\
        --run terminal=runs/deeploc2/levers/terminal [--run NAME=RUN ...] [--results deeploc2-levers]

Every run is `protloc train --dataset deeploc2 --fold 4 --exclude-fold 0 --epochs 15 --seed 0` plus its lever: trained
on partitions 1-3, scored here on partition 4, partition 0 never read (it stays for the final cross-validation; the
choice protocol of docs/deeploc2.md). The first run is the reference the others are compared with.

Scores, network alone (scikit-learn): micro / macro F1, subset accuracy and Jaccard at per-location thresholds
(:func:`protloc.evidence.thresholds.fit`, best micro F1, at least one location a protein) cross-fitted within
partition 4 (fitted
on one half, applied to the other, a fixed random split shared by every run); average precision, micro- and
macro-averaged over the locations (threshold-free); per-location MCC at those thresholds; membrane accuracy at 0.5;
exact-match hits against the first run by an exact McNemar test; parameters and median epoch seconds (on a machine
shared with other work, so only a rough cost). Writes benchmarks/results/NAME.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

import numpy as np

from common import command, machine, mcnemar_lines, write_results
from protloc.data import datasets
from protloc.evidence import thresholds
from protloc.models import inference, zoo
from protloc.prediction import loading
from protloc.training import evaluation, loop

SPLIT_SEED = 0
"""Seed of the split of the validation partition into the two halves the thresholds are cross-fitted on."""
SCORES = ("micro_f1", "macro_f1", "subset_accuracy", "jaccard", "micro_ap", "macro_ap", "membrane_accuracy")


def lever_of(config) -> str:
    """What a run changes against the recipe's defaults, in words (its terminal windows, loss)."""
    parts = []
    n_terminal, c_terminal = config.hparams["terminal_windows"]
    if n_terminal or c_terminal:
        parts.append(f"terminal windows {n_terminal} N + {c_terminal} C residues")
    if config.loss != "crossentropy":
        parts.append(f"{config.loss} loss")
    return ", ".join(parts) or "none (the shipped recipe)"


def score(run: pathlib.Path, examples: list, labels: np.ndarray, membrane: np.ndarray, halves: np.ndarray,
          class_names) -> tuple[dict, np.ndarray]:
    """A run's scores on ``examples`` (module docstring) and whether each protein's locations were exactly right."""
    from sklearn import metrics

    network = loading.load_network(run)
    found = inference.Forward(network)(examples)
    probabilities, membrane_probability = found[zoo.LOCATIONS_OUTPUT], found[zoo.MEMBRANE_OUTPUT][:, 0]
    decided = thresholds.cross_fitted(probabilities, labels, halves)
    report = evaluation.multilabel_report(labels, decided, class_names, membrane, membrane_probability)
    history = loop.read_history(run)
    row = {name: report[name] for name in ("micro_f1", "macro_f1", "subset_accuracy", "jaccard")}
    row.update(micro_ap=float(metrics.average_precision_score(labels, probabilities, average="micro")),
               macro_ap=float(metrics.average_precision_score(labels, probabilities, average="macro")),
               membrane_accuracy=report["membrane"]["accuracy"],
               mcc={name: report["per_class"][name]["mcc"] for name in class_names},
               parameters=int(network.count_params()),
               median_epoch_seconds=statistics.median(r["epoch_seconds"] for r in history) if history else None)
    return row, np.all(decided == labels.astype(bool), axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=RUN",
                        help="a lever's run directory (repeatable; the first is the reference)")
    parser.add_argument("--results", default="deeploc2-levers", help="results file name (default: %(default)s)")
    parser.add_argument("--data-dir", help="DeepLoc 2.0's files (default: PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    runs = dict(item.split("=", 1) for item in args.run)
    configs = {name: loop.read_config(run) for name, run in runs.items()}
    first = next(iter(configs.values()))
    for name, config in configs.items():
        if config.dataset != "deeploc2" or config.fold is None or (config.fold, config.exclude_folds, config.seed,
                                                                   config.epochs) != (
                first.fold, first.exclude_folds, first.seed, first.epochs):
            raise SystemExit(f"{runs[name]}: not a deeploc2 run of the same protocol as {next(iter(runs.values()))} "
                             f"(validation fold, excluded folds, seed, epochs)")
    spec = datasets.get("deeploc2")
    examples = spec.examples("train", [first.fold], args.data_dir)
    labels = datasets.labels_of(examples, len(spec.class_names))
    membrane = np.array([e.membrane for e in examples])
    halves = np.random.default_rng(SPLIT_SEED).permutation(len(examples)) % 2
    rows, exact = {}, {}
    for name, run in runs.items():
        rows[name], exact[name] = score(pathlib.Path(run), examples, labels, membrane, halves, spec.class_names)
        rows[name]["lever"] = lever_of(configs[name])
    reference = next(iter(runs))
    tests = {name: evaluation.mcnemar_exact(exact[name], exact[reference]) for name in runs if name != reference}
    results = {"command": command(), "machine": machine(), "validation_partition": first.fold,
               "excluded_partitions": list(first.exclude_folds), "proteins": len(examples),
               "support": {name: int(labels[:, i].sum()) for i, name in enumerate(spec.class_names)},
               "training": {"recipe": first.recipe, "epochs": first.epochs, "seed": first.seed},
               "runs": runs, "levers": rows, "exact_match_tests": tests}
    write_results(args.results, results, markdown(results, spec.class_names))
    print(markdown(results, spec.class_names))
    return 0


def markdown(results: dict, class_names) -> str:
    runs = list(results["levers"])
    training_set = sorted(set(range(5)) - {results["validation_partition"], *results["excluded_partitions"]})
    lines = ["# Levers for the DeepLoc 2.0 model (choices on the validation partition)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Every run: recipe {results['training']['recipe']}, {results['training']['epochs']} epochs, seed "
             f"{results['training']['seed']}, trained on partitions {', '.join(map(str, training_set))}; scored on "
             f"partition {results['validation_partition']} ({results['proteins']:,} proteins); partition(s) "
             f"{', '.join(map(str, results['excluded_partitions']))} never read. Network alone; thresholds "
             "cross-fitted on halves of the partition; average precision threshold-free.", "",
             "| run | lever | micro F1 | macro F1 | subset accuracy | Jaccard | micro AP | macro AP | membrane "
             "accuracy | parameters | median epoch s |", "|---|---|" + "---:|" * 9]
    for name in runs:
        row = results["levers"][name]
        seconds = "" if row["median_epoch_seconds"] is None else f"{row['median_epoch_seconds']:.0f}"
        lines.append(f"| {name} | {row['lever']} | " + " | ".join(f"{row[s]:.3f}" for s in SCORES)
                     + f" | {row['parameters']:,} | {seconds} |")
    lines += ["", "Per location, MCC (support in partition " + str(results["validation_partition"]) + "):", "",
              "| location | support | " + " | ".join(runs) + " |", "|---|---:|" + "---:|" * len(runs)]
    for location in class_names:
        lines.append(f"| {location} | {results['support'][location]} | "
                     + " | ".join(f"{results['levers'][name]['mcc'][location]:.3f}" for name in runs) + " |")
    lines += mcnemar_lines(results["exact_match_tests"], f"Exact-match hits against {runs[0]} (exact McNemar test):",
                           against=runs[0])
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
