"""A preset: a directory that holds everything needed to predict with one model, and says so in its card.

Layout (keras-hub style; shipped presets in :mod:`protloc.prediction.presets` and ``protloc train`` run directories
alike)::

    preset.json          the card: name, description, data set, label scheme, class names, inputs, the files
                         below, provenance and measured figures (each with the command that measured it)
    model.keras          the network (Keras 3, loaded in safe mode)
    reference.fasta.gz   labelled proteins for homology evidence (optional)
    fusion.json          the fusion rule fitted for this network and reference (optional; protloc.evidence.fusion)
    thresholds.json      per-class decision thresholds of a multi-label network (multi-label presets)

Paths in the card are relative to the preset's directory. A profile model's database (``profile_db``) is outside
the preset (it is large); its paths are relative to the directory too, so a tree moved as a whole still works.

:func:`load` takes a shipped preset's name, a preset directory, a run directory written before presets had cards
(its ``config.json`` and ``model.keras``; no evidence), or a bare ``.keras`` file (no evidence).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib

from protloc.data.datasets import LABEL_SCHEMES, SINGLE_LABEL, check_class_names
from protloc.data.features import KINGDOM, TOKENS
from protloc.prediction import presets
from protloc.utils import files

CARD = "preset.json"
FORMAT = 1
"""``format`` of the cards this version reads and writes."""
FILE_KEYS = ("model", "reference", "fusion", "thresholds")
"""Card entries that name files of the preset."""


class PresetError(ValueError):
    """A preset that cannot be used: missing, or its card is not valid; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class Preset:
    """A loaded card and where its files are.

    Attributes:
        name: the shipped name, or the directory's (file's) name.
        directory: the preset's directory; None for a bare ``.keras`` file.
        card: the card's content (validated).
    """

    name: str
    directory: pathlib.Path | None
    card: dict

    @property
    def class_names(self) -> list[str]:
        return list(self.card["class_names"])

    @property
    def label_scheme(self) -> str:
        return self.card["label_scheme"]

    @property
    def inputs(self) -> list[str]:
        """The network's inputs by name: ``tokens`` and any per-residue input (``profile``)."""
        return list(self.card["inputs"])

    def file(self, key: str) -> pathlib.Path | None:
        """The file the card names under ``key`` (one of :data:`FILE_KEYS`), or None where it names none."""
        value = self.card.get(key)
        if value is None:
            return None
        return pathlib.Path(value) if self.directory is None else self.directory / value

    @property
    def profile_db(self) -> list[pathlib.Path] | None:
        """A profile model's database paths, or None."""
        paths = self.card.get("profile_db")
        return None if not paths else [(self.directory / path).resolve() for path in paths]


def load(name_or_path, network_only: bool = False) -> Preset:
    """The preset called ``name_or_path`` (a shipped preset), or at that path (module docstring); with
    ``network_only``, a multi-label run directory without a card is accepted without thresholds (its network is all
    that is wanted, e.g. to score a kept cross-validation run).

    Raises:
        PresetError: nothing usable there (the message lists the shipped presets), or an invalid card.
    """
    text = str(name_or_path)
    shipped = presets.resolve(text)
    if shipped is not None:
        return _from_directory(presets.DIRECTORY / shipped, shipped)
    path = pathlib.Path(text)
    if path.is_dir():
        if (path / CARD).is_file():
            return _from_directory(path, path.name)
        if (path / "config.json").is_file() and (path / "model.keras").is_file():
            return _from_run_directory(path, network_only)
        raise PresetError(f"{path} is neither a preset ({CARD}) nor a run directory (config.json and model.keras)")
    if path.is_file() and path.suffix == ".keras":
        return Preset(path.stem, None, {"format": FORMAT, "name": path.stem, "model": str(path), "bare": True})
    raise PresetError(f"no preset called {text!r}: give a shipped preset ({', '.join(presets.names())}), a preset or "
                      f"run directory, or a .keras file")


def _from_directory(directory: pathlib.Path, name: str) -> Preset:
    path = directory / CARD
    try:
        card = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise PresetError(f"{path}: not a readable preset card ({error})") from None
    return Preset(name, directory, check_card(card, path, directory))


