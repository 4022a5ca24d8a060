"""Loading a preset: its card and every file the card names, read and checked against each other in one place.

:func:`load` is what :class:`protloc.prediction.predictor.Localizer` takes (``Localizer.from_loaded``); the evidence
options of ``protloc predict`` (``--no-homology``, ``--reference``, ``--fusion``, ``--profile-db``) are applied here.
:func:`load_network` is the network alone, checked against its card, for code that needs nothing else.
"""
from __future__ import annotations

import dataclasses
import pathlib

from protloc.data.features import PROFILE
from protloc.evidence import fusion as fusion_rule, homology, thresholds as decision_thresholds
from protloc.models import zoo
from protloc.prediction import preset, presets


@dataclasses.dataclass(frozen=True)
class LoadedPreset:
    """A preset with its files read.

    Attributes:
        preset: the card as loaded (name, directory, card).
        network: the Keras model (loaded in safe mode).
        card: the card checked against the network (a bare ``.keras`` file's card is the network's own).
        reference: the labelled reference proteins for homology evidence, or None (no evidence, or none asked for).
        fusion: the fusion rule fitted for this network and reference (given exactly when ``reference`` is).
        thresholds: a multi-label network's decision thresholds by evidence (``{"network": float32 (classes,), ...}``),
            or None.
        profile_db: a profile model's database paths, or None for a network that takes no profiles.
    """

    preset: preset.Preset
    network: object
    card: dict
    reference: homology.ReferenceSet | None
    fusion: fusion_rule.Fusion | fusion_rule.MultiLabelFusion | None
    thresholds: dict | None
    profile_db: list[pathlib.Path] | None

    @property
    def name(self) -> str:
        return self.preset.name


def load(name_or_path=presets.DEFAULT, *, homology_evidence: bool = True, reference=None, fusion=None,
         profile_db=None, cache_dir=None) -> LoadedPreset:
    """The preset called ``name_or_path`` (see :func:`protloc.prediction.preset.load`) with its files read.

    Args:
        homology_evidence: read the preset's reference and fusion (False: the network alone).
        reference: labelled FASTA to use instead of the preset's reference (its fusion is kept).
        fusion: a fusion file, or a rule :func:`protloc.evidence.fusion.load` read from one, instead of the preset's
            (needed with ``reference`` for a preset without one).
        profile_db: a profile model's database instead of the one its card names.
        cache_dir: where the reference's MMseqs2 database is cached (default: the runtime's cache directory).

    Raises:
        protloc.prediction.preset.PresetError: no preset there, an invalid card, or a card that disagrees with its
            network.
        ValueError: evidence options that do not fit the preset (the message names the option to give).
    """
    found = preset.load(name_or_path)
    network = zoo.load_model(found.file("model"))
    card = _checked_against_network(found, network)
    labelled = rule = None
    if homology_evidence:
        fusion_path = fusion or found.file("fusion")
        reference_path = reference or found.file("reference")
        if reference is not None and fusion_path is None:
            raise ValueError(f"--reference: {found.name} has no fusion fitted for it (fusion.json); give --fusion "
                             f"with weights fitted for this network (protloc fuse), or predict without --reference")
        if fusion is not None and reference_path is None:
            raise ValueError(f"--fusion: {found.name} has no labelled reference to fuse with; give --reference")
        if fusion_path is not None and reference_path is not None:
            rule = (fusion_path if isinstance(fusion_path, (fusion_rule.Fusion, fusion_rule.MultiLabelFusion))
                    else fusion_rule.load(fusion_path))
            labelled = homology.ReferenceSet.read(reference_path, card["class_names"], cache_dir)
    database = None
    if PROFILE in card["inputs"]:
        database = profile_db or found.profile_db
        if not database:
            raise ValueError(f"{found.name} is a profile model: give --profile-db (the database it was trained with)")
    elif profile_db:
        raise ValueError(f"--profile-db: {found.name} takes no sequence profiles")
    saved = found.file("thresholds")
    thresholds = decision_thresholds.load(saved, card["class_names"]) if saved is not None else None
    return LoadedPreset(found, network, card, labelled, rule, thresholds, database)


def load_network(name_or_path):
    """The network of the preset called ``name_or_path`` (a shipped name, a preset or run directory, a ``.keras``
    file), checked against its card (a multi-label run kept without its card and thresholds included); raises
    :class:`protloc.prediction.preset.PresetError` as :func:`load`."""
    found = preset.load(name_or_path, network_only=True)
    network = zoo.load_model(found.file("model"))
    _checked_against_network(found, network)
    return network


def _checked_against_network(found: preset.Preset, network) -> dict:
    """The preset's card, checked against its network (a bare ``.keras`` file's card is the network's own)."""
    names, inputs = zoo.class_names_of(network), zoo.input_names(network)
    if found.card.get("bare"):
        return {**found.card, "class_names": names, "inputs": inputs, "label_scheme": zoo.label_scheme_of(network),
                "members": zoo.member_count(network)}
    if found.class_names != names:
        raise preset.PresetError(f"{found.name}: the card's class names ({', '.join(found.class_names)}) are not the "
                                 f"network's ({', '.join(names)})")
    if found.label_scheme != zoo.label_scheme_of(network):
        raise preset.PresetError(f"{found.name}: the card's label scheme ({found.label_scheme}) is not the network's")
    if sorted(found.inputs) != sorted(inputs):
        raise preset.PresetError(f"{found.name}: the card's inputs ({', '.join(found.inputs)}) are not the network's "
                                 f"({', '.join(inputs)})")
    return found.card
