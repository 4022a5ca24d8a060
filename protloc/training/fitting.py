"""Evidence fitted on held-out training data: a run's labelled reference, its fusion rule and (multi-label) its
decision thresholds, written into the run's preset directory; and the same refitted for a preset from fold models
of its configuration.

Protocol (the same for ``protloc train`` and ``protloc fuse``): the reference is the data set's whole training
split; the fusion rule (and thresholds) are fitted on one held-out training fold, whose proteins get the network
outputs of models that did not train on them and hits from a search of the whole training split that leaves each
protein itself out. A multi-label preset gets two sets of thresholds (:mod:`protloc.evidence.thresholds`): for the
network's
probabilities alone and for the fused ones. The test split is never read.
"""
from __future__ import annotations

import dataclasses
import pathlib
import sys
from typing import Sequence

import keras
import numpy as np

from protloc.data import datasets
from protloc.data.datasets import MULTI_LABEL, Example, deeploc2_signals
from protloc.evidence import fusion, homology, network_inputs, thresholds as decision_thresholds
from protloc.models import inference, run_config, zoo
from protloc.prediction import loading, preset

REFERENCE_FILE = "reference.fasta.gz"
FUSION_FILE = "fusion.json"
THRESHOLDS_FILE = "thresholds.json"


@dataclasses.dataclass(frozen=True)
class HeldOut:
    """One training fold's proteins with their class evidence from the rest of the training split.

    Attributes:
        examples: the fold's examples, in the data set's order.
        labels: their labels: int32 ``(n,)`` class indices, or int8 ``(n, classes)`` multi-hot rows.
        hits: each one's hits (best first) from a search of the whole training split that leaves it out.
        evidence: their class evidence (:func:`protloc.evidence.homology.class_evidence` of ``hits``).
    """

    examples: list
    labels: np.ndarray
    hits: list
    evidence: object


def held_out(train: Sequence[Example], fold, search: homology.HomologySearch,
             label_scheme: str = datasets.SINGLE_LABEL) -> HeldOut:
    """The proteins of training fold ``fold`` (or of several: a collection of folds) and their class evidence from
    ``search`` (a search of the whole training split ``train``, in the same order), each protein leaving itself
    out."""
    folds = {fold} if isinstance(fold, int) else set(fold)
    members = [index for index, example in enumerate(train) if example.fold in folds]
    if not members:
        raise ValueError(f"training fold(s) {sorted(folds)} hold no proteins")
    hits = search.search([train[i].sequence for i in members], exclude=members)
    examples = [train[i] for i in members]
    classes = len(search.reference.class_names)
    labels = datasets.labels_of(examples, classes if label_scheme == MULTI_LABEL else None)
    return HeldOut(examples, labels, hits, homology.class_evidence(hits, classes))


def network_outputs(network, examples, config: run_config.RunConfig) -> dict:
    """The outputs by name of a run's ``network`` on data-set examples (with the inputs the run computes)."""
    return inference.Forward(network)(network_inputs.with_run_inputs(config, examples))


def fit_evidence(directory: pathlib.Path, card: dict, outputs: dict, fold: HeldOut, data: str,
                 command: str | None) -> dict:
    """Fits the fusion rule (and, multi-label, both sets of thresholds; with a signal head and signal labels in the
    fold, the signal types' thresholds for each type's largest MCC) on a held-out fold from the network ``outputs``
    on its proteins, writes them into ``directory`` and returns the card naming them.

    Args:
        data: what the outputs and hits are, for the provenance.
    """
    provenance = {"data": data, "command": command}
    card = {**card, "fusion": FUSION_FILE, "figures": dict(card.get("figures", {}))}
    if card["label_scheme"] == MULTI_LABEL:
        network = outputs[zoo.LOCATIONS_OUTPUT]
        rule = fusion.fit_multi_label(network, fold.evidence, fold.labels, provenance)
        fused = rule.apply(network, fold.evidence)[0]
        found = {"network": decision_thresholds.fit(network, fold.labels),
                 "fused": decision_thresholds.fit(fused, fold.labels)}
        labelled = [i for i, example in enumerate(fold.examples) if example.signals is not None]
        if zoo.SIGNAL_TYPES_OUTPUT in outputs and labelled:  # a signal head: each type for its largest MCC
            found[decision_thresholds.SIGNAL_TYPES_KEY] = decision_thresholds.fit(
                outputs[zoo.SIGNAL_TYPES_OUTPUT][labelled],
                np.array([fold.examples[i].signals.multi_hot() for i in labelled]), objective="mcc")
        decision_thresholds.save(directory / THRESHOLDS_FILE, found, card["class_names"],
                                 {**provenance, "rule": "the largest micro-averaged F1 on the held-out fold "
                                                        "(protloc.evidence.thresholds.fit)"})
        card["thresholds"] = THRESHOLDS_FILE
    else:
        rule = fusion.fit(outputs[inference.MAIN_OUTPUT], fold.evidence, fold.labels, provenance)
    rule.save(directory / FUSION_FILE)
    card["figures"]["fusion_fit"] = rule.provenance["fit"]
    return card


