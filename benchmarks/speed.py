"""Speed in one run on one machine: training with length-bucketed vs padded-to-1000 batches, and
``protloc predict`` throughput and peak memory on proteome-sized inputs.

Usage:
    python benchmarks/speed.py [--train-steps 30] [--rounds 3] [--proteins 20000] [--model pretrained]
                               [--ensemble runs/table1/ensemble.keras] [--proteomes ../shared/data/proteomes]

Training: the R-LSTM with the paper's defaults, ``train_on_batch`` on MultiLoc training proteins, after 2
warm-up steps; residues/s counts real residues, not padding. The training measurements are repeated in rounds
(each round measures every set-up once, one after another); each ratio is taken within a round, and the report
gives medians over rounds with their range, because the load of a shared machine drifts within minutes.
Inference: FASTA files of N proteins sampled (with replacement, seed 0) from all of MultiLoc, each predicted by
a fresh ``protloc predict`` process whose own peak resident memory is read from the kernel (wait4); two sizes
show whether memory grows with the input. Such inputs are the worst case for homology: every protein has close
relatives (most, itself) in the shipped reference, so each is aligned to many of them. With ``--proteomes DIR``
(e.g. ../shared/data/proteomes: 35 bacterial, fungal and protist proteomes, gzipped FASTA), N proteins sampled
the same way from those proteomes are also predicted with and without homology: the typical case of a new
proteome, where most proteins have no labelled relative.
The single model's largest input is also predicted inside one process that has already started, imported
TensorFlow, loaded the model and read the FASTA (``Localizer.predict`` over the records in memory, network alone): the
rate the model itself sustains, and, by difference from the fresh process, what start-up, reading and writing
cost.
Every measurement runs in a fresh process with protloc's thread layout
(:func:`protloc.runtime.run_branches_in_parallel`); one training set-up and one inference row repeat a
measurement with TensorFlow's default threads instead, for the ratio.
Writes benchmarks/results/speed.json and speed.md.
"""
from __future__ import annotations

import argparse
import gzip
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import command, in_fresh_process, machine, multiloc_pool, sample_fasta, write_results
from protloc import datasets, models, pipeline, preset, runtime, sequences, training
from protloc.predictor import Localizer
from protloc.datasets import multiloc

TF_DEFAULT_THREADS = {"TF_NUM_INTRAOP_THREADS": "0", "TF_NUM_INTEROP_THREADS": "0"}
"""Environment under which TensorFlow picks its own thread pools (and protloc's layout stands aside)."""
TRAINING_SETUPS = {"bucketed": (True, None), "padded_to_1000": (False, None),
                   "bucketed_tf_default_threads": (True, TF_DEFAULT_THREADS)}
"""Training set-up name -> (length-bucketed batches?, extra environment)."""
TRAINING_RATIOS = {"speedup": ("bucketed", "padded_to_1000"),
                   "thread_layout_speedup": ("bucketed", "bucketed_tf_default_threads")}
"""Ratio name -> (numerator set-up, denominator set-up), in proteins/s within one round."""
MULTILOC_SAMPLE = "MultiLoc sample"
"""Input label: proteins sampled from MultiLoc (each with close relatives in the shipped reference)."""
PROTEOMES_SAMPLE = "proteomes sample"
"""Input label: proteins sampled from --proteomes (mostly without labelled relatives)."""


def training_throughput(bucketed: bool, steps: int, batch_size: int, directory: str) -> dict:
    """Proteins/s and residues/s of train_on_batch over ``steps`` batches (after 2 warm-up batches); unbucketed
    batches are all padded to the longest training protein (1000 residues after truncation)."""
    runtime.run_branches_in_parallel()
    model = training.compile_model(models.build_model("rlstm", multiloc.CLASS_NAMES))
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
        residues += int(np.count_nonzero(features[models.TOKENS]))
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


def proteome_pool(directory: pathlib.Path) -> list[sequences.ProteinRecord]:
    """Every protein of the gzipped FASTA proteomes under ``directory`` whose letters protloc accepts."""
    pool = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix == ".gz"):
        with gzip.open(path, "rt") as handle:
            for record in sequences.read_fasta(handle, validate=False):
                try:
                    sequences.check_record(record, str(path))
                except sequences.SequenceError:
                    continue
                pool.append(record)
    if not pool:
        raise FileNotFoundError(f"no gzipped FASTA proteomes under {directory}")
    return pool


def predict_run(fasta: pathlib.Path, model: str, environment: dict | None = None, options=()) -> dict:
    """Runs ``protloc predict`` (with ``options``) in a fresh process; its wall time and its own peak RSS (MiB)."""
    argv = [sys.executable, "-m", "protloc.cli", "predict", str(fasta), "-o", os.devnull, "--model", model, *options]
    start = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, **(environment or {})})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed: {process.stderr.read().decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024}


def started_predict(fasta: pathlib.Path, model_name: str) -> dict:
    """Seconds of ``Localizer.predict`` (the network alone) over the records of ``fasta``, read into memory first,
    in a process whose model is loaded (the timed call still traces the model once, as every prediction does)."""
    runtime.run_branches_in_parallel()
    localizer = Localizer.from_preset(model_name, homology_evidence=False)
    records = list(sequences.read_fasta(fasta, validate=False))
    start = time.perf_counter()
    count = sum(1 for _ in localizer.predict(records))
    return {"seconds": time.perf_counter() - start, "proteins": count,
            "residues": sum(min(len(r.sequence), sequences.DEFAULT_MAX_LENGTH) for r in records)}


