"""Prediction at the machine's limit, in one run on one machine: the matmul peak, each model's arithmetic per residue
and the share of the peak it reaches, proteins/s with and without homology beside bare MMseqs2 on the same queries,
start-up, peak memory, and the same figures for an earlier version of protloc (the baseline), with each target met
or missed.

Usage:
    python benchmarks/predict_speed.py --proteomes ../shared/data/proteomes [--proteins 5000 20000]
        [--model multiloc] [--model deeploc2 ...] [--baseline REV --baseline-model pretrained]

Inputs: N proteins sampled with replacement (seed 0) from the gzipped proteomes under --proteomes (bacteria, fungi,
protists: the typical new proteome, most proteins without a labelled relative), for each N of --proteins, and the
largest N sampled from MultiLoc (every protein with close relatives in the MultiLoc presets' reference: the costliest
case for homology).

Measured, each ``protloc predict`` a fresh process (start-up, reading and writing included; its own peak resident
memory read from the kernel):

* the matmul peak: float32 GFLOP/s of NumPy's BLAS at 2048 x 2048 x 2048 with every core, and at the first
  model's LSTM step shape (batch x (inputs + units) times (inputs + units) x 4 units) on one core and on all;
* per model: FLOPs per residue from its layers (:func:`flops_per_residue`); proteins/s of the network alone and with
  homology on each input; bare MMseqs2 (``mmseqs easy-search`` with protloc's settings, one call over all queries,
  against the same cached reference database); the network's rate inside a started process (model loaded, input
  read) and the GFLOP/s that rate means, as a share of the peak;
* start-up: 11 proteins end to end with homology (the second of two runs, so the reference database is built), on
  the backend protloc chooses for so small an input (Keras's numpy backend) and on TensorFlow; and
  :data:`CROSSOVER_PROTEINS` proteome proteins on both, where the numpy backend's default ends;
* the baseline: ``--baseline REV`` is checked out (``git worktree``) into a scratch folder and its own ``protloc
  predict`` (``--baseline-model``, with homology) is timed on the largest proteome input and on the 11 proteins, with
  this environment's packages.

Targets (:data:`TARGETS`): default preset with homology >= 3x the baseline's proteins/s; homology <= 1.1x the larger
of network alone and bare MMseqs2; network >= 60% of the matmul peak; start-up <= 3 s; peak memory flat from the
smallest to the largest input (at most 10% more). Writes benchmarks/results/predict-speed.{json,md}.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np

from common import (command, in_fresh_process, machine, multiloc_pool, proteome_pool, sample_fasta, timed_process,
                    write_results)
from protloc.data import encoding, sequences
from protloc.evidence import homology
from protloc.models import layers, zoo
from protloc.prediction import loading, preset, presets
from protloc.prediction.predictor import Localizer
from protloc.utils import runtime

REPOSITORY = pathlib.Path(__file__).resolve().parents[1]
CROSSOVER_PROTEINS = 50
"""Proteins of the input timed on both backends: about the size below which the numpy backend is the default."""
TARGETS = {"speed_up": 3.0, "homology_overhead": 1.1, "peak_share": 0.6, "startup_seconds": 3.0, "memory_growth": 1.1}
"""What each figure should reach (see the module docstring)."""
KERAS_AS_PREDICT_IMPORTS = "from protloc.utils import runtime\nwith runtime.keras_integrations_hidden():\n    import keras"
"""Keras started as ``protloc predict`` starts it (:func:`protloc.utils.runtime.keras_integrations_hidden`)."""
SQUARE = 2048
"""Side of the square matmul that measures the peak."""


def flops_per_residue(network) -> dict:
    """Floating-point operations per input residue of a protloc network, from its layers' weights: 2 per
    multiply-add of every convolution and matrix product that runs along the sequence (conv bank, LSTM cells,
    attention), divided by the pooling factor for the layers after a :class:`protloc.models.layers.MaskedMaxPooling1D`;
    summed over an ensemble's members. The classifier, which runs once per protein, is left out (``per_protein``
    holds it). Element-wise work (activations, gates, masks) is not counted.

    Returns:
        ``{"conv": ..., "recurrent": ..., "attention": ..., "total": ..., "per_protein": ...}`` in FLOPs.
    """
    members = [layer for layer in network.layers if isinstance(layer, type(network)) and layer is not network]
    found = {"conv": 0.0, "recurrent": 0.0, "attention": 0.0, "per_protein": 0.0}
    for member in members or [network]:
        flat = list(member._flatten_layers(include_self=False, recursive=True))
        pool = max([layer.pool_size for layer in flat if isinstance(layer, layers.MaskedMaxPooling1D)], default=1)
        for layer in flat:
            if isinstance(layer, layers.ConvBank):
                for convolution in layer.convolutions:
                    width, channels, filters = convolution.kernel.shape
                    channels = encoding.BLOCK_WIDTH if layer.residue_blocks is not None else channels
                    found["conv"] += 2.0 * width * channels * filters
                if layer.residue_blocks is not None:
                    found["conv"] += 2.0 * layer.convolutions[0].kernel.shape[1] * encoding.BLOCK_WIDTH
            elif type(layer).__name__ == "LSTMCell":
                inputs, gates = layer.kernel.shape
                found["recurrent"] += 2.0 * (inputs + layer.units) * gates / pool
            elif isinstance(layer, layers.AttentionPooling):
                width, units = layer.kernel.shape
                found["attention"] += 2.0 * (width * units + units) / pool
            elif isinstance(layer, keras.layers.Dense):
                found["per_protein"] += 2.0 * float(np.prod(layer.kernel.shape))
    found["total"] = found["conv"] + found["recurrent"] + found["attention"]
    return found


def lstm_shape(network, batch_size: int) -> tuple[int, int, int] | None:
    """(m, k, n) of one LSTM step's matrix product in ``network`` at ``batch_size``: (batch, inputs + units) times
    (inputs + units, 4 units); None for a network without an LSTM."""
    for layer in network._flatten_layers(include_self=False, recursive=True):
        if type(layer).__name__ == "LSTMCell":
            inputs, gates = layer.kernel.shape
            return batch_size, int(inputs + layer.units), int(gates)
    return None


def matmul_gflops(m: int, k: int, n: int, threads: int, seconds: float = 2.0) -> float:
    """Float32 GFLOP/s of NumPy's BLAS multiplying (m, k) by (k, n) with ``threads`` threads: the best of repeated
    timings of batches of products, over about ``seconds``."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), dtype=np.float32)
    with threadpool_limits(threads):
        np.matmul(a, b, out=out)
        repeats = max(1, int(2e8 / (2.0 * m * k * n)))
        best, deadline = np.inf, time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            for _ in range(repeats):
                np.matmul(a, b, out=out)
            best = min(best, (time.perf_counter() - start) / repeats)
    return 2.0 * m * k * n / best / 1e9


