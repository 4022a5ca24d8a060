"""Homology settings for the fused DeepLoc 2.0 model: MMseqs2's sensitivity, its prefilter candidates and the hits
kept per protein, each scored the same way on a partition no choice has looked at.

Usage:
    python benchmarks/deeploc2_homology.py --cv-run benchmarks/weights/deeploc2-fold1 ... \\
        --cv-run benchmarks/weights/deeploc2-fold4 --exclude-partition 0 --score-partition 4 \\
        --setting "package=4:20:10" --setting "s 7.5=7.5:20:10" [--setting NAME=S:CANDIDATES:KEPT ...]

The protocol of the levers (docs/deeploc2.md), for a choice that needs no training: partition 0 is never read
(neither searched nor in any reference, nor scored); each other partition is searched against the remaining ones
with each setting (MMseqs2 ``-s S --max-seqs CANDIDATES``, E < 1e-3, the ``KEPT`` best hits a protein); the
fusion rule and the fused thresholds are fitted on partitions 1-3 (their cross-validation runs' out-of-fold
probabilities, hits in partition 4 dropped) and applied to partition 4 with its hits in partitions 1-3, exactly as
benchmarks/deeploc2_cv.py does for every partition (:func:`common.fused_decisions`). The network is the same
for every setting; the first setting is the reference.

Scores (scikit-learn): micro / macro F1, subset accuracy, Jaccard and per-location MCC of the fused decisions on
the scored partition; its proteins with any hit; the exact-match hits of each setting against the first (exact
McNemar test); the wall seconds of the searches (all partitions, on the machine named; settings that differ only
in the hits kept share one search). Writes benchmarks/results/deeploc2-homology.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from common import (PARTITION_SCORES, SEARCH_HITS, add_partition_options, command, fused_decisions, mcnemar_lines,
                    out_of_fold, partition_hits, partition_scores, read_partitions, write_results)
from protloc.data import datasets
from protloc.training import evaluation
from protloc.utils import runtime


def setting(text: str) -> tuple[str, dict]:
    """``NAME=S:CANDIDATES:KEPT`` as (name, {sensitivity, prefilter_hits, keep})."""
    name, _, values = text.rpartition("=")
    try:
        sensitivity, candidates, keep = values.split(":")
        found = {"sensitivity": float(sensitivity), "prefilter_hits": int(candidates), "keep": int(keep)}
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give NAME=SENSITIVITY:CANDIDATES:KEPT, e.g. 's 7.5=7.5:20:10'")
    if not name or not 1 <= found["sensitivity"] <= 7.5 or found["prefilter_hits"] < 1 or not (
            1 <= found["keep"] <= SEARCH_HITS):
        raise argparse.ArgumentTypeError(f"{text!r}: a name, sensitivity 1-7.5, candidates >= 1, kept 1-{SEARCH_HITS}")
    return name, found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_partition_options(parser)
    parser.add_argument("--setting", type=setting, action="append", required=True, metavar="NAME=S:CANDIDATES:KEPT",
                        help="a homology setting (repeatable; the first is the reference)")
    args = parser.parse_args(argv)
    spec = datasets.get("deeploc2")
    runs, read, train = read_partitions(parser, args, spec)
    settings = dict(args.setting)

    classes = len(spec.class_names)
    by_fold = {k: [e for e in train if e.fold == k] for k in read}
    labels = {k: datasets.labels_of(by_fold[k], classes) for k in read}
    predicted = {k: out_of_fold(runs[k], by_fold[k]) for k in read}
    partition_of = {e.id: e.fold for e in train}
    scored, others = args.score_partition, [k for k in read if k != args.score_partition]

    rows, exact, alone, searched = {}, {}, None, {}
    for name, values in settings.items():
        search = (values["sensitivity"], values["prefilter_hits"])
        if search not in searched:
            start = time.perf_counter()
            found = {k: partition_hits(train, k, spec.class_names, sensitivity=search[0], prefilter_hits=search[1])
                     for k in read}
            searched[search] = found, time.perf_counter() - start
        hits, seconds = searched[search]
        alone, fused, fit = fused_decisions(scored, others, predicted, labels, hits, partition_of, classes,
                                            keep=values["keep"])
        rows[name] = {**values, **partition_scores(labels[scored], fused, spec.class_names),
                      "with_hit": fit["with_hit"], "search_seconds": seconds,
                      "mean_hits": float(np.mean([len(found[:values["keep"]]) for found in hits[scored]]))}
        exact[name] = np.all(fused == labels[scored].astype(bool), axis=1)
    network = partition_scores(labels[scored], alone, spec.class_names)
    names = list(settings)
    tests = {f"{name} vs {names[0]}": evaluation.mcnemar_exact(exact[name], exact[names[0]]) for name in names[1:]}
    results = {"command": command(), "machine": runtime.describe_machine(),
               "score_partition": scored, "fitted_on": others,
               "excluded_partitions": sorted(args.exclude_partition), "proteins": len(by_fold[scored]),
               "queries_searched": len(train), "cv_runs": {str(k): str(run) for k, run in runs.items()},
               "network_alone": network, "settings": rows, "exact_match_tests": tests}
    write_results("deeploc2-homology", results, markdown(results, spec.class_names))
    print(markdown(results, spec.class_names))
    return 0


def markdown(results: dict, class_names) -> str:
    names = list(results["settings"])
    lines = ["# Homology settings for the fused DeepLoc 2.0 model (scored on a partition no choice looked at)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Fusion rule and thresholds fitted on partitions {', '.join(map(str, results['fitted_on']))}, scored on "
             f"partition {results['score_partition']} ({results['proteins']:,} proteins); partition(s) "
             f"{', '.join(map(str, results['excluded_partitions']))} never read. The same network probabilities "
             "(the cross-validation runs', out of fold) for every setting; E < 1e-3 throughout.", "",
             "| setting | MMseqs2 -s | candidates (--max-seqs) | hits kept | micro F1 | macro F1 | subset accuracy | "
             f"Jaccard | proteins with a hit | hits a protein | search s ({results['queries_searched']:,} queries) |",
             "|---|---:|---:|---:|" + "---:|" * 7]
    network = results["network_alone"]
    lines.append("| network alone | | | | " + " | ".join(f"{network[s]:.3f}" for s in PARTITION_SCORES) + " | | | |")
    for name in names:
        row = results["settings"][name]
        lines.append(f"| {name} | {row['sensitivity']:g} | {row['prefilter_hits']} | {row['keep']} | "
                     + " | ".join(f"{row[s]:.3f}" for s in PARTITION_SCORES)
                     + f" | {row['with_hit']:,} | {row['mean_hits']:.1f} | {row['search_seconds']:.0f} |")
    lines += ["", "Per location, MCC:", "", "| location | network alone | " + " | ".join(names) + " |",
              "|---|---:|" + "---:|" * len(names)]
    for location in class_names:
        lines.append(f"| {location} | {network['mcc'][location]:.3f} | "
                     + " | ".join(f"{results['settings'][name]['mcc'][location]:.3f}" for name in names) + " |")
    lines += mcnemar_lines(results["exact_match_tests"], "Exact-match hits against the first setting (exact McNemar "
                                                         "test):")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
