"""Training time to the same validation accuracy: the 50-epoch recipe against the default recipe, in one run.

Usage:
    python benchmarks/train_speed.py [--fold 0] [--out runs/train-speed] [--report-only]

Both recipes train an R-LSTM (seed 0) on the training folds other than --fold and are scored on --fold after every
epoch; the test split is never read. Each trains in full, in a fresh process, one after the other, on this machine
(40 minutes to two hours on 2 CPU cores, by machine):

* old: the recipe behind the shipped model and Table 1 at 50 epochs (TensorFlow, Adam at a constant 1e-3, whole
  proteins up to 1,000 residues, dropout 0.5, the paper's architecture).
* new: ``protloc train`` with the default recipe (see :data:`protloc.models.recipes.RECIPES`: warm-up + cosine schedule,
  its own dropout, pooling before the LSTMs), on TensorFlow.

Before both: one training step of the R-LSTM is timed on each Keras backend (TensorFlow with protloc's thread
layout, and JAX), in fresh processes, at three lengths (the measurement behind the choice of backend); and one
epoch's training steps of both recipes' models are timed batch by batch in turn in one process
(:func:`interleaved_epoch_seconds`), a cost ratio that the machine's speed drifting between the two runs cannot
move.

Target: the new recipe's mean validation accuracy over its last 5 epochs at least the 50-epoch learning curve's
(epochs 46-50 of benchmarks/results/learning-curve-rlstm-fold0.json, the same recipe, fold and seed), in at most
25% of the old recipe's wall time by each of three ratios: the measured totals, epochs x median epoch seconds
(which a few slowed epochs cannot move), and epochs x interleaved epoch seconds. The report also sets the new
accuracy against the old recipe's in this run. Writes benchmarks/results/train-speed.{json,md,png}.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys

from common import RESULTS, command, in_fresh_process, machine, write_results
from protloc.models import hyperparameters, recipes
from protloc.training import loop

OLD = {"recipe": "paper", "learning_rate": 1e-3, "epochs": 50, "backend": "tensorflow"}
"""The 50-epoch recipe of Table 1 and of the shipped model."""
NEW = {"recipe": recipes.DEFAULT_RECIPE, "backend": "tensorflow"}
LEARNING_CURVE = RESULTS / "learning-curve-rlstm-fold0.json"
BACKEND_LENGTHS = (128, 384, 640)
"""Protein lengths (residues) at which the two Keras backends' training steps are timed."""


def step_seconds(lengths, steps: int = 10, batch_size: int = 32, hparams=None) -> dict:
    """Wall seconds and CPU cores used per training step of the paper's R-LSTM (or of an R-LSTM with ``hparams``)
    on this process's Keras backend, batch ``batch_size`` of random proteins of each length (after 2 warm-up steps,
    so compilation is excluded), with protloc's thread layout (:func:`protloc.utils.runtime.run_branches_in_parallel`)."""
    import time

    import numpy as np

    from protloc.models import zoo
    from protloc.utils import runtime

    runtime.run_branches_in_parallel()
    model = loop.compile_model(zoo.build_model("rlstm", [str(i) for i in range(11)], **(hparams or {})),
                                   1e-3)
    rng = np.random.default_rng(0)
    found = {}
    for length in lengths:
        tokens = {zoo.TOKENS: rng.integers(1, 21, size=(batch_size, length)).astype("int32")}
        labels = rng.integers(0, 11, size=(batch_size,)).astype("int32")
        for _ in range(2):
            model.train_on_batch(tokens, labels)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(steps):
            model.train_on_batch(tokens, labels)
        wall = time.perf_counter() - wall
        found[str(length)] = {"seconds": wall / steps, "cores": (time.process_time() - cpu) / wall}
    return found


