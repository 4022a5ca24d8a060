"""Training time to the same validation accuracy: the 50-epoch recipe against the default recipe, in one run.

Usage:
    python benchmarks/train_speed.py [--fold 0] [--old-epochs 5] [--out runs/train-speed]

Both recipes train an R-LSTM (paper architecture, seed 0) on the training folds other than --fold and are scored
on --fold after every epoch; the test split is never read. Each trains in a fresh process, one after the other,
on this machine:

* old: the recipe behind the shipped model and Table 1 at 50 epochs (TensorFlow, Adam at a constant 1e-3, whole
  proteins up to 1,000 residues). Its epochs all do the same work, so it trains --old-epochs epochs and its
  50-epoch wall time is its first epoch plus 49 times the mean of the others. Its validation accuracy over epochs
  46-50 is read from benchmarks/results/learning-curve-rlstm-fold0.json (the same recipe, fold and seed, trained
  to 60 epochs by benchmarks/learning_curve.py).
* new: ``protloc train`` with the default recipe (see :data:`protloc.recipes.RECIPES`: warm-up + cosine schedule,
  its own dropout, max pooling before the LSTMs), on TensorFlow, trained in full.

Before both, one training step of the R-LSTM is timed on each Keras backend (TensorFlow with protloc's thread
layout, and JAX), in fresh processes, at three lengths: the measurement behind the choice of backend.

Target: the new recipe's mean validation accuracy over its last 5 epochs at least the old one's (epochs 46-50),
in at most 25% of its wall time, extrapolated from its fastest timed epoch after the first (the stricter figure: an
old epoch slowed by the machine would flatter the new recipe; the report gives the mean-based ratio too). Writes benchmarks/results/train-speed.{json,md,png}.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

from common import RESULTS, command, in_fresh_process, machine, write_results
from protloc import recipes, training

OLD = {"recipe": "paper", "learning_rate": 1e-3, "epochs": 50, "backend": "tensorflow"}
"""The 50-epoch recipe of Table 1 and of the shipped model."""
NEW = {"recipe": recipes.DEFAULT_RECIPE, "backend": "tensorflow"}
LEARNING_CURVE = RESULTS / "learning-curve-rlstm-fold0.json"
BACKEND_LENGTHS = (128, 384, 640)
"""Protein lengths (residues) at which the two Keras backends' training steps are timed."""


def step_seconds(lengths, steps: int = 10, batch_size: int = 32) -> dict:
    """Wall seconds and CPU cores used per training step of the paper's R-LSTM on this process's Keras backend,
    batch ``batch_size`` of random proteins of each length (after 2 warm-up steps, so compilation is excluded),
    with protloc's thread layout (:func:`protloc.runtime.run_branches_in_parallel`)."""
    import time

    import numpy as np

    from protloc import models, runtime

    runtime.run_branches_in_parallel()
    model = training.compile_model(models.build_model("rlstm", [str(i) for i in range(11)]), 1e-3)
    rng = np.random.default_rng(0)
    found = {}
    for length in lengths:
        tokens = {models.TOKENS: rng.integers(1, 21, size=(batch_size, length)).astype("int32")}
        labels = rng.integers(0, 11, size=(batch_size,)).astype("int32")
        for _ in range(2):
            model.train_on_batch(tokens, labels)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            model.train_on_batch(tokens, labels)
        wall = time.perf_counter() - wall
        found[str(length)] = {"seconds": wall / steps, "cores": (time.process_time() - cpu) / wall}
    return found


def backend_comparison(lengths=BACKEND_LENGTHS) -> dict:
    """:func:`step_seconds` on TensorFlow and on JAX, each in a fresh process, one after the other."""
    return {backend: in_fresh_process(step_seconds, list(lengths), environment={"KERAS_BACKEND": backend})
            for backend in ("tensorflow", "jax")}


def train_in_fresh_process(run_dir: pathlib.Path, fold: int, settings: dict, epochs: int | None = None) -> list[dict]:
    """``protloc train`` with ``settings`` in a new process (its own backend); the run's history rows."""
    argv = [sys.executable, "-m", "protloc.cli", "train", "--out", str(run_dir), "--fold", str(fold), "--seed", "0",
            "--recipe", settings["recipe"], "--backend", settings["backend"]]
    if "learning_rate" in settings:
        argv += ["--learning-rate", str(settings["learning_rate"])]
    if epochs or settings.get("epochs"):
        argv += ["--epochs", str(epochs or settings["epochs"])]
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    subprocess.run(argv, check=True, env=environment)
    return training.read_history(run_dir)


def summary(old_rows: list[dict], new_rows: list[dict], old_curve: dict) -> dict:
    """The comparison: the old recipe's extrapolated wall time and curve accuracy against the new one's."""
    later = [row["epoch_seconds"] for row in old_rows[1:]] or [old_rows[0]["epoch_seconds"]]
    old_seconds = old_rows[0]["epoch_seconds"] + (OLD["epochs"] - 1) * statistics.mean(later)
    old_fastest_seconds = old_rows[0]["epoch_seconds"] + (OLD["epochs"] - 1) * min(later)
    new_seconds = sum(row["epoch_seconds"] for row in new_rows)
    old_accuracy = old_curve["summary"]["window_means"][str(OLD["epochs"])]
    new_accuracy = statistics.mean(row["val_accuracy"] for row in new_rows[-5:])
    return {"old_seconds": old_seconds, "old_epoch_seconds": later, "old_first_epoch_seconds":
            old_rows[0]["epoch_seconds"], "old_val_accuracy_last5": old_accuracy, "new_seconds": new_seconds,
            "new_val_accuracy_last5": new_accuracy, "time_ratio": new_seconds / old_seconds,
            "old_fastest_seconds": old_fastest_seconds, "time_ratio_to_fastest": new_seconds / old_fastest_seconds,
            "target_met": new_accuracy >= old_accuracy and new_seconds <= 0.25 * old_fastest_seconds}


