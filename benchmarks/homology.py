"""Homology evidence on MultiLoc: the shipped reference set, fusion fitted on training data, and the test split.

Usage:
    python benchmarks/homology.py --fold-run runs/fusion/rlstm-fold0 [--ship] [--run NAME=RUN_DIR ...]
        [--ensemble NAME=MEMBER,MEMBER,... ...]

1. Reference set: the training split (whole sequences, labels), written to protloc/pretrained/reference.fasta.gz
   with --ship. The test split is never part of it.
2. Fusion fitted on training data only: the proteins of the held-out fold of --fold-run (a run trained on the
   other training folds, e.g. `protloc train --fold 0 --out runs/fusion/rlstm-fold0`) get the network's
   probabilities from that run and homology votes from a search against the whole training split leaving
   themselves out; :func:`protloc.fusion.fit` picks the rule's parameters. With --ship they are written beside
   both shipped models.
3. Test split, searched against the training split: homology alone (best hit's class; bit-score votes), each
   shipped model, each --run and each --ensemble (the mean of its members' probabilities, members being runs or
   shipped models, a shipped ensemble counting as its members) alone and fused, with 95% intervals, and an exact
   McNemar test of fused against the network alone on the same proteins. The test split is used for nothing else.
Writes benchmarks/results/homology.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

from common import cached_predictions, command, machine, test_report, write_results
from protloc import datasets, evaluation, fusion, homology, models, pretrained, training

SPEC = datasets.get("multiloc")
IDENTITY_BANDS = ((0.0, 0.3), (0.3, 0.5), (0.5, 1.01))
"""Best-hit identity bands in which the best hit's class is scored."""


