"""Levers for the DeepLoc 2.0 model (architecture, loss, the kingdom input), each run scored the same way on the
partition it held out.

Usage:
    python benchmarks/deeploc2_levers.py --run baseline=runs/deeploc2/levers/baseline \\
        --run terminal=runs/deeploc2/levers/terminal [--run NAME=RUN ...] [--results deeploc2-levers]
    python benchmarks/deeploc2_levers.py --run "without the input=benchmarks/weights/deeploc2-fold0" \\
        --run "kingdom given=benchmarks/weights/deeploc2-kingdom-fold0" \\
        --run "kingdom model, not given=benchmarks/weights/deeploc2-kingdom-fold0:withheld" --results kingdom
    python benchmarks/deeploc2_levers.py --run terminal-weighted=runs/deeploc2/levers/terminal-weighted \\
        --objective micro_f1 --objective mcc --objective f1 --results deeploc2-thresholds

Every run is `protloc train --dataset deeploc2 --fold K` with the same excluded partitions and seed, plus its lever
(the epochs too: the reference run's, unless its lever names others); the levers of docs/deeploc2.md were trained on
partitions 1-3 and scored on partition 4, partition 0 never read (it stays for the final cross-validation). The
first run is the reference the others are compared with. A kingdom model (``--kingdom``) is given each protein's
organism group, or none where its run is named ``RUN:withheld`` (as ``protloc predict`` runs it without
``--kingdom``). ``NAME=RUN1+RUN2+...`` is an ensemble, its probabilities the mean of its members' (as a preset of
several runs predicts): members of one recipe, seed and epochs, none trained on the scored partition or an excluded
one (e.g. the inner cross-validation of the training partitions, as the five cross-validation runs stand to one
network on all five).

Scores, network alone (scikit-learn): micro / macro F1, subset accuracy and Jaccard at per-location thresholds
(:func:`protloc.evidence.thresholds.fit`, at least one location a protein; fitted for the best micro F1, or with
``--objective`` each location's own MCC or F1, every run scored with each objective given) cross-fitted within
partition 4 (fitted on one half, applied to the other, a fixed random split shared by every run); average
precision, micro- and macro-averaged over the locations (threshold-free); per-location MCC at those thresholds;
membrane accuracy at 0.5; micro F1 per kingdom; exact-match hits of every pair of runs by an exact McNemar test;
parameters and median epoch seconds (on a machine shared with other work, so only a rough cost). Writes
benchmarks/results/NAME.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

import numpy as np

from common import command, mcnemar_lines, write_results
from protloc.data import datasets, kingdoms
from protloc.data.features import KINGDOMS
from protloc.evidence import thresholds
from protloc.models import inference, recipes, zoo
from protloc.prediction import loading
from protloc.training import evaluation, loop
from protloc.utils import runtime

SPLIT_SEED = 0
"""Seed of the split of the validation partition into the two halves the thresholds are cross-fitted on."""
OBJECTIVE_NAMES = {"micro_f1": "micro-F1 thresholds", "mcc": "MCC thresholds", "f1": "per-location F1 thresholds"}
SCORES = ("micro_f1", "macro_f1", "subset_accuracy", "jaccard", "micro_ap", "macro_ap", "membrane_accuracy")


ENSEMBLE = "+"
"""Joins the members of an ensemble run in ``--run NAME=RUN1+RUN2``."""


def lever_of(config, epochs: int | None = None) -> str:
    """What a run changes against its recipe's defaults (an R-LSTM with the registry's hyper-parameters and the
    recipe's own, at the recipe's learning rate), in words: its terminal windows, loss, kingdom input and sorting-signal
    head, then any other family, hyper-parameter or learning rate it sets (e.g. a searched configuration's), and its
    epochs where they are not ``epochs`` (the reference run's)."""
    recipe = recipes.RECIPES[config.recipe]
    defaults = zoo.resolve_hparams(**recipe.hparams)
    parts = []
    n_terminal, c_terminal = config.hparams["terminal_windows"]
    if n_terminal or c_terminal:
        parts.append(f"terminal windows {n_terminal} N + {c_terminal} C residues")
    if config.loss != "crossentropy":
        parts.append(f"{config.loss} loss")
    if config.hparams["kingdom"]:
        parts.append("kingdom input")
    if config.hparams.get("signals"):
        parts.append("sorting-signal head")
    if config.model != "rlstm":
        parts.append(config.model)
    described = {"terminal_windows", "kingdom", "signals", "conv_widths"}
    for name, value in config.hparams.items():
        if name in described or value == defaults.get(name):
            continue
        if name == "conv_filters":
            value = "/".join(map(str, value)) + " (widths " + "/".join(map(str, config.hparams["conv_widths"])) + ")"
        parts.append(f"{name.replace('_', ' ')} {str(value).lower() if isinstance(value, bool) else value}")
    if config.learning_rate != recipe.learning_rate:
        parts.append(f"learning rate {config.learning_rate:g}")
    if epochs is not None and config.epochs != epochs:
        parts.append(f"{config.epochs} epochs")
    return ", ".join(parts) or "none (the shipped recipe)"


def ensemble_lever(configs: list, num_folds: int, epochs: int) -> str:
    """:func:`lever_of` an ensemble's members, with how many there are and the partitions each was trained on."""
    trained = ["+".join(map(str, sorted(set(range(num_folds)) - {c.fold, *c.exclude_folds}))) for c in configs]
    return (f"mean of {len(configs)} networks (trained on partitions {', '.join(trained)}), "
            f"{lever_of(configs[0], epochs)}")


def outputs(runs: list, examples: list, withheld: bool = False) -> dict:
    """The outputs on ``examples`` of a run, or of an ensemble of ``runs`` (:func:`protloc.models.zoo.build_ensemble`:
    the mean of its members' probabilities), a kingdom model given each protein's kingdom, or none when ``withheld``:
    ``locations`` (n, classes) and ``membrane`` (n,) probabilities, and the ``parameters`` (all members')."""
    networks = [loading.load_network(run) for run in runs]
    network = networks[0] if len(networks) == 1 else zoo.build_ensemble(networks)
    if loop.read_config(runs[0]).hparams["kingdom"]:  # an ensemble's members share their recipe (main checks)
        examples = kingdoms.with_kingdoms(examples, withheld=withheld)
    found = inference.Forward(network)(examples)
    return {"locations": found[zoo.LOCATIONS_OUTPUT], "membrane": found[zoo.MEMBRANE_OUTPUT][:, 0],
            "parameters": int(network.count_params())}


def score(runs: list, found: dict, examples: list, labels: np.ndarray, membrane: np.ndarray,
          halves: np.ndarray, class_names, objective: str = "micro_f1") -> tuple[dict, np.ndarray]:
    """A run's (or an ensemble's ``runs``') scores from its ``outputs`` on ``examples`` (module docstring), its
    thresholds fitted for ``objective`` (:data:`protloc.evidence.thresholds.OBJECTIVES`), and whether each protein's
    locations were exactly right."""
    from sklearn import metrics

    probabilities, membrane_probability = found["locations"], found["membrane"]
    decided = thresholds.cross_fitted(probabilities, labels, halves, objective)
    report = evaluation.multilabel_report(labels, decided, class_names, membrane, membrane_probability)
    history = [epoch for run in runs for epoch in loop.read_history(run)]
    kingdom_of = np.array([e.kingdom for e in examples])
    row = {name: report[name] for name in ("micro_f1", "macro_f1", "subset_accuracy", "jaccard")}
    row.update(micro_ap=float(metrics.average_precision_score(labels, probabilities, average="micro")),
               macro_ap=float(metrics.average_precision_score(labels, probabilities, average="macro")),
               membrane_accuracy=report["membrane"]["accuracy"],
               micro_f1_by_kingdom={kingdom: float(metrics.f1_score(labels[kingdom_of == kingdom],
                                                                     decided[kingdom_of == kingdom], average="micro",
                                                                     zero_division=0))
                                    for kingdom in KINGDOMS if np.any(kingdom_of == kingdom)},
               mcc={name: report["per_class"][name]["mcc"] for name in class_names},
               parameters=found["parameters"],
               median_epoch_seconds=statistics.median(r["epoch_seconds"] for r in history) if history else None)
    return row, np.all(decided == labels.astype(bool), axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="NAME=RUN",
                        help="a lever's run directory, or RUN1+RUN2+... an ensemble's (repeatable; the first, a "
                             "single run, is the reference)")
    parser.add_argument("--objective", action="append", choices=thresholds.OBJECTIVES,
                        help="what the thresholds are fitted for (repeatable: every run is scored with each; "
                             "default: micro_f1)")
    parser.add_argument("--results", default="deeploc2-levers", help="results file name (default: %(default)s)")
    parser.add_argument("--data-dir", help="DeepLoc 2.0's files (default: PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    runs = dict(item.split("=", 1) for item in args.run)
    withheld = {name: run.endswith(":withheld") for name, run in runs.items()}
    members = {name: [pathlib.Path(member) for member in run.removesuffix(":withheld").split(ENSEMBLE)]
               for name, run in runs.items()}
    configs = {name: [loop.read_config(member) for member in found] for name, found in members.items()}
    spec = datasets.get("deeploc2")
    reference = next(iter(runs))
    if len(configs[reference]) > 1:
        parser.error(f"the first run ({reference}) is the reference: give a single run")
    first = configs[reference][0]
    unseen = {first.fold, *first.exclude_folds}
    for name, found in configs.items():
        for member, config in zip(members[name], found):
            single = len(found) == 1 and (config.fold, config.exclude_folds) == (first.fold, first.exclude_folds)
            trained = set(range(spec.num_folds)) - {config.fold, *config.exclude_folds}
            if config.dataset != "deeploc2" or config.fold is None or config.seed != first.seed or not (
                    single or (len(found) > 1 and not trained & unseen)):
                parser.error(f"{member}: not a deeploc2 run of the same protocol as {members[reference][0]} "
                             "(validation fold, excluded folds, seed; an ensemble's members trained on "
                             "neither the scored partition nor an excluded one)")
        if len({lever_of(config, first.epochs) for config in found}) > 1:
            parser.error(f"{runs[name]}: the members of an ensemble differ in their recipe")
    examples = spec.examples("train", [first.fold], args.data_dir)
    labels = datasets.labels_of(examples, len(spec.class_names))
    membrane = np.array([e.membrane for e in examples])
    halves = np.random.default_rng(SPLIT_SEED).permutation(len(examples)) % 2
    objectives = args.objective or ["micro_f1"]
    rows, exact = {}, {}
    for name in runs:
        found = outputs(members[name], examples, withheld[name])
        lever = lever_of(configs[name][0], first.epochs) if len(configs[name]) == 1 else ensemble_lever(
            configs[name], spec.num_folds, first.epochs)
        for objective in objectives:
            row = name if len(objectives) == 1 else f"{name}, {OBJECTIVE_NAMES[objective]}"
            rows[row], exact[row] = score(members[name], found, examples, labels, membrane, halves,
                                          spec.class_names, objective)
            rows[row]["lever"] = lever + (", not given" if withheld[name] else "")
            rows[row]["objective"] = objective
    names = list(rows)
    tests = {f"{names[b]} vs {names[a]}": evaluation.mcnemar_exact(exact[names[b]], exact[names[a]])
             for a in range(len(names)) for b in range(a + 1, len(names))}
    results = {"command": command(), "machine": runtime.describe_machine(), "validation_partition": first.fold,
               "excluded_partitions": list(first.exclude_folds), "proteins": len(examples),
               "support": {name: int(labels[:, i].sum()) for i, name in enumerate(spec.class_names)},
               "proteins_by_kingdom": {k: sum(e.kingdom == k for e in examples) for k in KINGDOMS},
               "training": {"recipe": first.recipe, "epochs": first.epochs, "seed": first.seed},
               "runs": runs, "levers": rows, "exact_match_tests": tests}
    write_results(args.results, results, markdown(results, spec.class_names))
    print(markdown(results, spec.class_names))
    return 0


def markdown(results: dict, class_names) -> str:
    runs = list(results["levers"])
    training_set = sorted(set(range(5)) - {results["validation_partition"], *results["excluded_partitions"]})
    lines = ["# Levers for the DeepLoc 2.0 model (scored on the partition the runs held out)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Every run: recipe {results['training']['recipe']}, {results['training']['epochs']} epochs (unless its "
             f"lever says otherwise), seed "
             f"{results['training']['seed']}, trained on partitions {', '.join(map(str, training_set))}; scored on "
             f"partition {results['validation_partition']} ({results['proteins']:,} proteins)"
             + (f"; partition(s) {', '.join(map(str, results['excluded_partitions']))} never read"
                if results["excluded_partitions"] else "")
             + ". Network alone; thresholds cross-fitted on halves of the partition ("
             + ", ".join(dict.fromkeys(OBJECTIVE_NAMES[r.get("objective", "micro_f1")]
                                       for r in results["levers"].values()))
             + "); average precision threshold-free.", "",
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
    counts = results.get("proteins_by_kingdom", {})
    lines += ["", "Micro F1 per kingdom (" + ", ".join(f"{k} {n:,}" for k, n in counts.items()) + "):", "",
              "| run | " + " | ".join(KINGDOMS) + " |", "|---|" + "---:|" * len(KINGDOMS)]
    for name in runs:
        by_kingdom = results["levers"][name].get("micro_f1_by_kingdom", {})
        lines.append(f"| {name} | " + " | ".join(f"{by_kingdom[k]:.3f}" if k in by_kingdom else "" for k in KINGDOMS)
                     + " |")
    lines += mcnemar_lines(results["exact_match_tests"], "Exact-match hits of each pair (exact McNemar test):")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