def new_label() -> str:
    """One line describing the new recipe, from its definition."""
    return f"{NEW['recipe']}: {NEW['backend']}, {recipes.RECIPES[NEW['recipe']].describe()}"


def plot(results: dict, path: pathlib.Path) -> None:
    """Validation accuracy against wall time (minutes) for both recipes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = results["summary"]
    old_epoch = found["old_seconds"] / OLD["epochs"]
    old = [(epoch * old_epoch / 60, accuracy) for epoch, accuracy in enumerate(results["old_curve"], 1)]
    elapsed, new = 0.0, []
    for row in results["new_history"]:
        elapsed += row["epoch_seconds"]
        new.append((elapsed / 60, row["val_accuracy"]))
    figure, axis = plt.subplots(figsize=(7, 4.5))
    axis.plot(*zip(*old), label="old: TensorFlow, constant lr 1e-3, whole proteins (time extrapolated)")
    axis.plot(*zip(*new), label=new_label())
    axis.axhline(found["old_val_accuracy_last5"], color="grey", linestyle=":", label="old, mean of epochs 46-50")
    axis.set_xlabel("training wall time (minutes, this machine)")
    axis.set_ylabel(f"validation accuracy (fold {results['fold']})")
    axis.legend(fontsize=8, loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def markdown(results: dict) -> str:
    found = results["summary"]
    verdict = "met" if found["target_met"] else "not met"
    lines = ["# Training time to the same validation accuracy", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             "| recipe | epochs | wall time | validation accuracy, mean of the last 5 epochs |", "|---|---:|---:|---:|",
             f"| old: TensorFlow, Adam 1e-3 constant, whole proteins | {OLD['epochs']} | "
             f"{found['old_seconds'] / 60:.1f} min (first epoch {found['old_first_epoch_seconds']:.0f} s + 49 x "
             f"{statistics.mean(found['old_epoch_seconds']):.0f} s, from {results['old_epochs_timed']} epochs timed "
             f"here) | {found['old_val_accuracy_last5']:.3f} (learning-curve-rlstm-fold0.json, epochs 46-50) |",
             f"| {new_label()} | {len(results['new_history'])} | "
             f"{found['new_seconds'] / 60:.1f} min | {found['new_val_accuracy_last5']:.3f} |", "",
             f"Wall-time ratio {NEW['recipe']} / old: **{found['time_ratio']:.2f}**; against the old recipe with "
             f"every epoch after the first as fast as its fastest timed one ({min(found['old_epoch_seconds']):.0f} s, "
             f"{found['old_fastest_seconds'] / 60:.1f} min in all): **{found['time_ratio_to_fastest']:.2f}** (target: "
             f"<= 0.25 by the second, stricter ratio, at no lower validation accuracy: {verdict}).", "",
             "![validation accuracy against wall time](train-speed.png)", "",
             f"| epoch | {NEW['recipe']}: validation accuracy | {NEW['recipe']}: epoch seconds |", "|---:|---:|---:|"]
    lines += [f"| {number} | {row['val_accuracy']:.3f} | {row['epoch_seconds']:.0f} |"
              for number, row in enumerate(results["new_history"], 1)]
    lines += ["", "## Keras backend for CPU training", "",
              "Seconds per training step (R-LSTM, batch 32 of random proteins of one length, after 2 warm-up steps; "
              "each backend in a fresh process with protloc's thread layout), and the CPU cores each kept busy:", "",
              "| length (residues) | TensorFlow | JAX | JAX / TensorFlow |", "|---:|---:|---:|---:|"]
    backends = results["backends"]
    for length, tf_step in backends["tensorflow"].items():
        jax_step = backends["jax"][length]
        lines.append(f"| {length} | {tf_step['seconds']:.3f} s ({tf_step['cores']:.1f} cores) | "
                     f"{jax_step['seconds']:.3f} s ({jax_step['cores']:.1f} cores) | "
                     f"{jax_step['seconds'] / tf_step['seconds']:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--old-epochs", type=int, default=5, help="epochs of the old recipe to time (>= 2)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/train-speed"))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the histories in benchmarks/results/train-speed.json, training "
                             "nothing (the command recorded stays that of the run that measured them)")
    args = parser.parse_args(argv)
    if args.old_epochs < 2:
        parser.error("--old-epochs must be at least 2 (the first epoch includes tracing)")
    old_curve = json.loads(LEARNING_CURVE.read_text())
    if old_curve["fold"] != args.fold:
        parser.error(f"{LEARNING_CURVE.name} is of fold {old_curve['fold']}, not {args.fold}")
    if args.report_only:
        results = json.loads((RESULTS / "train-speed.json").read_text())
        results["summary"] = summary(results["old_history"], results["new_history"], old_curve)
    else:
        for name in ("old", "new"):
            shutil.rmtree(args.out / name, ignore_errors=True)  # both timed from scratch, in this run
        backends = backend_comparison()
        old_rows = train_in_fresh_process(args.out / "old", args.fold, OLD, epochs=args.old_epochs)
        new_rows = train_in_fresh_process(args.out / "new", args.fold, NEW)
        results = {"command": command(), "machine": machine(), "fold": args.fold,
                   "old_epochs_timed": args.old_epochs, "old_settings": OLD, "new_settings": NEW,
                   "old_history": old_rows, "new_history": new_rows,
                   "old_curve": [row["val_accuracy"] for row in old_curve["history"]],
                   "summary": summary(old_rows, new_rows, old_curve), "backends": backends}
    write_results("train-speed", results, markdown(results))
    plot(results, RESULTS / "train-speed.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
