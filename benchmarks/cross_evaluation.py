"""The DeepLoc 2.0 preset on MultiLoc's test split, against the MultiLoc preset on the same proteins.

Usage:
    python benchmarks/cross_evaluation.py --deeploc2 PRESET [--multiloc pretrained]

Proteins: MultiLoc's test split, without every protein that has a relative in the DeepLoc 2.0 data (an MMseqs2 hit
with E < 1e-3 and at least 30% identity, or the same sequence): so neither preset has seen them or a close
relative, and the DeepLoc 2.0 preset is scored on proteins as new to it as DeepLoc 2.0's partitions are to each
other. How many remain is reported.

Classes: MultiLoc's 11 compartments map onto DeepLoc 2.0's 10 locations (chloroplast -> plastid; lysosome and
vacuole -> lysosome_vacuole; the rest by name). Each preset's call is its most probable class, mapped likewise, and
scored against the mapped label (accuracy, with an exact McNemar test of the two presets on the same proteins);
each is scored alone and fused with homology to its own reference. Writes
benchmarks/results/cross-evaluation.{json,md}.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from common import command, machine, write_results
from protloc import datasets, evaluation, homology
from protloc.predictor import Localizer

MULTILOC_TO_DEEPLOC2 = {"er": "er", "golgi": "golgi", "chloroplast": "plastid", "cytoplasm": "cytoplasm",
                        "extracellular": "extracellular", "lysosome": "lysosome_vacuole", "mitochondrion": "mitochondrion",
                        "nucleus": "nucleus", "peroxisome": "peroxisome", "plasma_membrane": "plasma_membrane",
                        "vacuole": "lysosome_vacuole"}
"""MultiLoc's compartment -> DeepLoc 2.0's location."""
RELATIVE_IDENTITY = 0.3


def independent(test: list, deeploc2: list) -> tuple[list, dict]:
    """The test proteins without a relative in ``deeploc2`` (module docstring), and how many were left out why."""
    reference = homology.ReferenceSet.from_examples(deeploc2, datasets.get("deeploc2").class_names)
    hits = homology.HomologySearch(reference).search([e.sequence for e in test])
    same = {e.sequence for e in deeploc2}
    kept = [e for e, found in zip(test, hits)
            if e.sequence not in same and not any(hit.identity >= RELATIVE_IDENTITY for hit in found)]
    return kept, {"test": len(test), "same_sequence": sum(e.sequence in same for e in test),
                  "relative": sum(bool(found) and any(hit.identity >= RELATIVE_IDENTITY for hit in found)
                                  for found in hits), "kept": len(kept)}


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
    parser.add_argument("--multiloc", default="pretrained", help="the MultiLoc preset (default: pretrained)")
    parser.add_argument("--data-dir", help="MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    parser.add_argument("--deeploc2-dir", help="DeepLoc 2.0's partition files (default: $PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    multiloc = datasets.get("multiloc")
    test = multiloc.examples("test", None, args.data_dir)
    kept, counts = independent(test, datasets.get("deeploc2").examples("train", None, args.deeploc2_dir))
    truth = [MULTILOC_TO_DEEPLOC2[multiloc.class_names[e.label]] for e in kept]
    rows, right = {}, {}
    for preset_name, label in ((args.multiloc, "MultiLoc preset"), (args.deeploc2, "DeepLoc 2.0 preset")):
        for evidence, calls in mapped_calls(Localizer.from_preset(preset_name), kept).items():
            correct = np.array([call == true for call, true in zip(calls, truth)])
            low, high = evaluation.wilson_interval(int(correct.sum()), len(correct))
            name = f"{label} ({preset_name}), {evidence}"
            rows[name] = {"accuracy": float(correct.mean()), "accuracy_95ci": [low, high]}
            right[(label, evidence)] = correct
    tests = {evidence: evaluation.mcnemar_exact(right[("DeepLoc 2.0 preset", evidence)],
                                                right[("MultiLoc preset", evidence)])
             for evidence in ("network alone", "fused with homology")
             if ("DeepLoc 2.0 preset", evidence) in right and ("MultiLoc preset", evidence) in right}
    per_class = {location: int(sum(t == location for t in truth)) for location in sorted(set(truth))}
    results = {"command": command(), "machine": machine(), "proteins": counts, "per_location": per_class,
               "rows": rows, "deeploc2_vs_multiloc": tests}
    write_results("cross-evaluation", results, markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    counts = results["proteins"]
    lines = ["# The DeepLoc 2.0 preset on MultiLoc's test split", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             f"Of MultiLoc's {counts['test']} test proteins, {counts['same_sequence']} are in the DeepLoc 2.0 data and "
             f"{counts['relative']} have a relative there (MMseqs2, E < 1e-3, identity >= {RELATIVE_IDENTITY:.0%}); "
             f"the {counts['kept']} others are scored, in DeepLoc 2.0's 10 locations (chloroplast -> plastid, "
             "lysosome and vacuole -> lysosome_vacuole), each preset's most probable class mapped likewise.", "",
             "| predictor | accuracy (95% CI) |", "|---|---|"]
    for name, row in results["rows"].items():
        low, high = row["accuracy_95ci"]
        lines.append(f"| {name} | {row['accuracy']:.3f} ({low:.3f}-{high:.3f}) |")
    lines += ["", "DeepLoc 2.0 preset against the MultiLoc preset on the same proteins (exact McNemar):", ""]
    for evidence, test in results["deeploc2_vs_multiloc"].items():
        lines.append(f"* {evidence}: {test['only_first']} proteins right only with the DeepLoc 2.0 preset, "
                     f"{test['only_second']} only with the MultiLoc preset, p = {test['p_value']:.3g}")
    lines += ["", "Proteins per location: " + ", ".join(f"{k} {v}" for k, v in results["per_location"].items()) + "."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
