"""Prediction with Apache Beam against ``protloc predict``, on the same input, in one run on one machine.

Usage:
    python benchmarks/beam_speed.py [--proteins 20000] [--shards 4] [--model PRESET] [--no-homology]
                                    [--core-hour-price 0.04]

Input: --proteins sampled (with replacement, seed 0) from all of MultiLoc, dealt over --shards FASTA files.
Timed, each a fresh process, one after the other: ``protloc predict`` of the whole input (one file), then
``python -m protloc.beam`` over the shards with the DirectRunner's multi-processing mode and 1, then 2, worker
processes, each worker on every core (the default) and then on one thread (``--worker-threads 1``: TensorFlow,
batches in flight and MMseqs2 on one thread each, so that 2 workers measure scaling over 2 cores, not contention).
Every Beam run's rows must equal ``protloc predict``'s (:func:`protloc.prediction.table.same_rows`: as multisets,
shards come in no particular
order; numbers within 1e-5, as batches of other proteins round differently in the last digit).
Reports proteins/s and the CPU seconds of each run (all its processes: the runner and its workers), the 2-worker /
1-worker speed-up in each setting, the target (:data:`TARGET`: 2 one-thread workers at least 1.8x one) met or by how
much it is missed and, from the CPU seconds, why (more work in all, or cores left idle), Beam's overhead against
``protloc predict``, and from the measured rate per core an estimate for UniProtKB (250 million proteins): core-hours,
and the cost
per million proteins at --core-hour-price (US dollars per core-hour: an assumption, stated in the report).
Writes benchmarks/results/beam-speed.{json,md}.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile

from common import command, multiloc_pool, sample_fasta, timed_process, write_results
from protloc.prediction import presets, table
from protloc.utils import runtime

UNIPROT_PROTEINS = 250e6
"""Proteins in UniProtKB (order of magnitude, 2025)."""
SETTINGS = {"every core": [], "one thread each": ["--worker-threads", "1"]}
"""Worker thread setting -> the options of ``python -m protloc.beam`` that make it."""
TARGET = 1.8
"""Goal for 2 workers on one thread each against 1 worker on one thread (proteins/s ratio) on 2 cores."""


def table_rows(*paths: pathlib.Path) -> list[list[str]]:
    """Data rows (headers excluded) of TSV tables, each split into its cells."""
    return [line.split("\t") for path in paths for line in path.read_text().splitlines()[1:]]


def markdown(results: dict) -> str:
    rows = results["runs"]
    lines = ["# Prediction with Apache Beam", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']} ({results['cores']} cores usable)", "",
             f"{results['proteins']} proteins sampled from MultiLoc in {results['shards']} FASTA shards; "
             f"homology {'on' if results['homology'] else 'off'}; each row a fresh process.", "",
             "| run | wall time (s) | proteins/s | CPU seconds, all processes | cores busy on average |",
             "|---|---:|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['run']} | {row['seconds']:.1f} | {results['proteins'] / row['seconds']:.1f} | "
                     f"{row['cpu_seconds']:.0f} | {row['cpu_seconds'] / row['seconds']:.2f} |")
    by_name = {row["run"]: row["seconds"] for row in rows}
    cpu = {row["run"]: row["cpu_seconds"] for row in rows}
    direct = by_name["protloc predict"]
    per_core = results["proteins"] / direct / results["cores"]
    core_hours = UNIPROT_PROTEINS / per_core / 3600
    price = results["core_hour_price"]
    lines.append("")
    for setting in SETTINGS:
        one, two = by_name[f"beam, 1 worker, {setting}"], by_name[f"beam, 2 workers, {setting}"]
        lines.append(f"Workers on {setting}: 2 workers / 1 worker **{one / two:.2f}x** the speed; 1 worker takes "
                     f"{one / direct:.2f}x the wall time of `protloc predict`.  ")
    one_run, two_run = "beam, 1 worker, one thread each", "beam, 2 workers, one thread each"
    speed_up = by_name[one_run] / by_name[two_run]
    work, busy = cpu[two_run] / cpu[one_run], cpu[two_run] / by_name[two_run]
    lines += ["", f"Target, 2 workers on one thread each against 1: >= {TARGET}x; measured {speed_up:.2f}x: "
                  + ("met." if speed_up >= TARGET else
                     f"missed, {speed_up / TARGET:.2f}x the goal. Why, from the CPU seconds: the 2 workers did "
                     f"{work:.2f}x the work of 1 ({cpu[two_run]:.0f} against {cpu[one_run]:.0f} CPU seconds) and kept "
                     f"{busy:.2f} of the {results['cores']} cores busy on average; the speed-up is their product "
                     f"over the one worker's {cpu[one_run] / by_name[one_run]:.2f} cores.")]
    lines += ["", "Every Beam run's rows are `protloc predict`'s (compared as multisets of rows, numbers within 1e-5).", "",
              f"Estimate for UniProtKB ({UNIPROT_PROTEINS / 1e6:.0f} million proteins) from `protloc predict`'s rate "
              f"here, {per_core:.1f} proteins/s per core: {core_hours:,.0f} core-hours "
              f"({core_hours / 1000:,.1f} hours on 1,000 cores), about ${price * 1e6 / per_core / 3600:.2f} per "
              f"million proteins at an assumed ${price:g} per core-hour (Beam's overhead and the runner's own costs "
              f"not included)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteins", type=int, default=20000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--model", default=presets.DEFAULT)
    parser.add_argument("--no-homology", action="store_true")
    parser.add_argument("--core-hour-price", type=float, default=0.04,
                        help="US dollars per core-hour for the cost estimate (an assumption; default 0.04)")
    parser.add_argument("--data-dir", help="MultiLoc FASTA directory (default $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    directory = args.data_dir or os.environ.get("PROTLOC_DATA_DIR")
    if not directory or not pathlib.Path(directory).is_dir():
        parser.error(f"the MultiLoc FASTA directory (--data-dir or $PROTLOC_DATA_DIR) is needed; got {directory!r}")
    if args.proteins < 1 or args.shards < 1:
        parser.error("--proteins and --shards must be at least 1")
    pool = multiloc_pool(directory)
    homology = [] if not args.no_homology else ["--no-homology"]
    runs = []
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        shards = [scratch / f"in-{index}.fasta" for index in range(args.shards)]
        sample_fasta(shards, args.proteins, pool)
        whole = scratch / "whole.fasta"
        whole.write_text("".join(path.read_text() for path in shards))
        timing = timed_process([sys.executable, "-m", "protloc.apps.cli", "predict", str(whole), "-o", str(scratch / "direct.tsv"),
                        "--model", args.model, *homology])
        runs.append({"run": "protloc predict", **timing})
        expected = table_rows(scratch / "direct.tsv")
        for setting, options in SETTINGS.items():
            for workers in (1, 2):
                prefix = scratch / f"beam{workers}-{len(options)}" / "pred"
                timing = timed_process([sys.executable, "-m", "protloc.apps.beam", "--input", str(scratch / "in-*.fasta"),
                                 "--output", str(prefix), "--model", args.model, *homology, *options,
                                 "--direct_num_workers", str(workers), "--direct_running_mode", "multi_processing"])
                if not table.same_rows(table_rows(*prefix.parent.glob("pred-0*.tsv")), expected, ordered=False):
                    raise RuntimeError(f"Beam with {workers} worker(s) on {setting} wrote other rows than protloc "
                                       f"predict")
                runs.append({"run": f"beam, {workers} worker{'s' if workers > 1 else ''}, {setting}", **timing})
    results = {"command": command(), "machine": runtime.describe_machine(),
               "cores": runtime.usable_cores(), "proteins": args.proteins,
               "shards": args.shards, "homology": not args.no_homology, "model": args.model,
               "core_hour_price": args.core_hour_price, "runs": runs}
    write_results("beam-speed", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
