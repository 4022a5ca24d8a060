"""DeepLoc 2.0's protocol on its own data: 5-fold cross-validation over the homology partitions, network alone and
fused with homology, beside DeepLoc 2.0's published figures.

Usage:
    python benchmarks/deeploc2_cv.py --cv-run runs/deeploc2/cv/fold0 ... --cv-run runs/deeploc2/cv/fold4 [--card PRESET]

Each --cv-run is a `protloc train --dataset deeploc2 --fold K` run: trained on the other four partitions, it
predicts partition K (out of fold). Nothing about partition K is chosen on partition K:

* Network alone: partition K's decisions use per-location thresholds (:func:`protloc.evidence.thresholds.fit`: the best
  micro-averaged F1, at least one location per protein) fitted on the out-of-fold predictions of the other four
  partitions, each by its own model.
* Fused: within the cross-validation the reference is the four training partitions only. Each partition J is
  searched once against the other four (MMseqs2, the package's settings, 30 best hits kept); for scoring partition
  K the fusion rule (:func:`protloc.evidence.fusion.fit_multi_label`) and the fused thresholds are fitted on
  partitions J != K,
  each with its model's out-of-fold probabilities and its hits outside J and K (those in K dropped, then the 10 best
  kept), and applied to partition K with its hits in the other four.

* DeepLoc 2.0's own protocol, beside ours for a like-for-like comparison: each fold model's thresholds are fitted
  per location for the largest MCC (:func:`protloc.evidence.thresholds.fit`, ``objective="mcc"``) on its own
  predictions for the four partitions it trained on, and applied to its held-out partition; the network alone, scored
  per fold (mean ± standard deviation over the five, as DeepLoc 2.0 reports).

Scores (scikit-learn): micro and macro F1, subset accuracy, Jaccard, per-location MCC, membrane accuracy and MCC
(network, called at 0.5), over all 28,303 proteins (pooled out-of-fold decisions) and per fold (mean and standard
deviation), and each fold's training time. Writes benchmarks/results/deeploc2-cv.{json,md}; with ``--card``, also
the pooled scores (network alone and fused) into the card of the preset trained with the same recipe on all the
partitions, as its cross-validation figures. ``--results NAME`` names the files otherwise (e.g. the same protocol for
runs with the sorting-signal head, beside the runs without it).
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

from common import command, fused_decisions, out_of_fold, partition_hits, write_results
from protloc.data import datasets
from protloc.evidence import thresholds
from protloc.prediction import preset
from protloc.training import evaluation, loop
from protloc.utils import runtime

PUBLISHED = {"source": "DeepLoc 2.0 (Thumuluri et al. 2022, Table 1), ProtT5 model, 5-fold cross-validation over "
                       "these partitions, as quoted in ../shared/data/deeploc2/README.md",
             "micro_f1": 0.73, "macro_f1": 0.66, "subset_accuracy": 0.55, "jaccard": 0.69}
SCORES = ("micro_f1", "macro_f1", "subset_accuracy", "jaccard")


def epoch_times(run: pathlib.Path) -> dict:
    """A run's training time: the sum of its epochs' wall seconds, its median epoch's, and its epochs."""
    seconds = [row.get("epoch_seconds") or 0.0 for row in loop.read_history(run)]
    return {"seconds": float(sum(seconds)), "median_epoch_seconds": float(np.median(seconds)),
            "epochs": loop.read_config(run).epochs}


