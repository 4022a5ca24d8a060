"""Evidence fitted on held-out training data: a run's labelled reference and its fusion rule, written into the
run's preset directory, and fusion refitted for a preset from fold models of its configuration.

Protocol (the same for ``protloc train`` and ``protloc fuse``): the reference is the data set's whole training
split; the fusion rule is fitted on one held-out training fold, whose proteins get the network probabilities of
models that did not train on them and hits from a search of the whole training split that leaves each protein
itself out. The test split is never read.
"""
from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import Sequence

import keras
import numpy as np

from protloc import datasets, evaluation, fusion, homology, models, preset, profiles, run_config
from protloc.datasets import Example

REFERENCE_FILE = "reference.fasta.gz"
FUSION_FILE = "fusion.json"


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """One training fold's proteins with their class evidence from the rest of the training split.

    Attributes:
        examples: the fold's examples, in the data set's order.
        labels: their labels (``datasets.labels_of``).
        hits: each one's hits (best first) from a search of the whole training split that leaves it out.
        evidence: their class evidence (:func:`protloc.homology.class_evidence` of ``hits``).
    """

    examples: list
    labels: np.ndarray
    hits: list
    evidence: object


def held_out(train: Sequence[Example], fold: int, search: homology.HomologySearch) -> HeldOut:
    """The proteins of training fold ``fold`` and their class evidence from ``search`` (a search of the whole
    training split ``train``, in the same order), each protein leaving itself out."""
    members = [index for index, example in enumerate(train) if example.fold == fold]
    if not members:
        raise ValueError(f"training fold {fold} holds no proteins")
    hits = search.search([train[i].sequence for i in members], exclude=members)
    examples = [train[i] for i in members]
    return HeldOut(examples, datasets.labels_of(examples), hits,
                   homology.class_evidence(hits, len(search.reference.class_names)))


def write_run_evidence(run_dir, config: run_config.RunConfig, network, data_dir=None, features=None,
                       command: str | None = None) -> dict:
    """Writes a finished run's reference (its data set's training split) and, when the run held out a fold, the
    fusion rule fitted on that fold; then its card. Without MMseqs2, or for a data set whose examples carry no
    sequences, the card says the run has no evidence. Returns the card.

    Args:
        run_dir: the run directory (holding model.keras and config.json).
        config: the run's settings.
        network: the trained network.
        data_dir: where the data set's files are.
        features: adds the per-residue inputs the network takes beyond tokens to examples (profiles), or None.
        command: how the run was made, for the card.
    """
    run_dir = pathlib.Path(run_dir)
    spec = config.spec
    train = spec.examples("train", None, data_dir)
    card = run_card(run_dir, config, network, command)
    if not all(example.sequence for example in train):
        card["evidence_note"] = f"data set {spec.name} gives no sequences: no homology evidence"
        preset.write_card(run_dir, card)
        return card
    reference = homology.ReferenceSet.from_examples(train, spec.class_names)
    reference.write(run_dir / REFERENCE_FILE)
    card["reference"] = REFERENCE_FILE
    if config.fold is None:
        card["evidence_note"] = ("no fold held out: no fusion fitted (protloc fuse RUN --fold-run FOLD_RUN fits one "
                                 "from models of this configuration trained with a fold held out)")
    else:
        try:
            fold = held_out(train, config.fold, homology.HomologySearch(reference))
        except homology.HomologyError as error:
            print(f"protloc train: no fusion fitted ({error})", file=sys.stderr)
            card["evidence_note"] = f"no fusion fitted: {error}"
        else:
            probabilities = evaluation.predict_probabilities(network, features(fold.examples) if features
                                                             else fold.examples)
            rule = fusion.fit(probabilities, fold.evidence, fold.labels, provenance={
                "data": f"{spec.name} training fold {config.fold} ({len(fold.examples)} proteins): this network's "
                        f"probabilities (it did not train on them); hits from a search of the whole training split "
                        f"leaving each protein itself out", "command": command})
            rule.save(run_dir / FUSION_FILE)
            card["fusion"] = FUSION_FILE
            card["figures"]["validation"] = rule.provenance["fit"]
    preset.write_card(run_dir, card)
    return card