def peaks(shape: tuple[int, int, int] | None, cores: int) -> dict:
    """The matmul peak at the large square shape (all cores) and at ``shape`` (one core, all cores)."""
    found = {"square": {"shape": [SQUARE] * 3, "threads": cores, "gflops": matmul_gflops(SQUARE, SQUARE, SQUARE, cores)}}
    if shape is not None:
        for threads in sorted({1, cores}):
            found[f"lstm_{threads}"] = {"shape": list(shape), "threads": threads,
                                        "gflops": matmul_gflops(*shape, threads)}
    return found


def model_costs(model: str, batch_size: int) -> dict:
    """A preset's FLOPs per residue and its first LSTM step's matmul shape (in a fresh process: Keras loads)."""
    network = loading.load_network(model)
    return {"flops": flops_per_residue(network), "lstm_shape": lstm_shape(network, batch_size),
            "members": zoo.member_count(network)}


def started_network(fasta: pathlib.Path, model: str) -> dict:
    """Seconds of ``Localizer.predict`` (the network alone) over the records of ``fasta``, read into memory, in a
    process that has loaded the model and predicted a few proteins first: the rate the network itself sustains."""
    runtime.run_branches_in_parallel()
    localizer = Localizer.from_preset(model, homology_evidence=False)
    records = list(sequences.read_fasta(fasta, validate=False))
    list(localizer.predict(records[:64]))
    start = time.perf_counter()
    count = sum(1 for _ in localizer.predict(records))
    return {"seconds": time.perf_counter() - start, "proteins": count,
            "residues": sum(min(len(r.sequence.rstrip("*")), sequences.DEFAULT_MAX_LENGTH) for r in records)}


def predict_argv(fasta: pathlib.Path, model: str, homology_evidence: bool) -> list[str]:
    return [sys.executable, "-m", "protloc.apps.cli", "predict", str(fasta), "-o", os.devnull, "--model", model,
            *([] if homology_evidence else ["--no-homology"])]


def bare_mmseqs(fasta: pathlib.Path, model: str) -> dict:
    """Wall seconds of ``mmseqs easy-search`` of ``fasta`` against ``model``'s cached reference database with
    protloc's settings: one call through :func:`protloc.evidence.mmseqs.run`, all cores (the database is built first if
    needed, not timed)."""
    from protloc.evidence import mmseqs

    found = preset.load(model)
    search = homology.HomologySearch(homology.ReferenceSet.read(found.file("reference"), found.class_names))
    database = search.database()
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        mmseqs.run(search.easy_search_arguments(fasta, database, pathlib.Path(scratch)), databases=[database])
        return {"seconds": time.perf_counter() - start}


