"""Prediction speed in one run on one machine: proteins/s with and without homology beside bare MMseqs2 on the
same queries, start-up, and peak memory, for each preset, with each target met or missed.

Usage:
    python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes [--proteins 5000 20000]
        [--model deeploc2] [--model multiloc ...] [--bare-setting 7.5:20 ...] [--results predict-speed]

Inputs: N proteins sampled with replacement (seed 0) from the gzipped proteomes under --proteomes (bacteria, fungi,
protists: the typical new proteome, most proteins without a labelled relative), for each N of --proteins, and the
largest N sampled from MultiLoc (every protein with close relatives in the MultiLoc presets' reference: the costliest
case for homology).

Measured, each ``protloc predict`` a fresh process (start-up, reading and writing included; its own peak resident
memory read from the kernel):

* per preset: proteins/s of the network alone and with homology on each input; bare MMseqs2 (``mmseqs
  easy-search`` with protloc's settings, one call over all queries, against the same cached reference database);
* start-up: 11 proteins end to end with homology (the second of two runs, so the reference database is built), on
  the backend protloc chooses for so small an input (Keras's numpy backend) and on TensorFlow; and
  :data:`CROSSOVER_PROTEINS` proteome proteins on both, where the numpy backend's default ends;
* with ``--bare-setting S:CANDIDATES``: bare MMseqs2 with ``-s S --max-seqs CANDIDATES`` on each input, and prediction
  with homology at that setting estimated as (network alone + that search) x the ratio of with homology to network
  alone + bare MMseqs2 at protloc's settings (the two add on these cores), all of this run.

Targets (:data:`TARGETS`): each preset with homology >= 300 proteins/s on the largest proteome input; homology <=
1.1x the larger of network alone and bare MMseqs2; start-up <= 3 s; peak memory flat from the smallest to the largest
input (at most 10% more). Writes benchmarks/results/predict-speed.{json,md} (or ``--results NAME``: NAME.{json,md}).
(The matmul-peak and FLOP analysis and the comparison with protloc at 787715b that this script once made are at
commit 3649b74.)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time

from common import command, multiloc_pool, proteome_pool, sample_fasta, timed_process, write_results
from protloc.evidence import homology
from protloc.prediction import preset, presets
from protloc.utils import runtime

CROSSOVER_PROTEINS = 50
"""Proteins of the input timed on both backends: about the size below which the numpy backend is the default."""
TARGETS = {"proteins_per_s": 300.0, "homology_overhead": 1.1, "startup_seconds": 3.0, "memory_growth": 1.1}
"""What each figure should reach (see the module docstring)."""
KERAS_AS_PREDICT_IMPORTS = "from protloc.utils import runtime\nwith runtime.keras_integrations_hidden():\n    import keras"
"""Keras started as ``protloc predict`` starts it (:func:`protloc.utils.runtime.keras_integrations_hidden`)."""


def predict_argv(fasta: pathlib.Path, model: str, homology_evidence: bool) -> list[str]:
    return [sys.executable, "-m", "protloc.apps.cli", "predict", str(fasta), "-o", os.devnull, "--model", model,
            *([] if homology_evidence else ["--no-homology"])]


def bare_mmseqs(fasta: pathlib.Path, model: str, sensitivity: float = homology.DEFAULT_SENSITIVITY,
                prefilter_hits: int = homology.DEFAULT_PREFILTER_HITS) -> dict:
    """Wall seconds of ``mmseqs easy-search`` of ``fasta`` against ``model``'s cached reference database with
    protloc's settings (or another ``-s`` and ``--max-seqs``): one call through :func:`protloc.evidence.mmseqs.run`,
    all cores (the database is built first if needed, not timed)."""
    from protloc.evidence import mmseqs

    found = preset.load(model)
    search = homology.HomologySearch(homology.ReferenceSet.read(found.file("reference"), found.class_names),
                                     sensitivity=sensitivity, prefilter_hits=prefilter_hits)
    database = search.database()
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        mmseqs.run(search.easy_search_arguments(fasta, database, pathlib.Path(scratch)), databases=[database])
        return {"seconds": time.perf_counter() - start}


def verdicts(results: dict) -> list[dict]:
    """Each target against what was measured: name, target, measured, met, the ratio to the goal, and the figures
    of this run that explain the gap (``why``)."""
    largest, smallest = str(max(results["proteins"])), str(min(results["proteins"]))
    cores = results["cores"]
    rows = []
    for model in results["models"]:
        run = model["inputs"][f"proteomes {largest}"]
        larger = max(run["network"]["seconds"], run["bare_mmseqs"]["seconds"])
        both = run["network"]["seconds"] + run["bare_mmseqs"]["seconds"]
        rows.append(("proteins_per_s", f"{model['model']}: with homology, {largest} proteome proteins (proteins/s)",
                     run["homology"]["proteins_per_s"], ">=",
                     f"network alone {run['network']['proteins_per_s']:.0f} proteins/s, bare MMseqs2 "
                     f"{run['bare_mmseqs']['proteins_per_s']:.0f}"))
        rows.append(("homology_overhead", f"{model['model']}: with homology / max(network alone, bare MMseqs2)",
                     run["homology"]["seconds"] / larger, "<=",
                     f"with homology / (network alone + bare MMseqs2) = {run['homology']['seconds'] / both:.2f}: "
                     f"each uses all {cores} cores, so on these cores their times add"))
        rows.append(("startup_seconds", f"{model['model']}: 11 proteins end to end, with homology (s)",
                     model["startup"]["seconds"], "<=",
                     f"starting Keras alone as protloc predict does (numpy backend, which this input runs on) takes "
                     f"{results['import_seconds_numpy']:.1f} s; on TensorFlow the same run takes "
                     f"{model['startup_tensorflow']['seconds']:.1f} s"))
        if largest != smallest:  # one input size: no growth to measure
            rows.append(("memory_growth", f"{model['model']}: peak memory, {largest} / {smallest} proteome proteins, "
                                          f"with homology", run["homology"]["peak_rss_mib"]
                         / model["inputs"][f"proteomes {smallest}"]["homology"]["peak_rss_mib"], "<=", ""))
    found = []
    for key, label, value, sense, why in rows:
        target = TARGETS[key]
        met = value >= target if sense == ">=" else value <= target
        found.append({"target": key, "label": label, "goal": f"{sense} {target:g}", "measured": value, "met": bool(met),
                      "ratio_to_goal": value / target, "why": "" if met else why})
    return found


def markdown(results: dict) -> str:
    lines = ["# Prediction speed", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             "## `protloc predict` (a fresh process each: start-up, reading and writing included)", "",
             "| model | input | proteins/s, network alone | with homology | bare MMseqs2 | homology / max(network, "
             "MMseqs2) | peak memory (MiB), alone / with homology |", "|---|---|---:|---:|---:|---:|---|"]
    for model in results["models"]:
        for name, run in model["inputs"].items():
            larger = max(run["network"]["seconds"], run["bare_mmseqs"]["seconds"])
            lines.append(f"| {model['model']} | {name} | {run['network']['proteins_per_s']:.0f} | "
                         f"{run['homology']['proteins_per_s']:.0f} | {run['bare_mmseqs']['proteins_per_s']:.0f} | "
                         f"{run['homology']['seconds'] / larger:.2f}x | {run['network']['peak_rss_mib']:.0f} / "
                         f"{run['homology']['peak_rss_mib']:.0f} |")
    if results.get("bare_settings"):
        lines += ["", "Other MMseqs2 settings (`-s`:`--max-seqs`), bare MMseqs2 on the same inputs, and `protloc "
                  "predict` with homology estimated from them: (network alone + bare MMseqs2 at the setting) x "
                  "(with homology / (network alone + bare MMseqs2)) at protloc's settings, both of this run:", "",
                  "| model | input | setting | bare MMseqs2, proteins/s | x protloc's settings' time | with homology, "
                  "estimated proteins/s |", "|---|---|---|---:|---:|---:|"]
        for model in results["models"]:
            for name, run in model["inputs"].items():
                for setting, bare in run.get("bare_settings", {}).items():
                    lines.append(f"| {model['model']} | {name} | {setting} | {bare['proteins_per_s']:.0f} | "
                                 f"{bare['seconds'] / run['bare_mmseqs']['seconds']:.1f} | "
                                 f"{bare['estimated_proteins_per_s']:.0f} |")
    lines += ["", "Start-up, 11 proteins end to end with homology (Keras's numpy backend, the default for an input "
              "under 16 kB; on TensorFlow in brackets): " + "; ".join(
                  f"{model['model']} {model['startup']['seconds']:.1f} s "
                  f"({model['startup_tensorflow']['seconds']:.1f} s)" for model in results["models"]) + ".", "",
              f"Crossover: {CROSSOVER_PROTEINS} proteome proteins with homology on numpy / on TensorFlow: " + "; ".join(
                  f"{model['model']} {model['crossover']['numpy']['seconds']:.1f} s / "
                  f"{model['crossover']['tensorflow']['seconds']:.1f} s" for model in results["models"]) + ".", "",
              "## Targets", "", "| target | goal | measured | met | missed by, and why (figures of this run) |",
              "|---|---|---:|---|---|"]
    for row in results["verdicts"]:
        missed = "" if row["met"] else f"{row['ratio_to_goal']:.2f}x the goal: {row['why']}"
        lines.append(f"| {row['label']} | {row['goal']} | {row['measured']:.2f} | "
                     f"{'yes' if row['met'] else 'no'} | {missed} |")
    return "\n".join(lines) + "\n"


def measure_model(model: str, inputs: dict, bare_settings=()) -> dict:
    """Every figure of one preset (see the module docstring), and bare MMseqs2 at each of ``bare_settings``
    ((sensitivity, prefilter hits) pairs) with the estimate of prediction with homology at that setting."""
    found = {"model": model, "inputs": {}}
    for _ in range(2):  # the first builds the reference database (and its index) in the cache
        found["startup"] = timed_process(predict_argv(presets.EXAMPLES, model, True))
    # the small input runs on Keras's numpy backend by default; the same on TensorFlow, and the crossover input
    found["startup_tensorflow"] = timed_process(predict_argv(presets.EXAMPLES, model, True),
                                                {"KERAS_BACKEND": "tensorflow"})
    fasta, count = inputs["crossover"]
    found["crossover"] = {backend: timed_process(predict_argv(fasta, model, True), {"KERAS_BACKEND": backend})
                          for backend in ("numpy", "tensorflow")}
    for name, (fasta, count) in inputs.items():
        if name == "crossover":
            continue
        run = {}
        for key, with_homology in (("network", False), ("homology", True)):
            run[key] = timed_process(predict_argv(fasta, model, with_homology))
        run["bare_mmseqs"] = bare_mmseqs(fasta, model)
        for value in run.values():
            value["proteins_per_s"] = count / value["seconds"]
        additivity = run["homology"]["seconds"] / (run["network"]["seconds"] + run["bare_mmseqs"]["seconds"])
        for sensitivity, prefilter_hits in bare_settings:
            bare = bare_mmseqs(fasta, model, sensitivity, prefilter_hits)
            estimated = additivity * (run["network"]["seconds"] + bare["seconds"])
            run.setdefault("bare_settings", {})[f"{sensitivity:g}:{prefilter_hits}"] = {
                **bare, "proteins_per_s": count / bare["seconds"], "estimated_proteins_per_s": count / estimated}
        found["inputs"][name] = run
    return found


def bare_setting(text: str) -> tuple[float, int]:
    """``S:CANDIDATES`` as (MMseqs2 sensitivity 1-7.5, prefilter candidates >= 1)."""
    try:
        sensitivity, candidates = text.split(":")
        found = float(sensitivity), int(candidates)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give S:CANDIDATES, e.g. 7.5:20") from None
    if not (1 <= found[0] <= 7.5 and found[1] >= 1):
        raise argparse.ArgumentTypeError(f"{text!r}: sensitivity 1-7.5, candidates >= 1")
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteomes", type=pathlib.Path, required=True, help="directory of gzipped FASTA proteomes")
    parser.add_argument("--proteins", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--model", action="append", help="preset to measure (repeatable; default: the default)")
    parser.add_argument("--data-dir", help="MultiLoc FASTA directory (default $PROTLOC_DATA_DIR)")
    parser.add_argument("--results", default="predict-speed", help="results file name (default: %(default)s)")
    parser.add_argument("--bare-setting", action="append", default=[], type=bare_setting, metavar="S:CANDIDATES",
                        help="also time bare MMseqs2 with -s S --max-seqs CANDIDATES (repeatable), and estimate "
                             "prediction with homology at that setting")
    args = parser.parse_args(argv)
    directory = args.data_dir or os.environ.get("PROTLOC_DATA_DIR")
    if not directory or not pathlib.Path(directory).is_dir():
        parser.error(f"the MultiLoc FASTA directory (--data-dir or $PROTLOC_DATA_DIR) is needed; got {directory!r}")
    if not args.proteomes.is_dir():
        parser.error(f"--proteomes {args.proteomes} is not a directory")
    if min(args.proteins) < 1:
        parser.error("--proteins must be at least 1")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = pathlib.Path(scratch)
        proteomes = proteome_pool(args.proteomes)
        inputs = {}
        for count in sorted(set(args.proteins)):
            path = scratch / f"proteomes-{count}.fasta"
            sample_fasta([path], count, proteomes)
            inputs[f"proteomes {count}"] = (path, count)
        largest = max(args.proteins)
        path = scratch / f"multiloc-{largest}.fasta"
        sample_fasta([path], largest, multiloc_pool(directory))
        inputs[f"MultiLoc {largest}"] = (path, largest)
        path = scratch / "crossover.fasta"  # proteome proteins filling about runtime.SMALL_INPUT_BYTES
        sample_fasta([path], CROSSOVER_PROTEINS, proteomes)
        inputs["crossover"] = (path, CROSSOVER_PROTEINS)
        measured = [measure_model(name, inputs, args.bare_setting) for name in args.model or [presets.DEFAULT]]
    results = {"command": command(), "machine": runtime.describe_machine(),
               "cores": runtime.usable_cores(), "proteins": args.proteins,
               "models": measured, "bare_settings": [f"{s:g}:{c}" for s, c in args.bare_setting],
               "import_seconds_numpy": timed_process([sys.executable, "-c", KERAS_AS_PREDICT_IMPORTS],
                                                     {"KERAS_BACKEND": "numpy"})["seconds"]}
    results["verdicts"] = verdicts(results)
    write_results(args.results, results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
