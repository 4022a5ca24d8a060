"""Keeps a finished run in the repository: its config.json, history.csv and model.keras without optimizer state
(about a third of the size), checkpoints and logs left out.

Usage:
    python benchmarks/keep_run.py runs/deeploc2/cv/fold0 benchmarks/weights/deeploc2-fold0 [--half]

With ``--half`` the weights are stored as float16 (:func:`protloc.training.packaging.save_half`: half the size again;
the
network computes in float32 with rounded weights, so results recomputed from the kept run are those of the rounded
weights: compute them from the kept folder).

The kept folder is itself a run directory: every benchmark that takes a run reads it (its test predictions are
computed again on first use).
"""
from __future__ import annotations

import argparse
import pathlib
import shutil
import sys

from protloc.models import zoo
from protloc.training import loop, packaging
from protloc.utils import files

KEPT = ("config.json", "history.csv")
"""The run's files copied as they are, besides the model."""


def keep(run: pathlib.Path, destination: pathlib.Path, half: bool = False) -> None:
    """Writes ``destination`` (created if missing) from the finished run ``run``, its weights as float16 with
    ``half``."""
    loop.read_config(run)  # a run directory, or a one-line error naming it
    model = zoo.load_model(run / "model.keras")  # uncompiled: no optimizer state
    destination.mkdir(parents=True, exist_ok=True)
    for name in KEPT:
        with files.atomic_path(destination / name) as temporary:
            shutil.copyfile(run / name, temporary)
    (packaging.save_half if half else files.save_model)(model, destination / "model.keras")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=pathlib.Path, help="run directory of a finished training")
    parser.add_argument("destination", type=pathlib.Path, help="folder to write, e.g. benchmarks/weights/NAME")
    parser.add_argument("--half", action="store_true", help="store the weights as float16")
    args = parser.parse_args(argv)
    if not (args.run / "model.keras").exists():
        parser.error(f"{args.run}: no model.keras (not a finished run)")
    keep(args.run, args.destination, args.half)
    return 0


if __name__ == "__main__":
    sys.exit(main())