@contextlib.contextmanager
def baseline_tree(revision: str):
    """A scratch checkout (``git worktree``) of ``revision`` of this repository, removed afterwards."""
    with tempfile.TemporaryDirectory() as scratch:
        tree = pathlib.Path(scratch) / "baseline"
        subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "add", "--detach", str(tree), revision], check=True,
                       capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(REPOSITORY), "worktree", "remove", "--force", str(tree)],
                           capture_output=True)


def verdicts(results: dict) -> list[dict]:
    """Each target against what was measured: name, target, measured, met, the ratio to the goal, and the figures
    of this run that explain the gap (``why``)."""
    default = results["models"][0]
    largest = str(max(results["proteins"]))
    cores = results["cores"]
    rows = []
    speed = results.get("baseline")
    if speed:
        run = default["inputs"][f"proteomes {largest}"]
        ours = run["homology"]["proteins_per_s"]
        why = (f"network alone {run['network']['proteins_per_s'] / speed['network']['proteins_per_s']:.2f}x the "
               f"baseline's; bare MMseqs2 against the default's reference takes {run['bare_mmseqs']['seconds']:.0f} s "
               f"of its {run['homology']['seconds']:.0f} s with homology (the baseline's whole run: "
               f"{speed['homology']['seconds']:.0f} s)")
        rows.append(("speed_up", f"default preset with homology, {largest} proteome proteins: proteins/s against the "
                                 f"baseline's", ours / speed["homology"]["proteins_per_s"], ">=", why))
    square = results["peaks"]["square"]["gflops"]
    lstm_peak = results["peaks"].get(f"lstm_{cores}", {}).get("gflops")
    for model in results["models"]:
        run = model["inputs"][f"proteomes {largest}"]
        larger = max(run["network"]["seconds"], run["bare_mmseqs"]["seconds"])
        both = run["network"]["seconds"] + run["bare_mmseqs"]["seconds"]
        rows.append(("homology_overhead", f"{model['model']}: with homology / max(network alone, bare MMseqs2)",
                     run["homology"]["seconds"] / larger, "<=",
                     f"with homology / (network alone + bare MMseqs2) = {run['homology']['seconds'] / both:.2f}: "
                     f"each uses all {cores} cores, so on these cores their times add"))
        gflops = model["started"]["gflops"]
        rows.append(("peak_share", f"{model['model']}: network GFLOP/s / matmul peak (2048 square, all cores)",
                     gflops / square, ">=",
                     f"at the LSTM step's matmul shape the BLAS itself reaches {lstm_peak:.0f} GFLOP/s "
                     f"({lstm_peak / square:.0%} of the square peak); the network {gflops / lstm_peak:.0%} of that"
                     if lstm_peak else ""))
        rows.append(("startup_seconds", f"{model['model']}: 11 proteins end to end, with homology (s)",
                     model["startup"]["seconds"], "<=",
                     f"starting Keras alone as protloc predict does (numpy backend, which this input runs on) takes "
                     f"{results['import_seconds_numpy']:.1f} s; on TensorFlow the same run takes "
                     f"{model['startup_tensorflow']['seconds']:.1f} s"))
        smallest = str(min(results["proteins"]))
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
    peak = results["peaks"]
    lines = ["# Prediction speed", "", f"Command: `{results['command']}`  ", f"Machine: {results['machine']}", "",
             "## Matmul peak (float32, NumPy's BLAS)", "", "| shape (m x k x n) | threads | GFLOP/s |", "|---|---:|---:|"]
    for row in peak.values():
        lines.append(f"| {' x '.join(map(str, row['shape']))} | {row['threads']} | {row['gflops']:.1f} |")
    lines += ["", "## Models", "", "| model | members | kFLOP per residue (conv / recurrent / attention) | network in a "
              "started process: residues/s | GFLOP/s | share of the peak |", "|---|---:|---|---:|---:|---:|"]
    for model in results["models"]:
        flops, started = model["flops"], model["started"]
        lines.append(f"| {model['model']} | {model['members']} | {flops['total'] / 1e3:.0f} ({flops['conv'] / 1e3:.0f} / "
                     f"{flops['recurrent'] / 1e3:.0f} / {flops['attention'] / 1e3:.0f}) | "
                     f"{started['residues'] / started['seconds']:,.0f} | {started['gflops']:.1f} | "
                     f"{started['gflops'] / peak['square']['gflops']:.0%} |")
    lines += ["", "## `protloc predict` (a fresh process each: start-up, reading and writing included)", "",
              "| model | input | proteins/s, network alone | with homology | bare MMseqs2 | homology / max(network, "
              "MMseqs2) | peak memory (MiB), alone / with homology |", "|---|---|---:|---:|---:|---:|---|"]
    for model in results["models"]:
        for name, run in model["inputs"].items():
            larger = max(run["network"]["seconds"], run["bare_mmseqs"]["seconds"])
            lines.append(f"| {model['model']} | {name} | {run['network']['proteins_per_s']:.0f} | "
                         f"{run['homology']['proteins_per_s']:.0f} | {run['bare_mmseqs']['proteins_per_s']:.0f} | "
                         f"{run['homology']['seconds'] / larger:.2f}x | {run['network']['peak_rss_mib']:.0f} / "
                         f"{run['homology']['peak_rss_mib']:.0f} |")
    baseline = results.get("baseline")
    if baseline:
        lines += ["", f"Baseline: protloc at `{baseline['revision']}`, `protloc predict --model "
                      f"{baseline['model']}` with homology: {baseline['homology']['proteins_per_s']:.0f} proteins/s on "
                      f"{baseline['proteins']} proteome proteins ({baseline['homology']['seconds']:.1f} s, peak "
                      f"{baseline['homology']['peak_rss_mib']:.0f} MiB), network alone "
                      f"{baseline['network']['proteins_per_s']:.0f} proteins/s; 11 proteins end to end "
                      f"{baseline['startup']['seconds']:.1f} s."]
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


