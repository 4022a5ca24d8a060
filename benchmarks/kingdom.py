"""Does the organism group help? The kingdom as an optional input, on DeepLoc 2.0's partition 0.

Usage:
    python benchmarks/kingdom.py --without benchmarks/weights/deeploc2-fold0 \\
        --with benchmarks/weights/deeploc2-kingdom-fold0

Both runs are `protloc train --dataset deeploc2 --fold 0 --epochs 15 --seed 0` (the coarse recipe), the second with
``--kingdom``: trained on partitions 1-4, scored on partition 0, network alone. Three arms on the same 5,963 proteins:
the model without the input; the kingdom model given each protein's kingdom; the kingdom model not given it (all
zeros, as `protloc predict` without ``--kingdom`` runs it).

Decisions: each arm's per-location thresholds (:func:`protloc.evidence.thresholds.fit`, best micro F1, at least one
location a
protein) are cross-fitted within partition 0: fitted on one half of its proteins (a fixed random split, the same for
every arm) and applied to the other, then the other way round; no protein is decided by thresholds fitted on it.
Scores (scikit-learn): micro / macro F1, subset accuracy, Jaccard, membrane accuracy (at 0.5), and the micro-averaged
average precision of the locations (threshold-free); per kingdom, micro F1; the exact-match (subset) hits of two arms
compared by an exact McNemar test. Writes benchmarks/results/kingdom.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np

from common import command, machine, mcnemar_lines, write_results
from protloc.data import datasets, kingdoms
from protloc.data.features import KINGDOMS
from protloc.evidence import thresholds
from protloc.models import inference, zoo
from protloc.prediction import loading
from protloc.training import evaluation, loop

FOLD = 0
SPLIT_SEED = 0
"""Seed of the split of partition 0 into the two halves the thresholds are cross-fitted on."""
SCORES = ("micro_f1", "macro_f1", "subset_accuracy", "jaccard")


def outputs(run: pathlib.Path, examples: list, withheld: bool = False) -> dict:
    """A run's network outputs on examples ``{"locations": (n, classes), "membrane": (n,)}``; a kingdom model is
    given each protein's kingdom, or nothing (``withheld``)."""
    network = loading.load_network(run)
    if loop.read_config(run).hparams["kingdom"]:
        examples = kingdoms.with_kingdoms(examples, withheld=withheld)
    found = inference.Forward(network)(examples)
    return {"locations": found[zoo.LOCATIONS_OUTPUT], "membrane": found[zoo.MEMBRANE_OUTPUT][:, 0]}


def score(found: dict, labels: np.ndarray, membrane: np.ndarray, halves: np.ndarray, kingdom_of: np.ndarray,
          class_names) -> tuple[dict, np.ndarray]:
    """An arm's scores, and whether each protein's locations were exactly right."""
    from sklearn import metrics

    decided = thresholds.cross_fitted(found["locations"], labels, halves)
    report = evaluation.multilabel_report(labels, decided, class_names, membrane, found["membrane"])
    row = {name: report[name] for name in SCORES}
    row["average_precision"] = float(metrics.average_precision_score(labels, found["locations"], average="micro"))
    row["membrane_accuracy"] = report["membrane"]["accuracy"]
    row["micro_f1_by_kingdom"] = {
        kingdom: float(metrics.f1_score(labels[kingdom_of == kingdom], decided[kingdom_of == kingdom],
                                        average="micro", zero_division=0))
        for kingdom in KINGDOMS if np.any(kingdom_of == kingdom)}
    return row, np.all(decided == labels.astype(bool), axis=1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--without", type=pathlib.Path, required=True, help="the fold-0 run without the input")
    parser.add_argument("--with", dest="with_run", type=pathlib.Path, required=True,
                        help="the fold-0 run with the kingdom input")
    parser.add_argument("--data-dir", help="DeepLoc 2.0's files (default: PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    spec = datasets.get("deeploc2")
    for run, kingdom in ((args.without, False), (args.with_run, True)):
        config = loop.read_config(run)
        if config.dataset != spec.name or config.fold != FOLD or config.hparams["kingdom"] != kingdom:
            raise SystemExit(f"{run}: not a deeploc2 run holding out partition {FOLD} "
                             f"{'with' if kingdom else 'without'} the kingdom input")
    examples = spec.examples("train", [FOLD], args.data_dir)
    labels = datasets.labels_of(examples, len(spec.class_names))
    membrane = np.array([e.membrane for e in examples])
    kingdom_of = np.array([e.kingdom for e in examples])
    halves = np.random.default_rng(SPLIT_SEED).permutation(len(examples)) % 2
    arms = {"without the input": outputs(args.without, examples),
            "kingdom given": outputs(args.with_run, examples),
            "kingdom model, not given": outputs(args.with_run, examples, withheld=True)}
    rows, exact = {}, {}
    for name, found in arms.items():
        rows[name], exact[name] = score(found, labels, membrane, halves, kingdom_of, spec.class_names)
    names = list(arms)
    pairs = ((1, 0), (2, 0), (1, 2))  # the last: the input's own effect, within one model
    tests = {f"{names[a]} vs {names[b]}": evaluation.mcnemar_exact(exact[names[a]], exact[names[b]])
             for a, b in pairs}
    results = {"command": command(), "machine": machine(), "fold": FOLD, "proteins": len(examples),
               "runs": {"without": str(args.without), "with": str(args.with_run)},
               "training": {name: {"recipe": config.recipe, "epochs": config.epochs, "seed": config.seed}
                            for name, config in (("without", loop.read_config(args.without)),
                                                 ("with", loop.read_config(args.with_run)))},
               "proteins_by_kingdom": {k: int(np.sum(kingdom_of == k)) for k in KINGDOMS},
               "arms": rows, "exact_match_tests": tests}
    write_results("kingdom", results, markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    counts = ", ".join(f"{k} {n:,}" for k, n in results["proteins_by_kingdom"].items())
    lines = [f"# The kingdom as an optional input (DeepLoc 2.0, partition {results['fold']} held out)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Runs: `{results['runs']['without']}` and `{results['runs']['with']}` (the latter `--kingdom`), each "
             f"`protloc train --dataset deeploc2 --fold 0`, recipe {results['training']['with']['recipe']}, "
             f"{results['training']['with']['epochs']} epochs, seed {results['training']['with']['seed']} (see "
             "benchmarks/weights/README.md), trained on partitions 1-4.", "",
             f"{results['proteins']:,} proteins ({counts}); network alone; thresholds cross-fitted on halves of the "
             "partition (no protein decided by thresholds fitted on it). Average precision: micro-averaged over the "
             "locations, threshold-free.", "",
             "| arm | micro F1 | macro F1 | subset accuracy | Jaccard | average precision | membrane accuracy | "
             + " | ".join(f"micro F1, {k}" for k in KINGDOMS) + " |",
             "|---|" + "---:|" * (6 + len(KINGDOMS))]
    for name, row in results["arms"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[s]:.3f}" for s in (*SCORES, "average_precision",
                                                                           "membrane_accuracy"))
                     + " | " + " | ".join(f"{row['micro_f1_by_kingdom'].get(k, float('nan')):.3f}" for k in KINGDOMS)
                     + " |")
    lines += mcnemar_lines(results["exact_match_tests"], "Exact-match hits compared (exact McNemar test):")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