def _from_run_directory(directory: pathlib.Path, network_only: bool = False) -> Preset:
    """A run written before presets had cards: the network alone, its class names and inputs from config.json."""
    from protloc.models import run_config

    config = run_config.read_config(directory)
    card = {"format": FORMAT, "name": directory.name, "description": f"{config.model} trained by protloc train",
            "dataset": config.dataset, "label_scheme": config.spec.label_scheme,
            "class_names": list(config.spec.class_names),
            "inputs": [TOKENS, *config.hparams["residue_inputs"], *([KINGDOM] if config.hparams["kingdom"] else [])],
            "members": 1, "model": "model.keras",
            "reference": None, "fusion": None,
            "profile_db": [os.path.relpath(p, directory.resolve()) for p in config.profile_db or ()] or None}
    return Preset(directory.name, directory, check_card(card, directory / "config.json", directory, network_only))


def check_card(card, source, directory: pathlib.Path | None = None, network_only: bool = False) -> dict:
    """``card`` if it is a valid card whose files exist (in ``directory``), else a :class:`PresetError` naming
    ``source`` and the first problem (a value of the wrong type included, whatever the key)."""
    try:
        return _checked_card(card, source, directory, network_only)
    except (TypeError, AttributeError, KeyError) as error:  # a value of a type no check above foresaw
        raise PresetError(f"{source}: a value has the wrong type ({type(error).__name__}: {error})") from None


def _checked_card(card, source, directory: pathlib.Path | None = None, network_only: bool = False) -> dict:
    def fail(problem: str):
        raise PresetError(f"{source}: {problem}")

    if not isinstance(card, dict):
        fail("the card is not a JSON object")
    if card.get("format") != FORMAT:
        fail(f"card format {card.get('format')!r} is not one this protloc reads ({FORMAT})")
    for key in ("name", "label_scheme", "model"):
        if not isinstance(card.get(key), str) or not card[key]:
            fail(f"{key!r} must be a non-empty string")
    if card["label_scheme"] not in LABEL_SCHEMES:
        fail(f"label_scheme must be one of {', '.join(LABEL_SCHEMES)}, got {card['label_scheme']!r}")
    try:
        check_class_names(card.get("class_names", ()))
    except ValueError as error:
        fail(str(error))
    inputs = card.get("inputs")
    if not isinstance(inputs, list) or TOKENS not in inputs or not all(isinstance(i, str) for i in inputs):
        fail(f"'inputs' must list the network's input names, {TOKENS!r} among them")
    members = card.get("members", 1)
    if not isinstance(members, int) or isinstance(members, bool) or members < 1:
        fail(f"'members' must be a positive integer, got {members!r}")
    for key in FILE_KEYS:
        value = card.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or pathlib.PurePath(value).is_absolute():
            fail(f"{key!r} must be a path relative to the preset's directory, got {value!r}")
        if directory is not None and not (directory / value).is_file():
            fail(f"{key!r} names {value}, which is not in {directory}")
    if card["label_scheme"] != SINGLE_LABEL and card.get("thresholds") is None and not network_only:
        fail(f"a {card['label_scheme']}-label preset needs its 'thresholds' file")
    profile_db = card.get("profile_db")
    if profile_db is not None and (not isinstance(profile_db, list) or not all(isinstance(p, str) for p in profile_db)):
        fail("'profile_db' must be a list of paths or null")
    terms = card.get("data_terms", [])
    if not isinstance(terms, list) or not all(isinstance(line, str) for line in terms):
        fail("'data_terms' must be a list of lines")
    check_finite(card.get("figures", {}), f"{source}: figures")
    return card


def check_finite(value, where: str) -> None:
    """Raises ``ValueError`` naming ``where`` if ``value`` (numbers, or lists and dicts of them and of strings)
    holds a number that is not finite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise PresetError(f"{where}: {value} is not a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            check_finite(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_finite(item, f"{where}[{index}]")


def write_card(directory, card: dict) -> pathlib.Path:
    """Checks ``card`` against the files in ``directory`` and writes it there atomically; returns its path."""
    directory = pathlib.Path(directory)
    check_card(card, directory / CARD, directory)
    files.write_json(directory / CARD, card)
    return directory / CARD


def record_figures(directory, name: str, figures: dict) -> pathlib.Path:
    """Adds (or replaces) the figures called ``name`` in the card of the preset in ``directory``, keeping the others;
    returns the card's path.

    Raises:
        PresetError: ``directory`` is not a preset directory with a card.
    """
    found = load(directory)
    if found.directory is None or not (found.directory / CARD).is_file():
        raise PresetError(f"{directory} is not a preset directory with a card")
    return write_card(found.directory, {**found.card, "figures": {**found.card.get("figures", {}), name: figures}})