def measure_model(model: str, inputs: dict, batch_size: int) -> dict:
    """Every figure of one preset (see the module docstring)."""
    costs = in_fresh_process(model_costs, model, batch_size)
    found = {"model": model, "flops": costs["flops"], "members": costs["members"], "inputs": {}}
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
        found["inputs"][name] = run
    largest = max((item for item in inputs.items() if item[0].startswith("proteomes")), key=lambda item: item[1][1])
    started = in_fresh_process(started_network, largest[1][0], model)
    started["gflops"] = started["residues"] / started["seconds"] * costs["flops"]["total"] / 1e9
    found["started"] = started
    found["lstm_shape"] = costs["lstm_shape"]
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proteomes", type=pathlib.Path, required=True, help="directory of gzipped FASTA proteomes")
    parser.add_argument("--proteins", type=int, nargs="+", default=[5000, 20000])
    parser.add_argument("--model", action="append", help="preset to measure (repeatable; default: the default)")
    parser.add_argument("--baseline", metavar="REV", help="an earlier revision of protloc to measure beside")
    parser.add_argument("--baseline-model", default="pretrained", help="the baseline's preset (default: %(default)s)")
    parser.add_argument("--data-dir", help="MultiLoc FASTA directory (default $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    directory = args.data_dir or os.environ.get("PROTLOC_DATA_DIR")
    if not directory or not pathlib.Path(directory).is_dir():
        parser.error(f"the MultiLoc FASTA directory (--data-dir or $PROTLOC_DATA_DIR) is needed; got {directory!r}")
    if not args.proteomes.is_dir():
        parser.error(f"--proteomes {args.proteomes} is not a directory")
    if min(args.proteins) < 1:
        parser.error("--proteins must be at least 1")
    model_names = args.model or [presets.DEFAULT]
    from protloc.models.recipes import DEFAULT_BATCH_SIZE

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
        measured = [measure_model(name, inputs, DEFAULT_BATCH_SIZE) for name in model_names]
        baseline = None
        if args.baseline:
            with baseline_tree(args.baseline) as tree:
                environment = {"PYTHONPATH": str(tree), "PROTLOC_CACHE_DIR": str(scratch / "baseline-cache")}
                argv = predict_argv(inputs[f"proteomes {largest}"][0], args.baseline_model, True)
                for _ in range(2):
                    startup = timed_process(predict_argv(presets.EXAMPLES, args.baseline_model, True), environment,
                                            cwd=tree)
                baseline = {"revision": args.baseline, "model": args.baseline_model, "proteins": largest,
                            "startup": startup}
                for key, extra in (("homology", []), ("network", ["--no-homology"])):
                    baseline[key] = timed_process(argv + extra, environment, cwd=tree)
                    baseline[key]["proteins_per_s"] = largest / baseline[key]["seconds"]
    results = {"command": command(), "machine": machine(), "cores": runtime.usable_cores(), "proteins": args.proteins,
               "batch_size": DEFAULT_BATCH_SIZE, "models": measured, "baseline": baseline,
               "peaks": in_fresh_process(peaks, measured[0]["lstm_shape"], runtime.usable_cores()),
               "import_seconds": timed_process([sys.executable, "-c", "import keras, tensorflow"])["seconds"],
               "import_seconds_numpy": timed_process([sys.executable, "-c", KERAS_AS_PREDICT_IMPORTS],
                                                     {"KERAS_BACKEND": "numpy"})["seconds"]}
    results["verdicts"] = verdicts(results)
    write_results("predict-speed", results, markdown(results))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
