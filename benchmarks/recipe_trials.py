"""Summary of training-recipe trials: run directories of ``protloc train --fold F`` compared side by side.

Usage:
    python benchmarks/recipe_trials.py RUN_DIR[:BACKEND] ... [--results recipe-trials]

For each run: the command that reproduces it (from its config.json), epochs (those finished, where a run was
stopped before its planned number), the median and the total of its epoch wall times, and its validation accuracy
(mean of the last 5 epochs, and the best epoch). ``:BACKEND`` names
the Keras backend of a run whose config.json does not record one (runs of protloc before it did). Epoch times of
runs trained while the machine did other work are inflated; the median is the steadier figure, and
benchmarks/train_speed.py is the clean side-by-side measurement. Writes benchmarks/results/NAME.{json,md}.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

from common import command, machine, write_results
from protloc.models import hyperparameters
from protloc.training import loop


def trial(run_dir: pathlib.Path, backend: str | None = None) -> dict:
    """One run's settings, reproducing command and history summary."""
    saved = json.loads((run_dir / "config.json").read_text())
    config = loop.read_config(run_dir)
    backend = saved.get("backend") or backend or "not recorded"
    rows = loop.read_history(run_dir)
    if len(rows) < 5 or rows[-1].get("val_accuracy") is None:
        raise ValueError(f"{run_dir}: needs at least 5 epochs with a held-out fold")
    seconds = [row["epoch_seconds"] for row in rows]
    changed = {name: value for name, value in config.hparams.items()
               if value != hyperparameters.PAPER_HPARAMS[name] or name == "dropout"}  # a recipe may set dropout
    argv = ["protloc train", f"--out {run_dir}", f"--fold {config.fold}", f"--seed {config.seed}",
            f"--recipe {config.recipe}", f"--backend {backend}", f"--epochs {config.epochs}",
            f"--learning-rate {config.learning_rate:g}", f"--schedule {config.schedule}",
            f"--batch-size {config.batch_size}", f"--train-max-length {config.train_max_length}",
            *(option(name, value) for name, value in changed.items())]
    validation = [row["val_accuracy"] for row in rows]
    return {"run": str(run_dir), "command": " ".join(argv), "backend": backend, "epochs": len(rows),
            "planned_epochs": config.epochs,
            "batch_size": config.batch_size, "learning_rate": config.learning_rate,
            "train_max_length": config.train_max_length, "dropout": config.hparams["dropout"],
            "pool_size": config.hparams["pool_size"], "global_max": config.hparams["global_max"],
            "median_epoch_seconds": statistics.median(seconds), "total_minutes": sum(seconds) / 60,
            "val_accuracy_last5": statistics.mean(validation[-5:]), "best_val_accuracy": max(validation),
            "best_epoch": validation.index(max(validation)) + 1}


def option(name: str, value) -> str:
    """The ``protloc train`` option that sets hyper-parameter ``name`` to ``value``."""
    flag = name.replace("_", "-")
    if isinstance(value, bool):
        return f"--{flag}" if value else f"--no-{flag}"
    return f"--{flag} {value}"


def markdown(results: dict) -> str:
    lines = ["# Training-recipe trials", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}",
             "", "| run | backend | epochs | batch | peak lr | length cap | dropout | pooling | global max | "
             "median epoch (s) | total (min) | validation, last 5 | best (epoch) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for found in results["trials"]:
        epochs = found["epochs"] if found["epochs"] == found["planned_epochs"] else (
            f"{found['epochs']} of {found['planned_epochs']} (stopped)")
        lines.append(f"| {'/'.join(pathlib.Path(found['run']).parts[-2:])} | {found['backend']} | {epochs} | "
                     f"{found['batch_size']} | {found['learning_rate']:g} | {found['train_max_length']} | "
                     f"{found['dropout']:g} | {found['pool_size']} | "
                     f"{'yes' if found['global_max'] else 'no'} | {found['median_epoch_seconds']:.0f} | "
                     f"{found['total_minutes']:.1f} | {found['val_accuracy_last5']:.3f} | {found['best_val_accuracy']:.3f} ({found['best_epoch']}) |")
    lines += ["", "Commands:", ""] + [f"* `{found['command']}`" for found in results["trials"]]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", metavar="RUN_DIR[:BACKEND]")
    parser.add_argument("--results", default="recipe-trials", help="name of the results files")
    args = parser.parse_args(argv)
    trials = []
    for item in args.runs:
        path, _, backend = item.partition(":")
        try:
            trials.append(trial(pathlib.Path(path), backend or None))
        except (OSError, ValueError) as error:
            parser.error(str(error))
    results = {"command": command(), "machine": machine(), "trials": trials}
    write_results(args.results, results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
