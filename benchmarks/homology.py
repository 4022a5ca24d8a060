"""Homology evidence on MultiLoc: the shipped reference set, fusion fitted on training data, and the test split.

Usage:
    python benchmarks/homology.py --fold-run RUN_DIR [--fold-run RUN_DIR ...] [--run NAME=RUN_DIR ...]
        [--ensemble NAME=MEMBER,MEMBER,... ...]

1. Reference set: the training split (whole sequences, labels), as the shipped presets carry it. The test split is
   never part of it.
2. Fusion fitted on training data only, per model, as the package fits it (:mod:`protloc.training.fitting`; ``protloc
fuse``
   writes a preset's): the proteins of the held-out fold of the --fold-run runs (each trained on the other training
   folds, e.g. `protloc train --fold 0 --recipe fast --out runs/fold0-fast/seed0`; all holding out the same fold)
   get hits from a search against the whole training split leaving themselves out, and the network probabilities
   of the mean of the first m fold runs. :func:`protloc.evidence.fusion.fit` fits the rule's weights for each m (the
   rule's
   form was chosen by benchmarks/fusion_forms.py, on the same fold). A predictor of k members (a single model: 1)
   is fused with the rule fitted for m = min(k, number of fold runs), so that an ensemble's rule is fitted on an
   ensemble's probabilities, which are less peaked than one model's. The shipped presets' fusion.json are these
   rules (`protloc fuse protloc/prediction/presets/NAME --fold-run ...`, in make bench).
3. Test split, searched against the training split: homology alone (best hit's class; the top class of the
   fusion's homology term), each shipped model, each --run and each --ensemble (the mean of its members'
   probabilities, members being runs or shipped models, a shipped ensemble counting as its members) alone and
   fused, with 95% intervals, and an exact McNemar test of fused against the network alone on the same proteins.
   The test split is used for nothing else.
Writes benchmarks/results/homology.{json,md}.
"""
from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np

from common import cached_predictions, command, machine, test_report, write_results
from protloc.data import datasets
from protloc.evidence import fusion, homology
from protloc.models import zoo
from protloc.prediction import loading, presets
from protloc.training import evaluation, fitting, loop

SPEC = datasets.get("multiloc")
IDENTITY_BANDS = ((0.0, 0.3), (0.3, 0.5), (0.5, 1.01))
"""Best-hit identity bands in which the best hit's class is scored."""


