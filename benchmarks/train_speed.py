"""Training throughput of the DeepLoc 2.0 model per Keras backend and numeric precision, in one run on one machine.

Usage:
    python benchmarks/train_speed.py [--proteins 512] [--rounds 3] [--epochs 2]

The model is the one `protloc train --dataset deeploc2 --terminal-windows 100 50 --loss weighted` builds and compiles
(:func:`protloc.training.loop.build_compiled`), trained on the same ``--proteins`` proteins of partition 1 (a fixed
sample, cut to the recipe's training length) in the recipe's batches. Configurations: TensorFlow and JAX, each in
float32 and, where the CPU has bfloat16 units (``avx512_bf16`` or ``amx_bf16`` among /proc/cpuinfo's flags), Keras's
``mixed_bfloat16`` policy; and TensorFlow float32 twice more: compiled by XLA (``jit_compile``; Keras leaves it off
for this model on TensorFlow) and with every protein in one length bucket (batches padded to their longest protein
up to the training cap, instead of length-bucketed batches). Each configuration trains ``--epochs`` epochs in a fresh process; the last epoch's wall
time gives proteins/s (the first pays for tracing and compilation). Configurations take turns within each of
``--rounds`` rounds, so a machine slowed for a while slows all of them; the report gives each one's median proteins/s
and its ratio to TensorFlow float32 within each round (median and range). TensorFlow's bfloat16 runs are made with
``ONEDNN_VERBOSE=1``, and the report says whether oneDNN ran bfloat16 kernels. Writes
benchmarks/results/train-speed.{json,md}.
"""
from __future__ import annotations

import argparse
import os
import pathlib
import random
import statistics
import subprocess
import sys
import time

from common import command, write_results
from protloc.utils import runtime

CHOSEN = {"terminal_windows": [100, 50]}
"""The hyper-parameters of the chosen DeepLoc 2.0 recipe beyond the default (docs/deeploc2.md)."""
LOSS = "weighted"


def bf16_units() -> bool:
    """Whether this CPU has bfloat16 arithmetic units (AVX-512 BF16 or AMX)."""
    try:
        flags = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


VARIANTS = {"": "", "xla": "XLA", "unbucketed": "one length bucket"}
"""Training variants beside the default (length-bucketed batches, no XLA): name -> how the report names it."""


def configurations() -> list[tuple[str, str, str]]:
    """``(backend, precision, variant)`` of every configuration, TensorFlow float32 with no variant first."""
    precisions = ["float32", "mixed_bfloat16"] if bf16_units() else ["float32"]
    return [(backend, precision, "") for precision in precisions for backend in ("tensorflow", "jax")] + [
        ("tensorflow", "float32", variant) for variant in VARIANTS if variant]


def child(proteins: int, epochs: int, precision: str, variant: str) -> None:
    """Trains in this process (its backend chosen by KERAS_BACKEND) and prints ``SECONDS N`` of the last epoch."""
    import keras

    from protloc.data import datasets, pipeline
    from protloc.models import losses
    from protloc.models.run_config import RunConfig
    from protloc.training import loop

    keras.mixed_precision.set_global_policy(precision)
    config = RunConfig.resolve(hparams=CHOSEN, dataset="deeploc2", loss=LOSS, epochs=epochs)
    examples = datasets.get("deeploc2").examples("train", [1])
    chosen = [loop.truncated(examples[i], config.train_max_length)
              for i in sorted(random.Random(0).sample(range(len(examples)), proteins))]
    labels = datasets.labels_of(chosen, len(config.spec.class_names))
    planned = pipeline.BucketedBatches(chosen, config.batch_size, shuffle_seed=0,
                                       num_classes=len(config.spec.class_names),
                                       **({"boundaries": ()} if variant == "unbucketed" else {}))
    model = loop.build_compiled(config, len(planned), losses.positive_weights(labels))
    model.jit_compile = variant == "xla"
    batches = planned.as_tf_dataset() if keras.backend.backend() == "tensorflow" else planned
    timer = loop.EpochTimer(pathlib.Path("/nonexistent"))
    history = model.fit(batches, epochs=epochs, verbose=0, callbacks=[timer])
    print(f"RESULT {history.history['epoch_seconds'][-1]} {len(chosen)}", flush=True)


