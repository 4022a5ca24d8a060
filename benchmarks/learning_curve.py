"""Does training longer help? Validation accuracy epoch by epoch on one held-out fold of the training split.

Usage (resumable; a larger --epochs extends a finished run):
    python benchmarks/learning_curve.py --model rlstm --fold 0 --epochs 60 --learning-rate 1e-3 \\
        --out runs/learning-curve

Trains MODEL on the training folds other than FOLD and scores FOLD after every epoch (Keras's validation
history); the test split is never read, so the curve may be used to choose the number of epochs. With
--start-from, a shorter finished or stopped run of the same configuration (e.g. table1.py's
runs/table1/rlstm-fold0) is copied first and extended, so its epochs are not trained again.
After every epoch, benchmarks/results/learning-curve-MODEL-foldK.{json,md} are rewritten with the epochs done.
"""
from __future__ import annotations

import argparse
import json
import math
import pathlib
import statistics
import sys

import keras

from common import EpochWallClock, command, machine, start_from, write_results as write_files
from protloc.data import datasets
from protloc.models import recipes, zoo
from protloc.training import loop
from protloc.utils import runtime

MILESTONES = (10, 20, 30, 40, 50, 60, 80, 100)
"""Epochs at which the report compares the curve, each as the mean over the 5 epochs ending there."""


def window_means(history: list[dict], key: str = "val_accuracy", width: int = 5) -> dict[int, float]:
    """Mean of ``key`` over epochs ``k - width + 1 .. k`` (1-based) for every milestone k reached."""
    return {k: statistics.mean(row[key] for row in history[k - width:k]) for k in MILESTONES if k <= len(history)}


def summary(results: dict) -> dict:
    """The best epoch and the milestone means (validation accuracy and loss) of ``results["history"]``."""
    history = results["history"]
    best = max(range(len(history)), key=lambda i: history[i]["val_accuracy"])
    return {"best_epoch": best + 1, "best_val_accuracy": history[best]["val_accuracy"],
            "window_means": window_means(history), "window_loss_means": window_means(history, "val_loss")}


def markdown(results: dict) -> str:
    history, found = results["history"], summary(results)
    p, n = found["best_val_accuracy"], results["validation_proteins"]
    lines = [f"# Learning curve: {results['model']}, validation on training fold {results['fold']}", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}  ",
             f"Epochs done: {len(history)} of {results['epochs']}; training wall time "
             f"{results['wall_time_s'] / 60:.0f} min; hyper-parameters: `{json.dumps(results['hparams'])}`", "",
             f"Best validation accuracy {found['best_val_accuracy']:.3f} at epoch {found['best_epoch']}. "
             f"The validation fold holds {n} proteins, so one epoch's accuracy has a 95% margin of about "
             f"±{1.96 * math.sqrt(p * (1 - p) / n):.3f}; the means over 5 epochs below are steadier.", ""]
    if found["window_means"]:
        lines += ["| epochs | " + " | ".join(f"{k - 4}-{k}" for k in found["window_means"]) + " |",
                  "|---|" + "---:|" * len(found["window_means"]),
                  "| mean validation accuracy | " + " | ".join(f"{v:.3f}" for v in found["window_means"].values())
                  + " |",
                  "| mean validation loss | " + " | ".join(f"{v:.3f}" for v in found["window_loss_means"].values())
                  + " |", ""]
    lines += ["| epoch | training accuracy | training loss | validation accuracy | validation loss |",
              "|---:|---:|---:|---:|---:|"]
    for number, row in enumerate(history, 1):
        lines.append(f"| {number} | {row['accuracy']:.3f} | {row['loss']:.3f} | {row['val_accuracy']:.3f} | "
                     f"{row['val_loss']:.3f} |")
    lines += ["", "Training accuracy is Keras's running accuracy over the epoch, with dropout on."]
    return "\n".join(lines) + "\n"


class WriteResults(keras.callbacks.Callback):
    """Rewrites the results files after every epoch from the run's ``history.csv``."""

    def __init__(self, run_dir: pathlib.Path, clock: EpochWallClock, fixed: dict):
        super().__init__()
        self.run_dir, self.clock, self.fixed = run_dir, clock, fixed

    def on_epoch_end(self, epoch, logs=None):
        write_results({**self.fixed, "history": loop.read_history(self.run_dir), "wall_time_s": self.clock.total()})


def write_results(results: dict) -> None:
    write_files(f"learning-curve-{results['model']}-fold{results['fold']}", {**results, "summary": summary(results)},
                markdown(results))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="rlstm", choices=sorted(zoo.FAMILIES))
    parser.add_argument("--dataset", default=datasets.DEFAULT, help="data set name or MODULE:ATTRIBUTE")
    parser.add_argument("--fold", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--learning-rate", type=float, help="default: the paper's 2e-4")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start-from", type=pathlib.Path, help="a shorter run of the same configuration to extend")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/learning-curve"))
    parser.add_argument("--data-dir", help="directory of the data set's files (default: the data set's own)")
    args = parser.parse_args(argv)
    runtime.run_branches_in_parallel()

    learning_rate = args.learning_rate or recipes.PAPER_LEARNING_RATE
    architecture = zoo.resolve_hparams()
    hparams = {**architecture, "learning_rate": learning_rate}
    config = loop.RunConfig.resolve(model=args.model, hparams=architecture, learning_rate=learning_rate,
                                        recipe="paper", epochs=args.epochs, seed=args.seed, fold=args.fold,
                                        dataset=args.dataset)
    run_dir = args.out / f"{args.model}-fold{args.fold}"
    if args.start_from and not run_dir.exists():
        start_from(args.start_from, run_dir, config)
    fixed = {"command": command(), "machine": machine(), "model": args.model, "fold": args.fold, "epochs": args.epochs,
             "hparams": hparams, "validation_proteins": len(config.spec.examples("train", [args.fold], args.data_dir))}
    clock = EpochWallClock(run_dir / "wall_time.json")
    loop.train(run_dir, config, data_dir=args.data_dir, verbose=2,
                   callbacks=[clock, WriteResults(run_dir, clock, fixed)])
    write_results({**fixed, "history": loop.read_history(run_dir), "wall_time_s": clock.total()})
    return 0


if __name__ == "__main__":
    sys.exit(main())