def write_run_evidence(run_dir, config: run_config.RunConfig, network, data_dir=None,
                       command: str | None = None) -> dict:
    """Writes a finished run's reference (its data set's training split, without the run's excluded folds) and, when
    the run held out a fold, the
    fusion rule (and thresholds) fitted on that fold; then its card. Without MMseqs2, or for a data set whose
    examples carry no sequences, the card says the run has no evidence (a multi-label run then decides at
    thresholds of 0.5). Returns the card.

    Args:
        run_dir: the run directory (holding model.keras and config.json).
        config: the run's settings.
        network: the trained network.
        data_dir: where the data set's files are.
        command: how the run was made, for the card.
    """
    run_dir = pathlib.Path(run_dir)
    spec = config.spec
    train = spec.examples("train", config.seen_folds(), data_dir)
    card = run_card(run_dir, config, network, command)
    if not all(example.sequence for example in train):
        return _written(run_dir, card, f"data set {spec.name} gives no sequences: no homology evidence")
    reference = homology.ReferenceSet.from_examples(train, spec.class_names)
    reference.write(run_dir / REFERENCE_FILE)
    card["reference"] = REFERENCE_FILE
    if config.fold is None:
        return _written(run_dir, card, "no fold held out: no fusion fitted (protloc fuse RUN --fold-run FOLD_RUN "
                                       "fits one from runs of this configuration trained with a fold held out)")
    try:
        fold = held_out(train, config.fold, homology.HomologySearch(reference), spec.label_scheme)
    except homology.HomologyError as error:
        print(f"protloc train: no fusion fitted ({error})", file=sys.stderr)
        return _written(run_dir, card, f"no fusion fitted: {error}")
    outputs = network_outputs(network, fold.examples, config)
    card = fit_evidence(run_dir, card, outputs, fold,
                        f"{spec.name} training fold {config.fold} ({len(fold.examples)} proteins): this network's "
                        f"outputs (it did not train on them); hits from a search of the whole training split "
                        f"leaving each protein itself out", command)
    preset.write_card(run_dir, card)
    return card


def _written(run_dir: pathlib.Path, card: dict, note: str) -> dict:
    """Writes a card without a fitted fusion, saying why (a multi-label one with thresholds of 0.5)."""
    card = {**card, "evidence_note": note}
    if card["label_scheme"] == MULTI_LABEL:
        decision_thresholds.save(run_dir / THRESHOLDS_FILE, {"network": np.full(len(card["class_names"]), 0.5)},
                                 card["class_names"], {"rule": "not fitted: 0.5 for every location", "note": note})
        card["thresholds"] = THRESHOLDS_FILE
    preset.write_card(run_dir, card)
    return card


def write_run_card(run_dir, config: run_config.RunConfig, network, command: str | None = None) -> dict:
    """Writes the card of a run without evidence (e.g. after a multi-process training); returns it."""
    return _written(pathlib.Path(run_dir), run_card(pathlib.Path(run_dir), config, network, command),
                    "no evidence fitted by this training (protloc fuse RUN --fold-run FOLD_RUN fits it)")