def run(backend: str, precision: str, variant: str, proteins: int, epochs: int) -> dict:
    """One configuration in a fresh process: proteins/s of its last epoch, and whether oneDNN ran bfloat16 kernels
    (TensorFlow bfloat16 runs only; None otherwise)."""
    environment = {**os.environ, "KERAS_BACKEND": backend}
    verbose = backend == "tensorflow" and precision != "float32"
    if verbose:
        environment["ONEDNN_VERBOSE"] = "1"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", str(proteins), str(epochs), precision, variant],
                          capture_output=True, text=True, env=environment, cwd=pathlib.Path(__file__).parent)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} {precision} {variant} failed: {done.stderr[-2000:]}")
    seconds, count = next(line.split()[1:] for line in done.stdout.splitlines() if line.startswith("RESULT"))
    kernels = None
    if verbose:
        kernels = any("bf16" in line for line in done.stdout.splitlines() if line.startswith("onednn_verbose,") and
                      ",exec," in line)
    return {"proteins_per_second": int(count) / float(seconds), "process_seconds": time.perf_counter() - start,
            "onednn_bf16_kernels": kernels}


def markdown(results: dict) -> str:
    lines = ["# Training throughput of the DeepLoc 2.0 model", "", f"`{results['command']}` on {results['machine']}; "
             f"{results['proteins']} proteins of partition 1, last of {results['epochs']} epochs timed, "
             f"{results['rounds']} rounds (configurations in turn). bfloat16 units: "
             f"{'yes' if results['bf16_units'] else 'no (bfloat16 not run)'}.", "",
             "| backend | precision | variant | proteins/s (median) | ratio to TensorFlow float32 (median, range) | "
             "oneDNN bf16 |", "|---|---|---|---:|---|---|"]
    for row in results["rows"]:
        ratios = row["ratios"]
        kernels = {None: "", True: "yes", False: "no"}[row["onednn_bf16_kernels"]]
        lines.append(f"| {row['backend']} | {row['precision']} | {VARIANTS[row.get('variant', '')]} | "
                     f"{row['proteins_per_second']:.1f} | "
                     f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | {kernels} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(int(argv[1]), int(argv[2]), argv[3], argv[4] if len(argv) > 4 else "")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proteins", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    if args.proteins < 32 or args.rounds < 1 or args.epochs < 2:
        parser.error("--proteins must be at least 32, --rounds at least 1, --epochs at least 2")
    if not os.environ.get("PROTLOC_DEEPLOC2_DIR"):
        parser.error("set PROTLOC_DEEPLOC2_DIR to DeepLoc 2.0's partition files (make sets it)")
    rounds = [{config: run(*config, args.proteins, args.epochs) for config in configurations()}
              for _ in range(args.rounds)]
    rows = []
    for backend, precision, variant in configurations():
        found = [found[(backend, precision, variant)] for found in rounds]
        rows.append({"backend": backend, "precision": precision, "variant": variant,
                     "proteins_per_second": statistics.median(f["proteins_per_second"] for f in found),
                     "ratios": [f["proteins_per_second"] / one[("tensorflow", "float32", "")]["proteins_per_second"]
                                for f, one in zip(found, rounds)],
                     "onednn_bf16_kernels": found[0]["onednn_bf16_kernels"], "runs": found})
    results = {"command": command(), "machine": runtime.describe_machine(),
               "proteins": args.proteins, "epochs": args.epochs,
               "rounds": args.rounds, "bf16_units": bf16_units(), "rows": rows}
    write_results("train-speed", results, markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