def backend_comparison(lengths=BACKEND_LENGTHS, **step_options) -> dict:
    """:func:`step_seconds` (with ``step_options``) on TensorFlow and on JAX, each in a fresh process, one after the
    other."""
    return {backend: in_fresh_process(functools.partial(step_seconds, **step_options), list(lengths),
                                      environment={"KERAS_BACKEND": backend})
            for backend in ("tensorflow", "jax")}


def interleaved_epoch_seconds(fold: int, dataset: str = "multiloc", data_dir=None, passes: int = 2) -> dict:
    """Seconds of one epoch's training steps of each recipe's R-LSTM, taken batch by batch in turn in one process
    (TensorFlow, protloc's thread layout), so that both see the same machine: the two recipes' costs per epoch free
    of any drift in the machine's speed over the hour between their runs. The batches are those of the first epoch
    of the training folds other than ``fold`` (both recipes train on the same batches: whole proteins, batches of
    32); every pass but the last is untimed (tracing, warm-up). Validation is not included.

    Returns:
        {"old": seconds, "new": seconds, "batches": training batches in the epoch}.
    """
    import time

    from protloc.data import datasets, pipeline
    from protloc.models import zoo
    from protloc.utils import runtime

    runtime.run_branches_in_parallel()
    old_recipe, new_recipe = recipes.RECIPES[OLD["recipe"]], recipes.RECIPES[NEW["recipe"]]
    if (old_recipe.batch_size, old_recipe.train_max_length) != (new_recipe.batch_size, new_recipe.train_max_length):
        raise ValueError("the two recipes train on different batches; interleaving them would not compare epochs")
    spec = datasets.get(dataset)
    examples = [loop.truncated(example, new_recipe.train_max_length)
                for example in spec.examples("train", spec.folds_except(fold), data_dir)]
    batches = pipeline.BucketedBatches(examples, new_recipe.batch_size, shuffle_seed=0)
    compiled = {"old": loop.compile_model(zoo.build_model("rlstm", spec.class_names), OLD["learning_rate"]),
                "new": loop.compile_model(zoo.build_model("rlstm", spec.class_names, **new_recipe.hparams),
                                              new_recipe.learning_rate)}
    seconds = dict.fromkeys(compiled, 0.0)
    for timed_pass in range(passes):
        for index in range(len(batches)):
            features, labels = batches[index]
            for name, model in compiled.items():
                start = time.perf_counter()
                model.train_on_batch(features, labels)
                if timed_pass == passes - 1:
                    seconds[name] += time.perf_counter() - start
    return {**seconds, "batches": len(batches)}


def train_in_fresh_process(run_dir: pathlib.Path, fold: int, settings: dict) -> list[dict]:
    """``protloc train`` with ``settings`` in a new process (its own backend); the run's history rows."""
    argv = [sys.executable, "-m", "protloc.apps.cli", "train", "--out", str(run_dir), "--fold", str(fold), "--seed", "0",
            "--recipe", settings["recipe"], "--backend", settings["backend"]]
    if "learning_rate" in settings:
        argv += ["--learning-rate", str(settings["learning_rate"])]
    if "epochs" in settings:
        argv += ["--epochs", str(settings["epochs"])]
    environment = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    subprocess.run(argv, check=True, env=environment)
    return loop.read_history(run_dir)


def last5(rows: list[dict]) -> float:
    """Mean validation accuracy over a run's last 5 epochs."""
    return statistics.mean(row["val_accuracy"] for row in rows[-5:])


