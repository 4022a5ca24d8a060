"""Training speed in one run on one machine: length-bucketed against padded-to-1000 batches, and protloc's thread
layout against TensorFlow's default threads (prediction speed: benchmarks/predict_speed.py).

Usage:
    python benchmarks/speed.py [--train-steps 30] [--rounds 3]

The R-LSTM with the paper's defaults, ``train_on_batch`` on MultiLoc training proteins, after 2 warm-up steps;
residues/s counts real residues, not padding. The measurements are repeated in rounds (each round measures every
set-up once, one after another, each in a fresh process); each ratio is taken within a round, and the report gives
medians over rounds with their range, because the load of a shared machine drifts within minutes.
Writes benchmarks/results/speed.json and speed.md.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

import numpy as np

from common import command, in_fresh_process, machine, write_results
from protloc.data import datasets, pipeline
from protloc.data.datasets import multiloc
from protloc.models import zoo
from protloc.training import loop
from protloc.utils import runtime

TF_DEFAULT_THREADS = {"TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"}
"""Environment under which TensorFlow picks its own thread pools (and protloc's layout stands aside)."""
TRAINING_SETUPS = {"bucketed": (True, None), "padded_to_1000": (False, None),
                   "bucketed_tf_default_threads": (True, TF_DEFAULT_THREADS)}
"""Training set-up name -> (length-bucketed batches?, extra environment)."""
TRAINING_RATIOS = {"speedup": ("bucketed", "padded_to_1000"),
                   "thread_layout_speedup": ("bucketed", "bucketed_tf_default_threads")}
"""Ratio name -> (numerator set-up, denominator set-up), in proteins/s within one round."""


def training_throughput(bucketed: bool, steps: int, batch_size: int, directory: str) -> dict:
    """Proteins/s and residues/s of train_on_batch over ``steps`` batches (after 2 warm-up batches); unbucketed
    batches are all padded to the longest training protein (1000 residues after truncation)."""
    runtime.run_branches_in_parallel()
    model = loop.compile_model(zoo.build_model("rlstm", multiloc.CLASS_NAMES))
    boundaries = pipeline.BUCKET_BOUNDARIES if bucketed else ()
    examples = datasets.get("multiloc").examples("train", directory=directory)
    planned = pipeline.BucketedBatches(examples, batch_size, 0, boundaries)
    batches = (planned[i % len(planned)] for i in range(steps + 2))
    for _ in range(2):
        model.train_on_batch(*next(batches))
    proteins = residues = 0
    start = time.perf_counter()
    for features, labels in batches:
        model.train_on_batch(features, labels)
        proteins += len(labels)
        residues += int(np.count_nonzero(features[zoo.TOKENS]))
    seconds = time.perf_counter() - start
    return {"proteins_per_s": proteins / seconds, "residues_per_s": residues / seconds, "steps": steps,
            "seconds": seconds}


def summarize_training(rounds: list[dict]) -> dict:
    """Medians over rounds of each set-up's rates and of each within-round ratio, with the ratios' ranges.

    Args:
        rounds: one ``{set-up name: training_throughput(...) result}`` per round.
    """
    summary = {"rounds": rounds}
    for name in TRAINING_SETUPS:
        summary[name] = {unit: float(np.median([r[name][unit] for r in rounds]))
                         for unit in ("proteins_per_s", "residues_per_s")}
    for ratio, (numerator, denominator) in TRAINING_RATIOS.items():
        values = [r[numerator]["proteins_per_s"] / r[denominator]["proteins_per_s"] for r in rounds]
        summary[ratio] = {"median": float(np.median(values)), "min": min(values), "max": max(values)}
    return summary


def markdown(results: dict) -> str:
    train = results["training"]
    rounds = len(train["rounds"])
    lines = ["# Training speed", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             f"## Training (R-LSTM, paper defaults, batch 32; medians of {rounds} rounds)", "",
             "| batches | proteins/s | residues/s | proteins/s in each round |", "|---|---:|---:|---|"]
    for name in TRAINING_SETUPS:
        each = ", ".join(f"{r[name]['proteins_per_s']:.1f}" for r in train["rounds"])
        lines.append(f"| {name} | {train[name]['proteins_per_s']:.1f} | {train[name]['residues_per_s']:.0f} | "
                     f"{each} |")
    lines.append("")
    for label, ratio in (("Bucketed / padded speed-up", "speedup"),
                         ("protloc's thread layout / TensorFlow's default threads (bucketed)",
                          "thread_layout_speedup")):
        value = train[ratio]
        lines.append(f"{label}: **{value['median']:.2f}x** (proteins/s, within each round; median of {rounds}, "
                     f"range {value['min']:.2f}-{value['max']:.2f}x).  ")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the training measurements")
    parser.add_argument("--data-dir", help="MultiLoc FASTA directory (default $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.train_steps < 1:
        parser.error(f"--rounds and --train-steps must be at least 1, got {args.rounds} and {args.train_steps}")
    directory = args.data_dir or os.environ.get("PROTLOC_DATA_DIR")
    if not directory or not pathlib.Path(directory).is_dir():
        parser.error(f"the MultiLoc FASTA directory (--data-dir or $PROTLOC_DATA_DIR) is needed; got {directory!r}")

    steps, size = args.train_steps, pipeline.DEFAULT_BATCH_SIZE
    training_rates = summarize_training([
        {name: in_fresh_process(training_throughput, bucketed, steps, size, directory, environment=environment)
         for name, (bucketed, environment) in TRAINING_SETUPS.items()} for _ in range(args.rounds)])

    results = {"command": command(), "machine": machine(), "training": training_rates}
    write_results("speed", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