def best_hit_table(labels: np.ndarray, best: list) -> list[dict]:
    """How often the best hit's class is right, by identity band."""
    rows = []
    for low, high in IDENTITY_BANDS:
        inside = [(hit, label) for hit, label in zip(best, labels) if hit and low <= hit.identity < high]
        rows.append({"identity": [low, min(high, 1.0)], "proteins": len(inside),
                     "best_hit_right": float(np.mean([hit.label == label for hit, label in inside])) if inside
                     else None})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold-run", type=pathlib.Path, required=True,
                        help="run directory of a model trained with one training fold held out")
    parser.add_argument("--ship", action="store_true",
                        help="write the reference set and the fusion parameters into protloc/pretrained/")
    parser.add_argument("--run", action="append", default=[], type=lambda text: tuple(text.split("=", 1)),
                        metavar="NAME=RUN_DIR", help="also score this finished run (trained on the training split), "
                                                     "alone and fused, as NAME; repeatable")
    parser.add_argument("--ensemble", action="append", default=[], type=lambda text: tuple(text.split("=", 1)),
                        metavar="NAME=MEMBER,...", help="also score the mean probabilities of these members (run "
                                                        "directories or shipped model names) as NAME; repeatable")
    parser.add_argument("--data-dir", help="directory of MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    if any(len(pair) != 2 for pair in args.run + args.ensemble):
        parser.error("--run takes NAME=RUN_DIR and --ensemble NAME=MEMBER,MEMBER,...")
    fold_config = training.read_config(args.fold_run)
    if fold_config.fold is None or fold_config.dataset != SPEC.name:
        parser.error(f"{args.fold_run} must hold out a training fold of {SPEC.name}")

    train = SPEC.examples("train", None, args.data_dir)
    test = SPEC.examples("test", None, args.data_dir)
    reference = homology.ReferenceSet.from_examples(train, SPEC.class_names)
    search = homology.HomologySearch(reference)
    if args.ship:
        reference.write(pretrained.REFERENCE)

    held_out = [index for index, e in enumerate(train) if e.fold == fold_config.fold]
    fold_examples = [train[i] for i in held_out]
    fold_labels = datasets.labels_of(fold_examples)
    start = time.perf_counter()
    fold_hits = search.search([e.sequence for e in fold_examples], exclude=held_out)
    fold_search_s = time.perf_counter() - start
    fold_network = evaluation.predict_probabilities(models.load_model(args.fold_run), fold_examples)
    rule = fusion.fit(fold_network, fold_hits, fold_labels, provenance={
        "command": command(), "fold_run": str(args.fold_run), "fold_run_config": fold_config.__dict__,
        "data": f"{SPEC.name} training fold {fold_config.fold} ({len(fold_examples)} proteins): network "
                f"probabilities of a model trained on the other folds; votes from a search of the whole training "
                f"split leaving each protein itself out"})
    if args.ship:
        for name in pretrained.SHIPPED:
            rule.save(pretrained.fusion_path(name))

    start = time.perf_counter()
    hits = search.search([e.sequence for e in test])
    test_search_s = time.perf_counter() - start
    votes, identity = rule.votes(hits, len(SPEC.class_names))
    best = [found[0] if found else None for found in hits]
    labels = datasets.labels_of(test)
    has_hit = ~np.isnan(identity)
    best_hit = np.array([hit.label if hit else -1 for hit in best])
    rows = {"homology: best hit's class (no hit = wrong)": _row(labels, _one_hot(best_hit)),
            "homology: the fusion's votes (no hit = wrong)": _row(labels, votes)}
    networks = {name: evaluation.predict_probabilities(models.load_pretrained(name), test)
                for name in sorted(pretrained.SHIPPED)}
    for name, run in args.run:
        networks[name] = _run_predictions(run, labels, args.data_dir)
    for name, members in args.ensemble:
        networks[name] = _ensemble_predictions(members.split(","), networks, labels, args.data_dir)
    for name, network in networks.items():
        fused = rule.fuse(network, votes, identity)
        network_row, fused_row = _row(labels, network), _row(labels, fused)
        fused_row["vs_network"] = evaluation.mcnemar_exact(fused_row.pop("correct"), network_row.pop("correct"))
        rows[f"{name}: network alone"] = network_row
        rows[f"{name}: fused with homology"] = fused_row
    for row in rows.values():
        row.pop("correct", None)
    results = {"command": command(), "machine": machine(), "reference_proteins": len(reference),
               "test_proteins": len(test), "test_with_hit": int(has_hit.sum()),
               "best_hit_by_identity": best_hit_table(labels, best), "fusion": rule.__dict__,
               "rows": rows, "search_seconds": {"fold": fold_search_s, "test": test_search_s},
               "shipped": args.ship, "ensembles": {name: members.split(",") for name, members in args.ensemble}}
    write_results("homology", results, markdown(results))
    print(markdown(results))
    return 0


def _run_predictions(run: str, labels: np.ndarray, data_dir) -> np.ndarray:
    """A finished run's test-split probabilities ``(n, classes)``; exits naming the run if its test split differs."""
    run_labels, probabilities = cached_predictions(pathlib.Path(run), data_dir)
    if not np.array_equal(run_labels, labels):
        raise SystemExit(f"{run}: not a run of {SPEC.name} (its test proteins differ)")
    return probabilities


def _ensemble_predictions(members: list[str], shipped: dict, labels: np.ndarray, data_dir) -> np.ndarray:
    """The mean test-split probabilities ``(n, classes)`` of ``members`` (run directories, or names of shipped models
    whose probabilities are in ``shipped``), each zoo model counting once: a shipped ensemble of N members weighs N,
    which is what one ensemble of all the members would compute."""
    total, count = 0.0, 0
    for member in members:
        if member in pretrained.SHIPPED:
            weight = models.member_count(models.load_pretrained(member))
            total, count = total + weight * shipped[member], count + weight
        else:
            total, count = total + _run_predictions(member, labels, data_dir), count + 1
    return total / count


def _one_hot(classes: np.ndarray) -> np.ndarray:
    """``(n, classes)`` indicator rows; an all-zero row where the class is -1 (no hit)."""
    rows = np.zeros((len(classes), len(SPEC.class_names)), dtype=np.float32)
    rows[classes >= 0, classes[classes >= 0]] = 1
    return rows


def _row(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, interval and MCC of ``probabilities``; rows without any probability count as wrong."""
    report, correct = test_report(labels, probabilities, SPEC.class_names)
    correct &= probabilities.max(axis=1) > 0
    low, high = evaluation.wilson_interval(int(correct.sum()), len(correct))
    return {"accuracy": float(correct.mean()), "accuracy_95ci": [low, high], "mcc": report["mcc"],
            "correct": correct}


def _p_value(p: float) -> str:
    return f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"


def markdown(results: dict) -> str:
    rule = results["fusion"]
    fit = rule["provenance"]["fit"]
    lines = ["# Homology evidence on MultiLoc", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             f"Reference: the {results['reference_proteins']} training proteins (MMseqs2 `easy-search -s 4`, "
             f"E < 1e-3, 20 prefilter candidates, 10 best hits). {results['test_with_hit']} of "
             f"{results['test_proteins']} test proteins "
             f"have a hit ({results['test_with_hit'] / results['test_proteins']:.1%}); searching them took "
             f"{results['search_seconds']['test']:.1f} s.", "",
             "| best-hit identity | test proteins | best hit's class right |", "|---|---:|---:|"]
    for band in results["best_hit_by_identity"]:
        right = f"{band['best_hit_right']:.3f}" if band["best_hit_right"] is not None else "-"
        lines.append(f"| {band['identity'][0]:.1f}-{band['identity'][1]:.1f} | {band['proteins']} | {right} |")
    lines += ["", f"Fusion rule: fused = (1 - w) network + w votes, w = {rule['max_weight']:g} / (1 + exp(-"
              f"{rule['slope']:g} (identity - {rule['midpoint']:g}))), w = 0 without a hit; votes: hits with at "
              f"least {rule['vote_relative_bits']:g} x the best hit's bit score, each weighted by its bit score to "
              f"the power {rule['vote_power']:g}. Fitted on training "
              f"data only: {rule['provenance']['data']}; run `{rule['provenance']['fold_run']}`. On those "
              f"{fit['proteins']} proteins: network {fit['accuracy_network']:.3f}, fused {fit['accuracy_fused']:.3f}"
              f" (log loss {fit['log_loss']:.3f}).", "",
              "Test split (1,193 proteins):", "",
              "| predictor | test accuracy (95% CI) | MCC | fused vs network alone |", "|---|---|---:|---|"]
    for name, row in results["rows"].items():
        low, high = row["accuracy_95ci"]
        paired = row.get("vs_network")
        test = (f"{paired['only_first']} vs {paired['only_second']}, exact McNemar {_p_value(paired['p_value'])}"
                if paired else "")
        lines.append(f"| {name} | {row['accuracy']:.3f} ({low:.3f}-{high:.3f}) | {row['mcc']:.3f} | {test} |")
    if results.get("ensembles"):
        lines += ["", "Ensembles (mean of the members' probabilities; a shipped ensemble counts as its members):", ""]
        lines += [f"* {name}: {', '.join(f'`{member}`' for member in members)}"
                  for name, members in results["ensembles"].items()]
    lines += ["", "Paper (Sønderby et al. 2015, with PSI-BLAST profiles): R-LSTM 0.879, ensemble 0.902; "
              "SherLoc2 (with GO terms) 0.930."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