def spread_of(per_fold: dict, class_names) -> dict:
    """Mean and standard deviation over folds of each score and of each location's MCC."""
    def summary(values):
        return {"mean": float(np.mean(values)), "sd": float(np.std(values, ddof=1))}

    found = {score: summary([r[score] for r in per_fold.values()]) for score in SCORES}
    found["mcc"] = {name: summary([r["per_class"][name]["mcc"] for r in per_fold.values()]) for name in class_names}
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cv-run", type=pathlib.Path, action="append", required=True,
                        help="a `protloc train --dataset deeploc2 --fold K` run; one per partition")
    parser.add_argument("--data-dir", help="directory of the partition files (default: $PROTLOC_DEEPLOC2_DIR)")
    parser.add_argument("--dataset", default="deeploc2",
                        help="a multi-label data set whose folds are its partitions (default: deeploc2)")
    parser.add_argument("--results", default="deeploc2-cv",
                        help="name of the results files in benchmarks/results (default: deeploc2-cv)")
    parser.add_argument("--card", type=pathlib.Path, metavar="PRESET",
                        help="a preset directory trained with the runs' recipe on every partition: record the pooled "
                             "scores in its card")
    args = parser.parse_args(argv)
    if args.card and preset.load(args.card).card.get("dataset") != args.dataset:
        parser.error(f"--card: {args.card} is not a preset of {args.dataset}")
    spec = datasets.get(args.dataset)
    configs = {loop.read_config(run).fold: run for run in args.cv_run}
    if sorted(configs) != list(range(spec.num_folds)) or len(args.cv_run) != spec.num_folds:
        parser.error(f"give one --cv-run per partition 0-{spec.num_folds - 1}")
    if any(loop.read_config(run).dataset != spec.name for run in args.cv_run):
        parser.error(f"every --cv-run must be a run of {spec.name}")

    train = spec.examples("train", None, args.data_dir)
    classes = len(spec.class_names)
    by_fold = {k: [e for e in train if e.fold == k] for k in range(spec.num_folds)}
    labels = {k: datasets.labels_of(by_fold[k], classes) for k in by_fold}
    membrane = {k: np.array([e.membrane for e in by_fold[k]]) for k in by_fold}
    predicted = {k: out_of_fold(configs[k], by_fold[k]) for k in by_fold}
    partition_of = {e.id: e.fold for e in train}

    start = time.perf_counter()
    hits = {k: partition_hits(train, k, spec.class_names) for k in by_fold}
    search_seconds = time.perf_counter() - start

    official = {}
    for k in by_fold:
        trained_on = [e for j in by_fold if j != k for e in by_fold[j]]
        in_sample = out_of_fold(configs[k], trained_on, cache="training_predictions.npz")
        fitted = thresholds.fit(in_sample["locations"], datasets.labels_of(trained_on, classes), objective="mcc")
        official[str(k)] = evaluation.multilabel_report(labels[k], thresholds.decide(predicted[k]["locations"], fitted),
                                                        spec.class_names, membrane[k], predicted[k]["membrane"])
    official_row = {"per_fold": official, "spread": spread_of(official, spec.class_names)}

    rows = {"network alone": {}, "fused with homology": {}}
    decided = {name: {} for name in rows}
    fusion_fits = {}
    for k in by_fold:
        others = [j for j in by_fold if j != k]
        decided["network alone"][k], decided["fused with homology"][k], fusion_fits[str(k)] = fused_decisions(
            k, others, predicted, labels, hits, partition_of, classes)
    all_labels = np.concatenate([labels[k] for k in by_fold])
    all_membrane = np.concatenate([membrane[k] for k in by_fold])
    all_membrane_probability = np.concatenate([predicted[k]["membrane"] for k in by_fold])
    for name in rows:
        pooled = evaluation.multilabel_report(all_labels, np.concatenate([decided[name][k] for k in by_fold]),
                                              spec.class_names, all_membrane, all_membrane_probability)
        per_fold = {str(k): evaluation.multilabel_report(labels[k], decided[name][k], spec.class_names,
                                                         membrane[k], predicted[k]["membrane"]) for k in by_fold}
        rows[name] = {"pooled": pooled, "per_fold": per_fold, "spread": spread_of(per_fold, spec.class_names)}
    timing = {str(k): epoch_times(configs[k]) for k in by_fold}
    results = {"command": command(), "machine": runtime.describe_machine(),
               "dataset": spec.name, "proteins": len(train),
               "published": PUBLISHED if spec.name == "deeploc2" else None,
               "rows": rows, "deeploc2_protocol": official_row, "fusion": fusion_fits, "training": timing, "search_seconds": search_seconds,
               "run_config": loop.read_config(configs[0]).to_json(configs[0])}
    write_results(args.results, results, markdown(results))
    if args.card:
        record_card(args.card, results, args.results)
    print(markdown(results))
    return 0