def best_hit_table(labels: np.ndarray, best: list) -> list[dict]:
    """How often the best hit's class is right, by identity band."""
    rows = []
    for low, high in IDENTITY_BANDS:
        inside = [(hit, label) for hit, label in zip(best, labels) if hit and low <= hit.identity < high]
        rows.append({"identity": [low, min(high, 1.0)], "proteins": len(inside),
                     "best_hit_right": float(np.mean([label in hit.labels for hit, label in inside])) if inside
                     else None})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold-run", type=pathlib.Path, required=True, action="append",
                        help="run directory of a model trained with one training fold held out; repeatable (the "
                             "same fold each time), in the order their means are formed")
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
    fold_configs = [loop.read_config(run) for run in args.fold_run]
    if any(config.fold is None or config.dataset != SPEC.name for config in fold_configs) or len(
            {config.fold for config in fold_configs}) > 1:
        parser.error(f"every --fold-run must hold out the same training fold of {SPEC.name}")

    train = SPEC.examples("train", None, args.data_dir)
    test = SPEC.examples("test", None, args.data_dir)
    reference = homology.ReferenceSet.from_examples(train, SPEC.class_names)
    search = homology.HomologySearch(reference)
    start = time.perf_counter()
    rules = fold_fusions(args.fold_run, fold_configs, train, search)
    fold_s = time.perf_counter() - start

    start = time.perf_counter()
    hits = search.search([e.sequence for e in test])
    test_search_s = time.perf_counter() - start
    evidence = homology.class_evidence(hits, len(SPEC.class_names))
    scores, has_hit = rules[0].homology_scores(evidence), evidence.has_hit
    best = [found[0] if found else None for found in hits]
    labels = datasets.labels_of(test)
    best_hit = np.array([hit.labels[0] if hit else -1 for hit in best])
    homology_call = np.where(has_hit, np.argmax(scores, axis=1), -1)
    rows = {"homology: best hit's class (no hit = wrong)": _row(labels, _one_hot(best_hit)),
            "homology: the fusion's homology term (no hit = wrong)": _row(labels, _one_hot(homology_call))}
    networks, sizes = {}, {}
    for name in presets.names():
        model = loading.load_network(name)
        networks[name], sizes[name] = evaluation.predict_probabilities(model, test), zoo.member_count(model)
    for name, run in args.run:
        networks[name], sizes[name] = _run_predictions(run, labels, args.data_dir), 1
    for name, members in args.ensemble:
        networks[name], sizes[name] = _ensemble_predictions(members.split(","), networks, sizes, labels,
                                                            args.data_dir)
    for name, network in networks.items():
        rule = _rule_for(rules, sizes[name])
        fused = rule.apply(network, evidence)[0]
        network_row, fused_row = _row(labels, network), _row(labels, fused)
        fused_row["vs_network"] = evaluation.mcnemar_exact(fused_row.pop("correct"), network_row.pop("correct"))
        fused_row["fusion_fold_models"] = len(rule.provenance["fold_runs"])
        rows[f"{name}: network alone"] = network_row
        rows[f"{name}: fused with homology"] = fused_row
    for row in rows.values():
        row.pop("correct", None)
    results = {"command": command(), "machine": machine(), "reference_proteins": len(reference),
               "test_proteins": len(test), "test_with_hit": int(has_hit.sum()),
               "best_hit_by_identity": best_hit_table(labels, best), "fusions": [rule.__dict__ for rule in rules],
               "rows": rows, "seconds": {"fold_fits": fold_s, "test_search": test_search_s},
               "ensembles": {name: members.split(",") for name, members in args.ensemble}}
    write_results("homology", results, markdown(results))
    print(markdown(results))
    return 0


def fold_fusions(fold_runs: list[pathlib.Path], fold_configs: list, train: list, search: homology.HomologySearch
                 ) -> list[fusion.Fusion]:
    """The fusion rules fitted on the held-out fold of ``fold_runs``: element m - 1 on the mean probabilities of the
    first m runs, with hits from a leave-one-out search of the fold against the whole training split."""
    fold = fold_configs[0].fold
    held_out = fitting.held_out(train, fold, search)
    fold_examples = held_out.examples
    total, rules = 0.0, []
    for count, run in enumerate(fold_runs, 1):
        total = total + evaluation.predict_probabilities(zoo.load_model(run / "model.keras"), fold_examples)
        rules.append(fusion.fit(total / count, held_out.evidence, held_out.labels, provenance={
            "command": command(), "fold_runs": [str(r) for r in fold_runs[:count]],
            "fold_run_configs": [c.__dict__ for c in fold_configs[:count]],
            "data": f"{SPEC.name} training fold {fold} ({len(fold_examples)} proteins): network probabilities of "
                    f"{'the mean of ' + str(count) + ' models' if count > 1 else 'a model'} trained on the other "
                    f"folds; hits from a search of the whole training split leaving each protein itself out"}))
    return rules


def _rule_for(rules: list[fusion.Fusion], members: int) -> fusion.Fusion:
    """The rule for a predictor of ``members`` models: fitted on the mean of as many fold models, or of all."""
    return rules[min(members, len(rules)) - 1]


def _run_predictions(run: str, labels: np.ndarray, data_dir) -> np.ndarray:
    """A finished run's test-split probabilities ``(n, classes)``; exits naming the run if its test split differs."""
    run_labels, probabilities = cached_predictions(pathlib.Path(run), data_dir)
    if not np.array_equal(run_labels, labels):
        raise SystemExit(f"{run}: not a run of {SPEC.name} (its test proteins differ)")
    return probabilities