def write_run_card(run_dir, config: run_config.RunConfig, network, command: str | None = None) -> dict:
    """Writes the card of a run without evidence (e.g. after a multi-process training); returns it."""
    card = run_card(pathlib.Path(run_dir), config, network, command)
    card["evidence_note"] = "no evidence fitted by this training (protloc fuse RUN --fold-run FOLD_RUN fits it)"
    preset.write_card(run_dir, card)
    return card


def run_card(run_dir: pathlib.Path, config: run_config.RunConfig, network, command: str | None) -> dict:
    """The card of a run directory (no evidence yet): what it is, its inputs, its provenance."""
    spec = config.spec
    return {"format": preset.FORMAT, "name": run_dir.name,
            "description": f"{config.model} trained by protloc train on {spec.name} (recipe {config.recipe}, "
                           f"{config.epochs} epochs, seed {config.seed}, "
                           + (f"fold {config.fold} held out)" if config.fold is not None else "whole training split)"),
            "dataset": config.dataset, "label_scheme": spec.label_scheme, "class_names": list(spec.class_names),
            "inputs": models.input_names(network), "members": models.member_count(network), "model": "model.keras",
            "reference": None, "fusion": None,
            "profile_db": config.to_json(run_dir)["profile_db"] if config.profile_db else None,
            "training": {"run_config": run_config.CONFIG_FILE, "command": command,
                         "backend": keras.backend.backend()}, "figures": {}}


def fuse_preset(directory, fold_runs: Sequence, data_dir=None, command: str | None = None) -> fusion.Fusion:
    """Fits the fusion rule of the preset in ``directory`` from runs of its configuration that held out one same
    training fold (their mean probabilities on that fold), against the preset's reference, which must be the data
    set's training split; writes ``fusion.json`` and updates the card.

    Raises:
        ValueError: the fold runs do not share one held-out fold of the preset's data set, or the preset has no
            reference.
    """
    directory = pathlib.Path(directory)
    found = preset.load(directory)
    configs = [run_config.read_config(run) for run in fold_runs]
    folds = {config.fold for config in configs}
    if not configs or None in folds or len(folds) > 1 or {c.dataset for c in configs} != {found.card["dataset"]}:
        raise ValueError(f"the fold runs must each hold out the same training fold of {found.card['dataset']}")
    if found.file("reference") is None:
        raise ValueError(f"{directory} has no reference to fit a fusion rule against")
    spec = configs[0].spec
    train = spec.examples("train", None, data_dir)
    reference = homology.ReferenceSet.read(found.file("reference"), spec.class_names)
    if sorted(reference.ids) != sorted(example.id for example in train):
        raise ValueError(f"{found.file('reference')} is not the training split of {spec.name}")
    fold = held_out(train, folds.pop(), homology.HomologySearch(reference))
    total = 0.0
    for run, config in zip(fold_runs, configs):
        network = models.load_model(preset.load(run).file("model"))
        total = total + evaluation.predict_probabilities(network, profiles.with_database_profiles(fold.examples,
                                                                                                 config.profile_db))
    probabilities = total / len(fold_runs)
    rule = fusion.fit(probabilities, fold.evidence, fold.labels, provenance={
        "data": f"{spec.name} training fold {configs[0].fold} ({len(fold.examples)} proteins): the mean "
                f"probabilities of {len(fold_runs)} model(s) of this configuration trained on the other folds; hits "
                f"from a search of the whole training split leaving each protein itself out",
        "fold_runs": [str(run) for run in fold_runs],
        "fold_run_configs": [config.to_json(run) for run, config in zip(fold_runs, configs)], "command": command})
    rule.save(directory / FUSION_FILE)
    card = dict(found.card)
    card["fusion"] = FUSION_FILE
    card.setdefault("figures", {})["fusion_fit"] = rule.provenance["fit"]
    preset.write_card(directory, card)
    return rule
