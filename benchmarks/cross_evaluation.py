"""The DeepLoc 2.0 and MultiLoc presets on each other's proteins, each set cut to the proteins new to both.

Usage:
    python benchmarks/cross_evaluation.py --deeploc2 PRESET --multiloc PRESET --cv-run FOLD0 ... --cv-run FOLD4

1. MultiLoc's test split, without every protein that has a relative in the DeepLoc 2.0 data (an MMseqs2 hit with
   E < 1e-3 and at least 30% identity, or the same sequence): the DeepLoc 2.0 preset is scored on proteins as new to
   it as DeepLoc 2.0's partitions are to each other. The MultiLoc preset is not: MultiLoc's split was not made by
   homology, and these proteins may have close relatives in its training split (so this table favours it).
2. DeepLoc 2.0's proteins without a relative in MultiLoc's data (training and test split, the same rule), each
   predicted by the DeepLoc 2.0 cross-validation run that held its partition out (``--cv-run``, network alone; no
   protein of its partition or a relative above 30% identity was in its training data): proteins new to both, the
   case of a protein nobody has studied.

Classes: MultiLoc's 11 compartments map onto DeepLoc 2.0's 10 locations (chloroplast -> plastid; lysosome and
vacuole -> lysosome_vacuole; the rest by name). Each predictor's call is its most probable class, mapped likewise;
it is right when it is the protein's location (1) or one of its locations (2); accuracy with Wilson intervals and an
exact McNemar test of the two presets on the same proteins. Writes benchmarks/results/cross-evaluation.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from common import command, machine, out_of_fold, write_results
from protloc.data import datasets
from protloc.evidence import homology
from protloc.prediction.predictor import Localizer
from protloc.training import evaluation, loop

MULTILOC_TO_DEEPLOC2 = {"er": "er", "golgi": "golgi", "chloroplast": "plastid", "cytoplasm": "cytoplasm",
                        "extracellular": "extracellular", "lysosome": "lysosome_vacuole", "mitochondrion": "mitochondrion",
                        "nucleus": "nucleus", "peroxisome": "peroxisome", "plasma_membrane": "plasma_membrane",
                        "vacuole": "lysosome_vacuole"}
"""MultiLoc's compartment -> DeepLoc 2.0's location."""
RELATIVE_IDENTITY = 0.3


def independent(queries: list, others: list, class_names) -> tuple[list, dict]:
    """The ``queries`` without a relative among ``others`` (module docstring), and how many were left out why."""
    reference = homology.ReferenceSet.from_examples(others, class_names)
    hits = homology.HomologySearch(reference).search([e.sequence for e in queries])
    same = {e.sequence for e in others}
    related = [any(hit.identity >= RELATIVE_IDENTITY for hit in found) for found in hits]
    kept = [e for e, relative in zip(queries, related) if e.sequence not in same and not relative]
    return kept, {"queries": len(queries), "same_sequence": sum(e.sequence in same for e in queries),
                  "relative": sum(related), "kept": len(kept)}


def scored(calls: dict, truth: list[set]) -> dict:
    """``{predictor: (right: bool array, row)}`` for each predictor's mapped calls against the true location sets."""
    found = {}
    for name, called in calls.items():
        right = np.array([call in true for call, true in zip(called, truth)])
        low, high = evaluation.wilson_interval(int(right.sum()), len(right))
        found[name] = (right, {"accuracy": float(right.mean()), "accuracy_95ci": [low, high]})
    return found


