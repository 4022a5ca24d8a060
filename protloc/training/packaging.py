"""Presets made from finished runs (``protloc preset``): one run's network, or an ensemble of several runs' networks
as one Keras model, without optimizer state, with the runs' reference and a card saying where it all came from.

The fusion rule (and, multi-label, the thresholds) are fitted afterwards for the preset's network from fold runs of
its configuration (``protloc fuse``, :func:`protloc.training.fitting.fuse_preset`); its test figures are recorded by
``protloc evaluate PRESET --card``.

A preset's weights can be stored at half precision (:func:`save_half`: float16 in the ``.keras`` file, half the
size; the weights entry is also deflated, about 15% less again, which Keras reads as it reads a stored entry): they
load into the network's float32 variables as usual, so it computes in float32 with every weight rounded to 11
significant bits (probabilities move by about 1e-3). Figures measured on such a preset are measured with the rounded
weights.
"""
from __future__ import annotations

import os
import pathlib
import shutil
import tempfile
import zipfile
from typing import Sequence

import numpy as np

from protloc.data.datasets import MULTI_LABEL
from protloc.evidence import homology, thresholds as decision_thresholds
from protloc.models import run_config, zoo
from protloc.prediction import preset
from protloc.training import fitting
from protloc.utils import files

WEIGHTS_ENTRY = "model.weights.h5"
"""The weights file inside a ``.keras`` archive."""


def save_half(network, path) -> None:
    """Saves ``network`` to the ``.keras`` file ``path`` (atomically) with every float32 weight stored as float16, the
    weights entry deflated."""
    import h5py

    with tempfile.TemporaryDirectory() as scratch:
        full = pathlib.Path(scratch) / "full.keras"
        files.save_model(network, full)
        with zipfile.ZipFile(full) as source:
            (pathlib.Path(scratch) / "full.h5").write_bytes(source.read(WEIGHTS_ENTRY))
            with h5py.File(pathlib.Path(scratch) / "full.h5", "r") as weights, \
                    h5py.File(pathlib.Path(scratch) / "half.h5", "w") as half:
                _copy_half(weights, half)
            with files.atomic_path(path, suffix=".keras") as temporary, zipfile.ZipFile(temporary, "w") as target:
                for item in source.infolist():
                    if item.filename == WEIGHTS_ENTRY:
                        target.writestr(item, (pathlib.Path(scratch) / "half.h5").read_bytes(),
                                        compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
                    else:
                        target.writestr(item, source.read(item))


def _copy_half(source, target) -> None:
    """Copies an HDF5 group's attributes, groups and datasets into ``target``, float32 datasets as float16."""
    for key, value in source.attrs.items():
        target.attrs[key] = value
    for name, item in source.items():
        if hasattr(item, "dtype"):
            data = item[()]
            copied = target.create_dataset(name, data=data.astype(np.float16) if data.dtype == np.float32 else data)
            for key, value in item.attrs.items():
                copied.attrs[key] = value
        else:
            _copy_half(item, target.create_group(name))


def make_preset(runs: Sequence, out, name: str, description: str, reference=None, command: str | None = None,
                xz: bool = False, half: bool = False) -> dict:
    """Writes the preset ``out`` from ``runs`` (run directories of one data set); returns its card.

    Args:
        runs: one run (its network) or several (an ensemble averaging their networks' outputs).
        out: the preset's directory (created; an existing preset there is replaced file by file).
        name, description: for the card.
        reference: a labelled reference file to name instead of copying the runs' own (e.g. a sibling preset's,
            ``../pretrained/reference.fasta.gz``, so that two presets of one data set share one file); a path
            relative to ``out`` or absolute (made relative).
        command: how the preset was made, for the card.
        xz: store the runs' reference xz-compressed (``reference.fasta.xz``, about a sixth smaller than gzip).
        half: store the weights at half precision (:func:`save_half`).

    Raises:
        ValueError: no runs, runs of different data sets or inputs, a run without a reference, or ``out`` a file.
    """
    runs = [pathlib.Path(run) for run in runs]
    if not runs:
        raise ValueError("a preset needs at least one run")
    configs = [run_config.read_config(run) for run in runs]
    if len({config.dataset for config in configs}) > 1:
        raise ValueError("the runs are of different data sets")
    out = pathlib.Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a directory")
    networks = [zoo.load_model(run / "model.keras") for run in runs]
    network = networks[0] if len(networks) == 1 else zoo.build_ensemble(networks, name=f"ensemble_{len(runs)}")
    out.mkdir(parents=True, exist_ok=True)
    (save_half if half else files.save_model)(network, out / "model.keras")
    card = fitting.run_card(out, configs[0], network, command)
    card.update(name=name, description=description, weights_dtype="float16" if half else "float32",
                training={"runs": [str(run) for run in runs], "command": command,
                          "run_configs": [config.to_json(run) for run, config in zip(runs, configs)]})
    if reference is not None:
        target = pathlib.Path(reference)
        card["reference"] = os.path.relpath(target.resolve(), out.resolve()) if target.is_absolute() else str(target)
    else:
        source = runs[0] / fitting.REFERENCE_FILE
        if not source.is_file():
            raise ValueError(f"{runs[0]} has no {fitting.REFERENCE_FILE}: give --reference")
        if xz:
            target = "reference.fasta.xz"
            homology.ReferenceSet.read(source, card["class_names"]).write(out / target)
        else:
            target = fitting.REFERENCE_FILE
            with files.atomic_path(out / target) as temporary:
                shutil.copyfile(source, temporary)
        card["reference"] = target
    card["evidence_note"] = "no fusion fitted yet (protloc fuse PRESET --fold-run FOLD_RUN ...)"
    if card["label_scheme"] == MULTI_LABEL:
        decision_thresholds.save(out / fitting.THRESHOLDS_FILE, {"network": [0.5] * len(card["class_names"])},
                                 card["class_names"], {"rule": "not fitted: 0.5 for every location"})
        card["thresholds"] = fitting.THRESHOLDS_FILE
    for stale in (fitting.FUSION_FILE,):
        (out / stale).unlink(missing_ok=True)
    preset.write_card(out, card)
    return card