def _ensemble_predictions(members: list[str], shipped: dict, sizes: dict, labels: np.ndarray, data_dir
                          ) -> tuple[np.ndarray, int]:
    """The mean test-split probabilities ``(n, classes)`` of ``members`` (run directories, or names of shipped models
    whose probabilities are in ``shipped`` and member counts in ``sizes``), each zoo model counting once: a shipped
    ensemble of N members weighs N, which is what one ensemble of all the members would compute; and the number of
    zoo models."""
    total, count = 0.0, 0
    for member in members:
        if member in presets.names():
            total, count = total + sizes[member] * shipped[member], count + sizes[member]
        else:
            total, count = total + _run_predictions(member, labels, data_dir), count + 1
    return total / count, count


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
    lines = ["# Homology evidence on MultiLoc", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             f"Reference: the {results['reference_proteins']} training proteins (MMseqs2 `easy-search -s 4`, "
             f"E < 1e-3, 20 prefilter candidates, 10 best hits). {results['test_with_hit']} of "
             f"{results['test_proteins']} test proteins "
             f"have a hit ({results['test_with_hit'] / results['test_proteins']:.1%}); searching them took "
             f"{results['seconds']['test_search']:.1f} s.", "",
             "| best-hit identity | test proteins | best hit's class right |", "|---|---:|---:|"]
    for band in results["best_hit_by_identity"]:
        right = f"{band['best_hit_right']:.3f}" if band["best_hit_right"] is not None else "-"
        lines.append(f"| {band['identity'][0]:.1f}-{band['identity'][1]:.1f} | {band['proteins']} | {right} |")
    fold = results["fusions"][0]["provenance"]
    lines += ["", "Fusion rule (log-linear): a protein with hits gets fused = softmax(a log(network) + b identity + "
              "c bits), where identity and bits are, per class, the highest identity and the highest bit score "
              "(over the best hit's) among its hits of that class (0 without); a protein without a hit keeps the "
              "network's probabilities. a, b, c: the smallest log loss, fitted on training data only, per model, on "
              f"the {fold['fit']['proteins']} proteins of training fold {fold['fold_run_configs'][0]['fold']}: rule "
              "m from the mean network probabilities of the first m fold models (trained on the other folds), hits "
              "from a search of the whole training split leaving each protein itself out. A predictor of k models "
              f"uses rule m = min(k, {len(results['fusions'])}).", "",
              "| m | fold models | a (network) | b (identity) | c (bits) | fold: network | fold: fused | "
              "fold: log loss |", "|---:|---|---:|---:|---:|---:|---:|---:|"]
    for m, rule in enumerate(results["fusions"], 1):
        fit = rule["provenance"]["fit"]
        lines.append(f"| {m} | {', '.join(f'`{run}`' for run in rule['provenance']['fold_runs'])} | "
                     f"{rule['network_weight']:.2f} | {rule['identity_weight']:.2f} | {rule['bits_weight']:.2f} | "
                     f"{fit['accuracy_network']:.3f} | {fit['accuracy_fused']:.3f} | {fit['log_loss']:.3f} |")
    lines += ["", f"Test split ({results['test_proteins']:,} proteins; the homology term's row uses the rule of "
              "m = 1):", "",
              "| predictor | test accuracy (95% CI) | MCC | fused vs network alone | m |", "|---|---|---:|---|---:|"]
    for name, row in results["rows"].items():
        low, high = row["accuracy_95ci"]
        paired = row.get("vs_network")
        test = (f"{paired['only_first']} vs {paired['only_second']}, exact McNemar {_p_value(paired['p_value'])}"
                if paired else "")
        lines.append(f"| {name} | {row['accuracy']:.3f} ({low:.3f}-{high:.3f}) | {row['mcc']:.3f} | {test} | "
                     f"{row.get('fusion_fold_models', '')} |")
    if results.get("ensembles"):
        lines += ["", "Ensembles (mean of the members' probabilities; a shipped ensemble counts as its members):", ""]
        lines += [f"* {name}: {', '.join(f'`{member}`' for member in members)}"
                  for name, members in results["ensembles"].items()]
    lines += ["", "Paper (Sønderby et al. 2015, with PSI-BLAST profiles): R-LSTM 0.879, ensemble 0.902; "
              "SherLoc2 (with GO terms) 0.930."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