def markdown(results: dict) -> str:
    train = results["training"]
    rounds = len(train["rounds"])
    lines = ["# Speed", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
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
    lines += ["",
              "## `protloc predict` (fresh process each, including start-up and model loading)", "",
              "| input | model | members | proteins | wall time (s) | proteins/s | peak memory (MiB) |",
              "|---|---|---:|---:|---:|---:|---:|"]
    for row in results["inference"]:
        lines.append(f"| {row['input']} | {row['model']} | {row['members']} | {row['proteins']} | "
                     f"{row['seconds']:.1f} | {row['proteins'] / row['seconds']:.1f} | {row['peak_rss_mib']:.0f} |")
    by_label = {(row["input"], row["model"].split(" (")[0], row["proteins"]): row for row in results["inference"]}
    for source, count in sorted({(row["input"], row["proteins"]) for row in results["inference"]}, reverse=True):
        alone = by_label.get((source, "single, network alone", count))
        fused = by_label.get((source, "single, with homology", count))
        if alone and fused:
            lines.append(f"\nHomology on {count} proteins ({source}): {fused['seconds'] / alone['seconds']:.2f}x the network "
                         f"alone's wall time (what the MMseqs2 search and fusion add, the search running beside the "
                         f"network: {1 - alone['seconds'] / fused['seconds']:.0%} of it); peak memory "
                         f"{fused['peak_rss_mib']:.0f} vs {alone['peak_rss_mib']:.0f} MiB.")
    started, fresh = results["started"], results["inference"][results["started"]["fresh_row"]]
    lines += ["", f"The same {started['proteins']} proteins with the single model alone in a process already started "
              f"(TensorFlow imported, model loaded, FASTA read): {started['seconds']:.1f} s, "
              f"**{started['proteins'] / started['seconds']:.1f} proteins/s** "
              f"({started['residues'] / started['seconds']:.0f} residues/s, after truncation to "
              f"{sequences.DEFAULT_MAX_LENGTH}); start-up, reading and writing took the other "
              f"{fresh['seconds'] - started['seconds']:.1f} s of the fresh process's {fresh['seconds']:.1f} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-steps", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="repetitions of the training measurements")
    parser.add_argument("--proteins", type=int, default=20000)
    parser.add_argument("--model", default="pretrained")
    parser.add_argument("--ensemble", help="an ensemble .keras file to time as well")
    parser.add_argument("--data-dir", help="MultiLoc FASTA directory (default $PROTLOC_DATA_DIR)")
    parser.add_argument("--proteomes", type=pathlib.Path,
                        help="directory of gzipped FASTA proteomes: also predict --proteins of their proteins")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.train_steps < 1:
        parser.error(f"--rounds and --train-steps must be at least 1, got {args.rounds} and {args.train_steps}")
    directory = args.data_dir or os.environ.get("PROTLOC_DATA_DIR")
    if not directory or not pathlib.Path(directory).is_dir():
        parser.error(f"the MultiLoc FASTA directory (--data-dir or $PROTLOC_DATA_DIR) is needed to sample "
                     f"proteome-like inputs; got {directory!r}")

    steps, size = args.train_steps, pipeline.DEFAULT_BATCH_SIZE
    training_rates = summarize_training([
        {name: in_fresh_process(training_throughput, bucketed, steps, size, directory, environment=environment)
         for name, (bucketed, environment) in TRAINING_SETUPS.items()} for _ in range(args.rounds)])

    pool = multiloc_pool(directory)
    members = {model: preset.load(model).card.get("members", 1) for model in (args.model, args.ensemble) if model}
    inference = []
    with tempfile.TemporaryDirectory() as scratch:
        for count in sorted({args.proteins // 4, args.proteins}):
            fasta = pathlib.Path(scratch) / f"proteome-{count}.fasta"
            sample_fasta([fasta], count, pool)
            alone = ["--no-homology"]
            runs = [("single, network alone", args.model, None, alone), ("single, with homology", args.model, None, ())]
            if count == args.proteins:
                runs += [("ensemble, with homology", args.ensemble, None, ())] if args.ensemble else []
            else:
                runs += [("single, network alone, TensorFlow's default threads", args.model, TF_DEFAULT_THREADS,
                          alone)]
            for label, model, environment, options in runs:
                inference.append({"input": MULTILOC_SAMPLE, "model": f"{label} ({model})", "members": members[model],
                                  "proteins": count, **predict_run(fasta, model, environment, options)})

            if count == args.proteins:
                started = {**in_fresh_process(started_predict, fasta, args.model),
                           "fresh_row": next(i for i, row in enumerate(inference)
                                             if row["proteins"] == count and "network alone" in row["model"])}

        if args.proteomes:
            fasta = pathlib.Path(scratch) / "proteomes.fasta"
            sample_fasta([fasta], args.proteins, proteome_pool(args.proteomes))
            for label, options in (("single, network alone", ["--no-homology"]), ("single, with homology", [])):
                inference.append({"input": PROTEOMES_SAMPLE, "model": f"{label} ({args.model})",
                                  "members": members[args.model], "proteins": args.proteins,
                                  **predict_run(fasta, args.model, None, options)})

    results = {"command": command(), "machine": machine(), "training": training_rates, "inference": inference,
               "started": started}
    write_results("speed", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