def mapped_calls(localizer: Localizer, examples: list) -> dict:
    """Each protein's call in DeepLoc 2.0's locations, network alone and fused (where the preset fuses)."""
    found = localizer.predict_examples(examples)
    names = [MULTILOC_TO_DEEPLOC2.get(name, name) for name in localizer.class_names]
    calls = {"network alone": [names[i] for i in np.argmax(found.network, axis=1)]}
    if localizer.uses_homology:
        calls["fused with homology"] = [names[i] for i in np.argmax(found.final, axis=1)]
    return calls


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deeploc2", required=True, help="the DeepLoc 2.0 preset (name or directory)")
    parser.add_argument("--multiloc", required=True, help="the MultiLoc preset (name or directory)")
    parser.add_argument("--cv-run", type=pathlib.Path, action="append", required=True,
                        help="a `protloc train --dataset deeploc2 --fold K` run; one per partition")
    parser.add_argument("--data-dir", help="MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    parser.add_argument("--deeploc2-dir", help="DeepLoc 2.0's partition files (default: $PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    multiloc, deeploc2 = datasets.get("multiloc"), datasets.get("deeploc2")
    folds = {loop.read_config(run).fold: run for run in args.cv_run}
    if sorted(folds) != list(range(deeploc2.num_folds)) or any(loop.read_config(run).dataset != deeploc2.name
                                                                for run in args.cv_run):
        parser.error(f"give one --cv-run of {deeploc2.name} per partition 0-{deeploc2.num_folds - 1}")
    test = multiloc.examples("test", None, args.data_dir)
    every_deeploc2 = deeploc2.examples("train", None, args.deeploc2_dir)
    presets = {"MultiLoc preset": Localizer.from_preset(args.multiloc),
               "DeepLoc 2.0 preset": Localizer.from_preset(args.deeploc2)}

    kept, counts = independent(test, every_deeploc2, deeploc2.class_names)
    truth = [{MULTILOC_TO_DEEPLOC2[multiloc.class_names[e.label]]} for e in kept]
    calls = {f"{label} ({name}), {evidence}": called for label, name in (("MultiLoc preset", args.multiloc),
                                                                         ("DeepLoc 2.0 preset", args.deeploc2))
             for evidence, called in mapped_calls(presets[label], kept).items()}
    first = scored(calls, truth)

    every_multiloc = multiloc.examples("train", None, args.data_dir) + test
    new, new_counts = independent(every_deeploc2, every_multiloc, multiloc.class_names)
    new_ids = {e.id for e in new}
    truth_new = [{deeploc2.class_names[i] for i in e.label} for e in new]
    out_of_fold_calls = {}
    for k, run in folds.items():
        partition = [e for e in every_deeploc2 if e.fold == k]
        locations = out_of_fold(run, partition)["locations"]
        out_of_fold_calls.update({e.id: deeploc2.class_names[int(i)] for e, i in zip(partition, locations.argmax(1))
                                  if e.id in new_ids})
    calls_new = {f"MultiLoc preset ({args.multiloc}), {evidence}": called
                 for evidence, called in mapped_calls(presets["MultiLoc preset"], new).items()}
    calls_new["DeepLoc 2.0 cross-validation runs, network alone (out of fold)"] = [out_of_fold_calls[e.id] for e in new]
    second = scored(calls_new, truth_new)

    def versus(found: dict, deeploc2_name: str, multiloc_name: str) -> dict:
        return evaluation.mcnemar_exact(found[deeploc2_name][0], found[multiloc_name][0])

    alone, fused = (f"MultiLoc preset ({args.multiloc}), {evidence}" for evidence in ("network alone",
                                                                                    "fused with homology"))
    results = {
        "command": command(), "machine": machine(),
        "multiloc_test": {"proteins": counts, "rows": {name: row for name, (_, row) in first.items()},
                          "per_location": per_location(truth),
                          "deeploc2_vs_multiloc": {
                              evidence: versus(first, f"DeepLoc 2.0 preset ({args.deeploc2}), {evidence}",
                                               f"MultiLoc preset ({args.multiloc}), {evidence}")
                              for evidence in ("network alone", "fused with homology")}},
        "new_to_both": {"proteins": new_counts, "rows": {name: row for name, (_, row) in second.items()},
                        "per_location": per_location(truth_new),
                        "deeploc2_vs_multiloc": {
                            name: versus(second, "DeepLoc 2.0 cross-validation runs, network alone (out of fold)", name)
                            for name in (alone, fused)}}}
    write_results("cross-evaluation", results, markdown(results))
    print(markdown(results))
    return 0


def per_location(truth: list[set]) -> dict:
    """How many proteins have each location."""
    return {location: sum(location in true for true in truth) for location in sorted(set().union(*truth))}


def markdown(results: dict) -> str:
    first, second = results["multiloc_test"], results["new_to_both"]
    counts, new = first["proteins"], second["proteins"]
    lines = ["# The DeepLoc 2.0 and MultiLoc presets on each other's proteins", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             "Calls in DeepLoc 2.0's 10 locations (chloroplast -> plastid, lysosome and vacuole -> lysosome_vacuole), "
             "each predictor's most probable class mapped likewise; a relative is an MMseqs2 hit with E < 1e-3 and "
             f"identity >= {RELATIVE_IDENTITY:.0%}.", "", "## MultiLoc's test split", "",
             f"Of MultiLoc's {counts['queries']} test proteins, {counts['same_sequence']} are in the DeepLoc 2.0 data "
             f"and {counts['relative']} have a relative there; the {counts['kept']} others are scored. New to the "
             "DeepLoc 2.0 preset, not to the MultiLoc preset: MultiLoc's split was not made by homology.", ""]
    lines += table(first)
    lines += ["", "## DeepLoc 2.0's proteins new to both", "",
              f"Of DeepLoc 2.0's {new['queries']} proteins, {new['same_sequence']} are in MultiLoc's data and "
              f"{new['relative']} have a relative there; the {new['kept']} others are scored, each by the DeepLoc 2.0 "
              "cross-validation run that held its partition out. Right: the call is one of the protein's locations.",
              ""]
    lines += table(second)
    return "\n".join(lines) + "\n"


def table(section: dict) -> list[str]:
    """A section's accuracy table, its McNemar tests and its proteins per location, as Markdown lines."""
    lines = ["| predictor | accuracy (95% CI) |", "|---|---|"]
    for name, row in section["rows"].items():
        low, high = row["accuracy_95ci"]
        lines.append(f"| {name} | {row['accuracy']:.3f} ({low:.3f}-{high:.3f}) |")
    lines += ["", "DeepLoc 2.0 against MultiLoc on the same proteins (exact McNemar):", ""]
    for name, test in section["deeploc2_vs_multiloc"].items():
        lines.append(f"* {name}: {test['only_first']} proteins right only with DeepLoc 2.0's, "
                     f"{test['only_second']} only with MultiLoc's, p = {test['p_value']:.3g}")
    lines += ["", "Proteins per location: " + ", ".join(f"{k} {v}" for k, v in section["per_location"].items()) + "."]
    return lines


if __name__ == "__main__":
    sys.exit(main())
