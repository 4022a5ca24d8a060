"""Presets made from finished runs (``protloc preset``): one run's network, or an ensemble of several runs' networks
as one Keras model, without optimizer state, with the runs' reference and a card saying where it all came from.

The fusion rule (and, multi-label, the thresholds) are fitted afterwards for the preset's network from fold runs of
its configuration (``protloc fuse``, :func:`protloc.fitting.fuse_preset`); its test figures are recorded by
``protloc evaluate PRESET --card``.
"""
from __future__ import annotations

import os
import pathlib
import shutil
from typing import Sequence

from protloc import files, fitting, homology, models, preset, run_config, thresholds as decision_thresholds
from protloc.datasets import MULTI_LABEL


def make_preset(runs: Sequence, out, name: str, description: str, reference=None, command: str | None = None,
                xz: bool = False) -> dict:
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
    networks = [models.load_model(run / "model.keras") for run in runs]
    network = networks[0] if len(networks) == 1 else models.build_ensemble(networks, name=f"ensemble_{len(runs)}")
    out.mkdir(parents=True, exist_ok=True)
    files.save_model(network, out / "model.keras")
    card = fitting.run_card(out, configs[0], network, command)
    card.update(name=name, description=description,
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