def record_card(directory: pathlib.Path, results: dict, name: str = "deeploc2-cv") -> None:
    """The pooled out-of-fold scores of ``results`` as the ``cross-validation`` figures of the preset's card."""
    keys = ("n", *SCORES, "membrane")
    figures = {name.replace(" ", "_"): {key: row["pooled"][key] for key in keys} for name, row in results["rows"].items()}
    figures.update(command=results["command"], results=f"benchmarks/results/{name}.json",
                   source=f"{len(results['rows']['network alone']['per_fold'])}-fold cross-validation of the same "
                          f"recipe over the data set's partitions, out of fold")
    preset.record_figures(directory, "cross-validation", figures)


def markdown(results: dict) -> str:
    published = results["published"]
    folds = len(results["rows"]["network alone"]["per_fold"])
    lines = [f"# DeepLoc 2.0 data: {folds}-fold cross-validation over its homology partitions", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"{results['proteins']:,} proteins, each predicted by the model that did not train on its partition; "
             "thresholds (and the fusion rule) for a partition fitted on the other partitions' out-of-fold "
             "predictions; homology within the cross-validation against the training partitions only.", "",
             "| predictor | micro F1 | macro F1 | subset accuracy | Jaccard | membrane accuracy / MCC |",
             "|---|---|---|---|---|---|"]
    for name, row in results["rows"].items():
        pooled, spread = row["pooled"], row["spread"]
        cells = [f"{pooled[score]:.3f} ({spread[score]['mean']:.3f} ± {spread[score]['sd']:.3f})" for score in SCORES]
        lines.append(f"| protloc, {name} | {' | '.join(cells)} | {pooled['membrane']['accuracy']:.3f} / "
                     f"{pooled['membrane']['mcc']:.3f} |")
    if published:
        lines.append(f"| DeepLoc 2.0 (ProtT5), published | {' | '.join(f'{published[s]:.2f}' for s in SCORES)} | |")
    official = results.get("deeploc2_protocol")
    if official:
        lines += ["", "DeepLoc 2.0's protocol (each fold model's thresholds per location for the largest MCC, fitted on "
                  "its predictions for its own training partitions; mean ± standard deviation over the folds), network "
                  "alone:", "", "| predictor | micro F1 | macro F1 | subset accuracy | Jaccard |", "|---|---|---|---|---|",
                  "| protloc, network alone | " + " | ".join(f"{official['spread'][s]['mean']:.3f} ± "
                                                          f"{official['spread'][s]['sd']:.3f}" for s in SCORES) + " |"]
    lines += ["", f"Pooled over all proteins; in brackets the mean ± standard deviation over the {len(results['training'])} "
              "folds." + (f" Published figures: {published['source']}." if published else ""), "",
              "Per location (pooled, MCC): network alone / fused:", "",
              "| location | support | MCC, network alone | MCC, fused | MCC, DeepLoc 2.0's protocol (mean ± sd) |",
              "|---|---:|---:|---:|---:|"]
    alone, fused = (results["rows"][name]["pooled"]["per_class"] for name in ("network alone", "fused with homology"))
    for location, row in alone.items():
        cell = (f"{official['spread']['mcc'][location]['mean']:.3f} ± {official['spread']['mcc'][location]['sd']:.3f}"
                if official else "")
        lines.append(f"| {location} | {row['support']} | {row['mcc']:.3f} | {fused[location]['mcc']:.3f} | {cell} |")
    timing = results["training"].values()
    minutes = [t["seconds"] / 60 for t in timing]
    typical = [t["median_epoch_seconds"] * t["epochs"] / 60 for t in timing]
    epochs = {t["epochs"] for t in timing}
    lines += ["", f"Training, {', '.join(map(str, sorted(epochs)))} epochs per fold on the machine above: "
              f"{', '.join(f'{m:.0f}' for m in minutes)} min per fold as measured ({sum(minutes):.0f} min for all "
              f"{len(minutes)}), or {sum(typical):.0f} min for all {len(minutes)} at each fold's median epoch time (epochs that ran "
              f"beside other work on the same cores count at their typical time). Partition searches (each against "
              f"the others): {results['search_seconds'] / 60:.1f} min."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