def run_card(run_dir: pathlib.Path, config: run_config.RunConfig, network, command: str | None) -> dict:
    """The card of a run directory (no evidence yet): what it is, its inputs, its provenance and the terms of the data
    it was trained on (``data_terms``: the data set's, and the signal data's for a signal-head model)."""
    spec = config.spec
    return {"format": preset.FORMAT, "name": run_dir.name,
            "description": f"{config.model} trained by protloc train on {spec.name} (recipe {config.recipe}, "
                           f"{config.epochs} epochs, seed {config.seed}, "
                           + (f"fold {config.fold} held out)" if config.fold is not None else "whole training split)"),
            "dataset": config.dataset, "label_scheme": spec.label_scheme, "class_names": list(spec.class_names),
            "inputs": zoo.input_names(network), "members": zoo.member_count(network), "model": "model.keras",
            "reference": None, "fusion": None,
            "profile_db": config.to_json(run_dir)["profile_db"] if config.profile_db else None,
            "training": {"run_config": run_config.CONFIG_FILE, "command": command,
                         "backend": keras.backend.backend()},
            "data_terms": [terms for terms in (spec.terms, deeploc2_signals.TERMS if config.hparams["signals"] else "")
                           if terms],
            "figures": {}}


def fuse_preset(directory, fold_runs: Sequence, data_dir=None, command: str | None = None):
    """Fits the fusion rule (and, multi-label, the thresholds) of the preset in ``directory`` from runs of its
    configuration that each held out a training fold, against the preset's reference, which must be the data set's
    training split; writes ``fusion.json`` (``thresholds.json``) and updates the card. Returns the rule.

    Runs that held out the same fold are averaged on it (several seeds, as an ensemble preset's members); runs of
    different folds each predict their own (cross-validation: every protein of those folds predicted by a model that
    did not train on it).

    Raises:
        ValueError: a run holds out no fold or is of another data set, or the preset has no reference.
    """
    directory = pathlib.Path(directory)
    found = preset.load(directory)
    configs = [run_config.read_config(run) for run in fold_runs]
    if not configs or any(c.fold is None for c in configs) or {c.dataset for c in configs} != {found.card["dataset"]}:
        raise ValueError(f"the fold runs must each hold out a training fold of {found.card['dataset']}")
    if found.file("reference") is None:
        raise ValueError(f"{directory} has no reference to fit a fusion rule against")
    spec = configs[0].spec
    train = spec.examples("train", None, data_dir)
    reference = homology.ReferenceSet.read(found.file("reference"), spec.class_names)
    if sorted(reference.ids) != sorted(example.id for example in train):
        raise ValueError(f"{found.file('reference')} is not the training split of {spec.name}")
    folds = sorted({config.fold for config in configs})
    pooled = held_out(train, folds, homology.HomologySearch(reference), spec.label_scheme)
    outputs = {}
    for fold in folds:
        runs = [(run, config) for run, config in zip(fold_runs, configs) if config.fold == fold]
        members = [example for example in pooled.examples if example.fold == fold]
        totals: dict = {}
        for run, config in runs:
            network = loading.load_network(run)
            for name, values in network_outputs(network, members, config).items():
                totals[name] = totals.get(name, 0.0) + values
        for name, total in totals.items():
            outputs.setdefault(name, np.zeros((len(pooled.examples), *np.shape(total)[1:]), np.float32))
            outputs[name][np.array([e.fold == fold for e in pooled.examples])] = total / len(runs)
    card = fit_evidence(directory, found.card, outputs, pooled,
                        f"{spec.name} training fold(s) {folds} ({len(pooled.examples)} proteins): the outputs of "
                        f"{len(fold_runs)} model(s) of this configuration, each protein's by the model(s) that held "
                        f"its fold out (averaged); hits from a search of the whole training split leaving each "
                        f"protein itself out", command)
    rule = fusion.load(directory / FUSION_FILE)
    rule = dataclasses.replace(rule, provenance={
        **rule.provenance, "fold_runs": [str(run) for run in fold_runs],
        "fold_run_configs": [config.to_json(run) for run, config in zip(fold_runs, configs)]})
    rule.save(directory / FUSION_FILE)
    preset.write_card(directory, card)
    return rule
