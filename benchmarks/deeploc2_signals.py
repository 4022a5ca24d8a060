"""Sorting signals on DeepLoc 2.0's homology partitions: which signals a protein carries and where, out of fold.

Usage:
    PROTLOC_DEEPLOC2_SIGNALS_DIR=../shared/data/deeploc2-signals python benchmarks/deeploc2_signals.py \\
        --cv-run runs/deeploc2/signals/fold0 ... --cv-run runs/deeploc2/signals/fold4

Each --cv-run is a `protloc train --dataset deeploc2 --signals --fold K` run: trained on the other four partitions,
it predicts the proteins of partition K that have signal labels (the 1,874 of the signal file, 129 of them with
types only). Per protein, a type is called where its probability (the head's ``signal_types``) reaches a threshold
fitted per type for the largest MCC (:func:`protloc.evidence.thresholds.fit`) on the other partitions' out-of-fold
predictions. Per residue, the call is the head's most probable class. Scores
(:mod:`protloc.training.signal_evaluation`): per-protein micro and macro F1, subset accuracy and per-type MCC; per
type the residues' precision and recall; for the N-terminal signals the cleavage site within 3 residues. Beside them
the public anchor (a CNN and a feature-centroid model on a random 5-fold split, easier than homology partitions).
Writes benchmarks/results/deeploc2-signals.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from common import command, write_results
from protloc.data import datasets
from protloc.data.datasets import deeploc2_signals
from protloc.data.features import SIGNAL_TYPES
from protloc.evidence import thresholds
from protloc.models import inference, zoo
from protloc.prediction import loading
from protloc.training import loop, signal_evaluation
from protloc.utils import runtime

ANCHOR = {"source": "kfuku52/cdskit wiki: a CNN / a feature-centroid model, random 5-fold split (not the homology "
                    "partitions), per-protein signal types, as quoted in ../shared/data/deeploc2-signals/README.md",
          "micro_f1": (0.555, 0.696), "macro_f1": (0.347, 0.600), "subset_accuracy": (0.408, 0.454)}
TARGETS = {"mcc": {"SP": 0.80, "MT": 0.80, "CH": 0.80}, "micro_f1": 0.75}


def signal_outputs(run: pathlib.Path, examples: list) -> dict:
    """A signal run's head outputs on ``examples``: ``types`` ``(n, 9)`` and per protein its residue calls."""
    found = inference.Forward(loading.load_network(run))(examples)
    if zoo.SIGNAL_TYPES_OUTPUT not in found:
        raise SystemExit(f"{run}: its network has no signal head (train with --signals)")
    return {"types": found[zoo.SIGNAL_TYPES_OUTPUT],
            "residues": [np.asarray(row).argmax(-1) for row in found[zoo.SIGNAL_RESIDUES_OUTPUT]]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cv-run", type=pathlib.Path, action="append", required=True,
                        help="a `protloc train --dataset deeploc2 --signals --fold K` run; one per partition")
    parser.add_argument("--dataset", default="deeploc2", help="a data set with signal labels (default: deeploc2)")
    parser.add_argument("--data-dir", help="directory of the partition files (default: $PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    spec = datasets.get(args.dataset)
    runs = {loop.read_config(run).fold: run for run in args.cv_run}
    if sorted(runs) != list(range(spec.num_folds)) or len(args.cv_run) != spec.num_folds:
        parser.error(f"give one --cv-run per partition 0-{spec.num_folds - 1}")
    labelled = [e for e in spec.examples("train", None, args.data_dir) if e.signals is not None]
    if not labelled:
        parser.error(f"no protein of {spec.name} has signal labels (set {deeploc2_signals.DATA_DIR_VARIABLE})")
    by_fold = {k: [e for e in labelled if e.fold == k] for k in runs}
    predicted = {k: signal_outputs(runs[k], by_fold[k]) for k in runs}
    truth = {k: np.array([e.signals.multi_hot() for e in by_fold[k]], dtype=int) for k in runs}
    decided = {}
    for k in runs:
        others = [j for j in runs if j != k]
        fitted = thresholds.fit(np.concatenate([predicted[j]["types"] for j in others]),
                                np.concatenate([truth[j] for j in others]), objective="mcc")
        decided[k] = predicted[k]["types"] >= fitted
    types = signal_evaluation.type_report(np.concatenate([truth[k] for k in runs]),
                                          np.concatenate([decided[k] for k in runs]))
    annotated = [(e.signals.residues, predicted[k]["residues"][i]) for k in runs for i, e in enumerate(by_fold[k])
                 if e.signals.residues is not None]
    regions = signal_evaluation.region_report([true for true, _ in annotated], [guess for _, guess in annotated])
    results = {"command": command(), "machine": runtime.describe_machine(), "proteins": len(labelled),
               "with_residues": len(annotated), "types": types, "regions": regions, "anchor": ANCHOR,
               "targets": TARGETS, "run_config": loop.read_config(runs[0]).to_json(runs[0])}
    write_results("deeploc2-signals", results, markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    types, regions, anchor = results["types"], results["regions"], results["anchor"]
    lines = ["# Sorting signals on DeepLoc 2.0's homology partitions (out of fold)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"{results['proteins']:,} proteins with signal labels ({results['with_residues']:,} with per-residue "
             "annotation), each predicted by the model that did not train on its partition; type thresholds for the "
             "largest MCC fitted on the other partitions.", "",
             "| per protein | micro F1 | macro F1 | subset accuracy |", "|---|---:|---:|---:|",
             f"| protloc signal head, homology partitions | {types['micro_f1']:.3f} | {types['macro_f1']:.3f} | "
             f"{types['subset_accuracy']:.3f} |"]
    for index, name in enumerate(("CNN", "centroid")):
        lines.append(f"| {name}, random split (anchor) | {anchor['micro_f1'][index]:.3f} | "
                     f"{anchor['macro_f1'][index]:.3f} | {anchor['subset_accuracy'][index]:.3f} |")
    lines += ["", f"Anchor: {anchor['source']}. Targets: MCC >= 0.80 for SP, MT and CH; micro F1 >= 0.75.", "",
              "| signal | proteins | MCC | residue precision | residue recall | cleavage site within "
              f"{regions['tolerance']} (recall / precision) |", "|---|---:|---:|---:|---:|---|"]
    for name in SIGNAL_TYPES:
        row, residues = types["per_class"][name], regions["residues"][name]
        site = regions["cleavage_sites"].get(name)
        cell = f"{site['recall']:.3f} / {site['precision']:.3f} ({site['proteins']})" if site else ""
        lines.append(f"| {name} | {row['support']} | {row['mcc']:.3f} | {residues['precision']:.3f} | "
                     f"{residues['recall']:.3f} | {cell} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
