"""A keras-tuner search over the coarse recipe's space on MultiLoc, its best configurations retrained in full, and
the choice of the configuration to ship, all on the training split (the test split is never read).

Usage (resumable: re-running continues the search, then the retraining):
    python benchmarks/tuner_search.py --tuner hyperband --epochs 30 --brackets 1 --fold 0 --families rlstm \\
        --out runs/tuning

Steps:
1. ``tuning.search`` in OUT/search: every trial trains as the coarse recipe does (warm-up + cosine over 30 epochs,
   batch 32, whole proteins), validated on training fold 0; Hyperband's brackets continue the best trials of
   each round from their weights along the same schedule. A configuration with more parameters than one
   ensemble member's share of ``--max-ensemble-mib`` at 2 bytes a parameter (``--max-parameters``) fails without
   training: it could not ship.
2. The ``--top`` best configurations (each configuration's best score over its rounds) among those whose
   ``--members``-member ensemble fits ``--max-ensemble-mib`` (the networks' size as a preset stores them, float16
   weights without optimizer state, measured on the built network: the package ships the ensemble in the
   repository, whose size is limited; 6 MiB leaves room for the other presets), and the coarse recipe's own
   configuration, are each trained in full (the recipe's 30 epochs, seed 0) with fold 0 held out, in
   OUT/fold0/NAME: the same protocol for all, scored by the mean validation accuracy of their last 5 epochs.
   Better-ranked configurations that do not fit are listed, untrained.
3. The candidate with the best such score is chosen; its ``protloc train --config`` file is OUT/chosen.json.
Writes benchmarks/results/tuning.{json,md}: every trial (configuration, epochs, score, seconds), the retrained
scores, the choice, and the costs (search wall time, parameters and stored size of each retrained model).
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile

import numpy as np

from common import command, machine, timed_train, write_results
from protloc.data import datasets
from protloc.models import recipes, zoo
from protloc.training import loop, packaging
from protloc.utils import files, runtime
from tuning import search

LAST_EPOCHS = 5
"""Validation accuracy is averaged over this many last epochs (one epoch's is noisy)."""


def ranked_configs(history: list[dict]) -> list[tuple[float, dict]]:
    """Distinct configurations of a search, best first: each one's best score over its trials (rounds)."""
    best: dict[str, tuple[float, dict]] = {}
    for trial in history:
        if trial["score"] is None or trial["config"] is None:
            continue
        key = json.dumps(trial["config"], sort_keys=True)
        if key not in best or trial["score"] > best[key][0]:
            best[key] = (trial["score"], trial["config"])
    return sorted(best.values(), key=lambda item: -item[0])


def last_epochs_accuracy(run: pathlib.Path) -> float:
    """Mean validation accuracy of a run's last :data:`LAST_EPOCHS` epochs."""
    history = [row["val_accuracy"] for row in loop.read_history(run)]
    return float(np.mean(history[-LAST_EPOCHS:]))


def stored_bytes(network) -> int:
    """The size of a network's ``.keras`` file as a shipped preset stores it: no optimizer state, weights as float16
    (:func:`protloc.training.packaging.save_half`)."""
    with tempfile.TemporaryDirectory() as scratch:
        packaging.save_half(network, pathlib.Path(scratch) / "model.keras")
        return (pathlib.Path(scratch) / "model.keras").stat().st_size


def ensemble_size(config: dict, spec, members: int) -> dict:
    """A run config's network, built untrained: its parameters, stored bytes and ``members`` times those bytes."""
    network = zoo.build_model(config["model"], spec.class_names, **config["hparams"])
    size = stored_bytes(network)
    return {"parameters": int(network.count_params()), "stored_bytes": size, "ensemble_bytes": size * members}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    search.add_search_arguments(parser)
    parser.set_defaults(tuner="hyperband", epochs=30, fold=0)
    parser.add_argument("--top", type=int, default=3, help="configurations retrained in full (default 3)")
    parser.add_argument("--members", type=int, default=10, help="members of the ensemble to ship (default 10)")
    parser.add_argument("--max-ensemble-mib", type=float, default=6.0,
                        help="largest stored size of that ensemble, MiB (default 6)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/tuning"))
    args = parser.parse_args(argv)
    if args.max_parameters is None:  # float16 weights alone: a bound no network that fits exceeds
        args.max_parameters = int(args.max_ensemble_mib * 2**20 / args.members / 2)
    runtime.run_branches_in_parallel()
    best = search.search_from_arguments(parser, args, args.out / "search", verbose=2)
    history = json.loads((args.out / "search" / "history.json").read_text())
    epoch_seconds = [second for trial in history for second in trial["history"].get("epoch_seconds", [])]
    results = {"command": command(), "machine": machine(), "tuner": args.tuner, "epochs": args.epochs,
               "brackets": args.brackets, "fold": args.fold, "recipe": args.recipe, "families": args.families,
               "best_of_search": best, "trials": history, "search_seconds": float(sum(epoch_seconds)),
               "epoch_seconds_median": float(np.median(epoch_seconds)), "epochs_trained": len(epoch_seconds),
               "distinct_configurations": len(ranked_configs(history)), "retrained": {}, "chosen": None,
               "members": args.members, "max_ensemble_mib": args.max_ensemble_mib,
               "max_parameters": args.max_parameters, "excluded": [],
               "recipe_settings": recipes.RECIPES[args.recipe].describe()}
    write_results("tuning", results, markdown(results))  # the search's results, before the long retraining
    spec = datasets.get(args.dataset)
    budget = args.max_ensemble_mib * 2**20
    candidates = {}
    for score, config in ranked_configs(history):
        if len(candidates) == args.top:
            break
        size = ensemble_size(config, spec, args.members)
        if size["ensemble_bytes"] <= budget:
            candidates[f"search-{len(candidates) + 1}"] = config
        else:
            results["excluded"].append({"config": config, "score": score, **size})
    candidates[f"recipe-{args.recipe}"] = {"model": "rlstm", "hparams": {}, "recipe": args.recipe}
    retrained = results["retrained"]
    for name, config in candidates.items():
        run_config = loop.RunConfig.resolve(model=config["model"], hparams=config["hparams"],
                                                learning_rate=config.get("learning_rate"), recipe=config["recipe"],
                                                fold=args.fold, seed=0, dataset=spec.name)
        run = args.out / "fold0" / name
        seconds = timed_train(run, run_config, args.data_dir)
        network = zoo.load_model(run / "model.keras")
        retrained[name] = {"config": config, "run": str(run), "val_accuracy_last5": last_epochs_accuracy(run),
                           "val_accuracy_last": loop.read_history(run)[-1]["val_accuracy"],
                           "train_seconds": seconds, "parameters": int(network.count_params()),
                           "stored_bytes": stored_bytes(network)}
        retrained[name]["ensemble_fits"] = retrained[name]["stored_bytes"] * args.members <= budget
        write_results("tuning", results, markdown(results))
    fitting = [name for name in retrained if retrained[name]["ensemble_fits"]]
    if not fitting:
        raise SystemExit(f"no candidate's {args.members}-member ensemble fits {args.max_ensemble_mib} MiB")
    results["chosen"] = max(fitting, key=lambda name: retrained[name]["val_accuracy_last5"])
    files.write_json(args.out / "chosen.json", {**retrained[results["chosen"]]["config"], "name": results["chosen"]})
    write_results("tuning", results, markdown(results))
    print(markdown(results))
    return 0