def summary(old_rows: list[dict], new_rows: list[dict], curve_accuracy: float, interleaved: dict) -> dict:
    """The comparison of two fully trained runs (history rows with ``epoch_seconds`` and ``val_accuracy``):
    wall seconds, three time ratios (measured totals; epochs x median epoch seconds; epochs x the
    :func:`interleaved_epoch_seconds` of each), whether the new run's accuracy reaches the old one's, and the
    verdict: at least ``curve_accuracy`` (the learning curve's mean validation accuracy over epochs 46-50, the
    target) in at most 0.25 of the time by all three ratios."""
    old_seconds = sum(row["epoch_seconds"] for row in old_rows)
    new_seconds = sum(row["epoch_seconds"] for row in new_rows)
    old_median = statistics.median(row["epoch_seconds"] for row in old_rows)
    new_median = statistics.median(row["epoch_seconds"] for row in new_rows)
    time_ratio = new_seconds / old_seconds
    median_ratio = len(new_rows) * new_median / (len(old_rows) * old_median)
    interleaved_ratio = len(new_rows) * interleaved["new"] / (len(old_rows) * interleaved["old"])
    old_accuracy, new_accuracy = last5(old_rows), last5(new_rows)
    return {"old_seconds": old_seconds, "new_seconds": new_seconds, "old_median_epoch_seconds": old_median,
            "new_median_epoch_seconds": new_median, "time_ratio": time_ratio, "median_time_ratio": median_ratio,
            "interleaved_time_ratio": interleaved_ratio,
            "old_val_accuracy_last5": old_accuracy, "new_val_accuracy_last5": new_accuracy,
            "curve_val_accuracy_last5": curve_accuracy, "at_least_old_here": new_accuracy >= old_accuracy,
            "target_met": new_accuracy >= curve_accuracy and max(time_ratio, median_ratio, interleaved_ratio) <= 0.25}


def standard_error(accuracy: float, proteins: int) -> float:
    """Binomial standard error of an accuracy measured on ``proteins`` proteins."""
    return (accuracy * (1 - accuracy) / proteins) ** 0.5


def old_label() -> str:
    """One line describing the old recipe: ``paper`` with the shipped model's epochs and learning rate."""
    recipe = dataclasses.replace(recipes.RECIPES[OLD["recipe"]], epochs=OLD["epochs"],
                                 learning_rate=OLD["learning_rate"])
    dropout = hyperparameters.HYPERPARAMETERS["dropout"].default
    return f"old: {OLD['backend']}, {recipe.describe()}, dropout {dropout:g} (the shipped model's recipe)"


def new_label() -> str:
    """One line describing the new recipe, from its definition."""
    return f"{NEW['recipe']}: {NEW['backend']}, {recipes.RECIPES[NEW['recipe']].describe()}"


def elapsed_minutes(rows: list[dict]) -> list[tuple[float, float]]:
    """(wall minutes since the run's start, validation accuracy) at the end of each epoch."""
    elapsed, points = 0.0, []
    for row in rows:
        elapsed += row["epoch_seconds"]
        points.append((elapsed / 60, row["val_accuracy"]))
    return points