def markdown(results: dict) -> str:
    trials = results["trials"]
    lines = ["# keras-tuner search on MultiLoc (training fold 0; the test split never read)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"Search: {results['tuner']}, at most {results['epochs']} epochs a trial"
             + (f", its {results['brackets']} most aggressive bracket(s)" if results.get("brackets") else "")
             + f"; every trial trained as the `{results['recipe']}` recipe ({results['recipe_settings']}), the "
               f"schedule spanning {results['epochs']} epochs; families {', '.join(results['families'] or ['all'])}. "
             f"{len(trials)} trials of {results['distinct_configurations']} distinct configurations: "
             f"{results['epochs_trained']} epochs, a median of {results['epoch_seconds_median']:.0f} s each, "
             f"{results['search_seconds'] / 3600:.1f} h of training summed (wall clock: it includes any time the "
             f"search was paused while other measurements ran on the machine, so the median is its cost).", "",
             *skipped_paragraph(results),
             f"## Retrained in full (fold {results['fold']} held out, seed 0, the recipe's epochs)", "",
             f"| candidate | validation accuracy, mean of last 5 epochs / last | parameters | stored | "
             f"{results['members']}-member ensemble fits {results['max_ensemble_mib']:g} MiB | training | "
             f"configuration |", "|---|---|---:|---:|---|---:|---|"]
    for name, row in results["retrained"].items():
        mark = " **(chosen)**" if name == results["chosen"] else ""
        lines.append(f"| {name}{mark} | {row['val_accuracy_last5']:.3f} / {row['val_accuracy_last']:.3f} | "
                     f"{row['parameters']:,} | {row['stored_bytes'] / 2**20:.2f} MiB | "
                     f"{'yes' if row['ensemble_fits'] else 'no'} | {row['train_seconds'] / 60:.0f} min | "
                     f"`{json.dumps(row['config'])}` |")
    if not results["retrained"]:
        lines.append("| (retraining not started) | | | | | | |")
    if results.get("excluded"):
        lines += ["", f"Ranked above the last candidate but not retrained: their {results['members']}-member ensemble "
                  f"would not fit {results['max_ensemble_mib']:g} MiB (sizes of the built, untrained network).", "",
                  "| search score | parameters | stored | ensemble | configuration |", "|---:|---:|---:|---:|---|"]
        lines += [f"| {row['score']:.4f} | {row['parameters']:,} | {row['stored_bytes'] / 2**20:.2f} MiB | "
                  f"{row['ensemble_bytes'] / 2**20:.2f} MiB | `{json.dumps(row['config'])}` |"
                  for row in results["excluded"]]
    choice = (f"Chosen: {results['chosen']}" if results["chosen"] else "Not chosen yet (the retraining is running)")
    lines += ["", f"{choice}. The rule: among the candidates whose {results['members']}-member ensemble fits "
              f"{results['max_ensemble_mib']:g} MiB (the repository that ships it has a size limit), the best mean "
              "validation accuracy of its last 5 epochs (runs/tuning/chosen.json, for `protloc train --config`); "
              "it was fixed before any candidate's retraining was seen.", "",
              "## Every trial", "", "| trial | epochs | from trial | score | seconds | configuration |",
              "|---|---:|---|---:|---:|---|"]
    for trial in sorted(trials, key=lambda t: (t["score"] is None, -(t["score"] or 0))):
        score = f"{trial['score']:.4f}" if trial["score"] is not None else "-"
        lines.append(f"| {trial['trial']} | {trial['epochs']} | {trial['continues'] or ''} | {score} | "
                     f"{trial['seconds']:.0f} | `{json.dumps((trial['config'] or {}).get('hparams', {}))}` |")
    return "\n".join(lines) + "\n"


def skipped_paragraph(results: dict) -> list[str]:
    """The markdown lines on the trials that failed without training (none: no lines), each with its reason."""
    failed = [f"{trial['trial']} ({trial['failure']})" for trial in results["trials"] if trial.get("failure")]
    if not failed:
        return []
    return [f"Failed untrained: {'; '.join(failed)}. The parameter limit of this search is "
            f"{results['max_parameters']:,}: one member's share of the {results['max_ensemble_mib']:g} MiB "
            "ensemble at 2 bytes a parameter.", ""]


if __name__ == "__main__":
    sys.exit(main())