def plot(results: dict, path: pathlib.Path) -> None:
    """Validation accuracy against wall time (minutes) for both recipes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 5.5))
    axis.plot(*zip(*elapsed_minutes(results["old_history"])), label=old_label())
    axis.plot(*zip(*elapsed_minutes(results["new_history"])), label=new_label())
    axis.axhline(results["summary"]["curve_val_accuracy_last5"], color="grey", linestyle=":",
                 label="50-epoch learning curve, mean of epochs 46-50")
    axis.set_xlabel("training wall time (minutes, this machine)")
    axis.set_ylabel(f"validation accuracy (fold {results['fold']})")
    axis.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12))  # below the axes: long labels
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def markdown(results: dict) -> str:
    found = results["summary"]
    verdict = "met" if found["target_met"] else "not met"
    old, new, interleaved = results["old_history"], results["new_history"], results["interleaved_epoch_seconds"]
    lines = ["# Training time to the same validation accuracy", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}", "",
             "Both recipes trained in full, one after the other, in this run (fold "
             f"{results['fold']} held out and scored after every epoch; the test split never read).", "",
             "| recipe | epochs | wall time | median epoch | validation accuracy, mean of the last 5 epochs |",
             "|---|---:|---:|---:|---:|",
             f"| {old_label()} | {len(old)} | {found['old_seconds'] / 60:.1f} min | "
             f"{found['old_median_epoch_seconds']:.0f} s | {found['old_val_accuracy_last5']:.3f} |",
             f"| {new_label()} | {len(new)} | {found['new_seconds'] / 60:.1f} min | "
             f"{found['new_median_epoch_seconds']:.0f} s | {found['new_val_accuracy_last5']:.3f} |", "",
             f"Wall-time ratio {NEW['recipe']} / old: **{found['time_ratio']:.2f}** measured, "
             f"**{found['median_time_ratio']:.2f}** as epochs x median epoch seconds, "
             f"**{found['interleaved_time_ratio']:.2f}** as epochs x the seconds of one epoch's training steps "
             f"taken in turn in one process ({interleaved['old']:.0f} s old, {interleaved['new']:.0f} s "
             f"{NEW['recipe']}, {interleaved['batches']} batches; the same machine for both). Target: <= 0.25 by all "
             f"three, at a validation accuracy no lower than the old recipe's learning curve "
             f"({found['curve_val_accuracy_last5']:.3f}, learning-curve-rlstm-fold0.json, epochs 46-50): {verdict}. "
             f"Against the old recipe's own run here ({found['old_val_accuracy_last5']:.3f}): "
             f"{found['new_val_accuracy_last5'] - found['old_val_accuracy_last5']:+.3f} "
             f"({'at least as high' if found['at_least_old_here'] else 'lower'}; one run of each, a standard error of "
             f"about {standard_error(found['old_val_accuracy_last5'], results['validation_proteins']):.3f} each).", "",
             "![validation accuracy against wall time](train-speed.png)", "",
             "| epoch | old: validation accuracy | old: epoch seconds "
             f"| {NEW['recipe']}: validation accuracy | {NEW['recipe']}: epoch seconds |", "|---:|---:|---:|---:|---:|"]
    for number in range(max(len(old), len(new))):
        cells = [f"{rows[number]['val_accuracy']:.3f} | {rows[number]['epoch_seconds']:.0f}"
                 if number < len(rows) else " | " for rows in (old, new)]
        lines.append(f"| {number + 1} | {cells[0]} | {cells[1]} |")
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
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/train-speed"))
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the report from the histories in benchmarks/results/train-speed.json, training "
                             "nothing (the command recorded stays that of the run that measured them)")
    args = parser.parse_args(argv)
    curve = json.loads(LEARNING_CURVE.read_text())
    if curve["fold"] != args.fold:
        parser.error(f"{LEARNING_CURVE.name} is of fold {curve['fold']}, not {args.fold}")
    curve_accuracy = curve["summary"]["window_means"][str(OLD["epochs"])]
    if args.report_only:
        results = json.loads((RESULTS / "train-speed.json").read_text())
    else:
        for name in ("old", "new"):
            shutil.rmtree(args.out / name, ignore_errors=True)  # both timed from scratch, in this run
        backends = backend_comparison()
        interleaved = in_fresh_process(interleaved_epoch_seconds, args.fold, environment={"KERAS_BACKEND": "tensorflow"})
        old_rows = train_in_fresh_process(args.out / "old", args.fold, OLD)
        new_rows = train_in_fresh_process(args.out / "new", args.fold, NEW)
        results = {"command": command(), "machine": machine(), "fold": args.fold, "old_settings": OLD,
                   "new_settings": NEW, "old_history": old_rows, "new_history": new_rows, "backends": backends,
                   "interleaved_epoch_seconds": interleaved}
    results["validation_proteins"] = curve["validation_proteins"]  # fold --fold's proteins, as scored here
    results["summary"] = summary(results["old_history"], results["new_history"], curve_accuracy,
                                 results["interleaved_epoch_seconds"])
    write_results("train-speed", results, markdown(results))
    plot(results, RESULTS / "train-speed.png")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
