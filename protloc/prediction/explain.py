"""Per-residue explanations of a prediction: which residues the call rests on.

* Attention models (A-LSTM): the attention weights alpha over the residues the network saw.
* Every other network: occlusion importance, backend-neutral and batched. Windows of ``window`` residues, one
  starting every ``stride`` residues, are masked in turn (replaced by ``X``, the ambiguity token whose encoding is
  the mean of the 20 residues'); each residue's importance is the mean, over the windows that cover it, of the drop
  in the network's probability of the class explained (by default its most probable class or location) when the
  window is masked. All masked copies of a protein go through the network together
  (:class:`protloc.models.inference.Forward`).

Tracks cover the residues the network saw (after middle truncation: the first and last 500 of a longer protein).
A network with a sorting-signal head also gives each track its predicted signal regions (each residue's most probable
signal class, runs of one type as regions), which the CSV lists per residue and the figure shades.
"""
from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from protloc.data import sequences, signal_regions
from protloc.data.datasets import Example
from protloc.data.features import SIGNAL_TYPES, TOKENS
from protloc.models import inference, zoo
from protloc.utils import files

MASK_TOKEN = sequences.VOCABULARY.index("X") + 1
"""The token that masks a residue: X (any residue)."""


@dataclasses.dataclass(frozen=True)
class Track:
    """One protein's per-residue explanation.

    Attributes:
        kind: ``attention`` or ``occlusion``.
        target: the class explained (its index).
        residues: the residues the network saw (after truncation), as a string.
        values: float32 ``(len(residues),)``: attention weights (summing to 1), or probability drops.
        signals: int ``(len(residues),)`` each residue's predicted signal class (0: none, k: ``SIGNAL_TYPES[k - 1]``)
            for a network with a sorting-signal head, else None.
    """

    kind: str
    target: int
    residues: str
    values: np.ndarray
    signals: np.ndarray | None = None

    @property
    def regions(self) -> list[tuple[str, int, int]]:
        """``(type, first, last)`` per run of one signal type, residues numbered from 1 along :attr:`residues`."""
        if self.signals is None:
            return []
        return [(name, first + 1, last + 1) for name, first, last in signal_regions.regions(self.signals)]


class Explainer:
    """Explains a predictor's calls residue by residue (module docstring).

    Args:
        localizer: the :class:`protloc.prediction.predictor.Localizer` whose network is explained.
        window, stride: occlusion windows in residues.
        batch_size: masked copies per network batch.
    """

    def __init__(self, localizer, window: int = 9, stride: int = 3, batch_size: int = 64):
        if window < 1 or stride < 1:
            raise ValueError(f"window and stride must be at least 1, got {window} and {stride}")
        if localizer.profile_search is not None:
            raise ValueError("explanations of profile networks are not offered: their masked copies would need "
                             "profiles of their own")
        self.localizer, self.window, self.stride = localizer, window, stride
        network, self.attention = zoo.with_attention_output(localizer.network)
        self.forward = inference.Forward(network, batch_size)
        self.output = zoo.LOCATIONS_OUTPUT if localizer.multi_label else inference.MAIN_OUTPUT

    @property
    def kind(self) -> str:
        return "attention" if self.attention else "occlusion"

    def track(self, sequence: str, target: int | None = None) -> Track:
        """The explanation of one protein (its residues, any case, as ``protloc predict`` reads them) for the class
        ``target`` (default: the network's most probable; ``protloc predict`` passes its final call, which homology
        may have changed)."""
        tokens = sequences.encode_sequence(sequence.rstrip("*"))
        residues = "".join(sequences.VOCABULARY[t - 1] for t in tokens)
        found = self.forward([Example("query", {TOKENS: tokens}, None, 0)])
        probabilities = found[self.output][0]
        target = int(np.argmax(probabilities)) if target is None else int(target)
        signals = (np.asarray(found[zoo.SIGNAL_RESIDUES_OUTPUT][0]).argmax(-1)
                   if zoo.SIGNAL_RESIDUES_OUTPUT in found else None)
        if self.attention:
            return Track("attention", target, residues, np.asarray(found["attention"][0], np.float32), signals)
        starts = list(range(0, len(tokens), self.stride))
        masked = []
        for start in starts:
            copy = tokens.copy()
            copy[start:start + self.window] = MASK_TOKEN
            masked.append(Example(f"masked{start}", {TOKENS: copy}, None, 0))
        drops = probabilities[target] - self.forward(masked)[self.output][:, target]
        total, covered = np.zeros(len(tokens)), np.zeros(len(tokens))
        for start, drop in zip(starts, drops):
            total[start:start + self.window] += drop
            covered[start:start + self.window] += 1
        return Track("occlusion", target, residues, (total / covered).astype(np.float32), signals)


STEM_LENGTH = 80
"""Characters of an identifier kept in its explanation's file name (file systems allow 255 bytes a name)."""


def file_stems(identifiers) -> list[str]:
    """One file name stem per protein, in order: its identifier with every character other than letters, digits,
    ``.``, ``_`` and ``-`` replaced by ``_``, cut to :data:`STEM_LENGTH`, never starting with ``.``; a stem that
    another protein already has (``a/b`` and ``a_b``; the same identifier twice; names equal but for case, as
    case-insensitive file systems see them) gets ``-N``, N the protein's record number, so that no track overwrites
    another.

    Args:
        identifiers: the proteins' identifiers (empty for none), in input order.
    """
    stems, taken = [], set()
    for number, identifier in enumerate(identifiers, 1):
        safe = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in identifier)
        stem = (safe.lstrip(".") or f"record{number}")[:STEM_LENGTH]
        if stem.lower() in taken:
            stem = f"{stem}-{number}"
        taken.add(stem.lower())
        stems.append(stem)
    return stems


def write_track(track: Track, directory, stem: str, class_names, title: str | None = None) -> list[pathlib.Path]:
    """Writes ``STEM.csv`` (position, residue, value, and with a signal head the residue's predicted signal type,
    empty for none) and ``STEM.png`` (the track along the sequence, signal regions shaded, titled ``title``, default
    the stem) in ``directory``, each atomically; returns their paths. ``stem`` is a safe file name
    (:func:`file_stems`)."""
    directory = pathlib.Path(directory)
    table = directory / f"{stem}.csv"
    signals = ([SIGNAL_TYPES[code - 1] if code else "" for code in track.signals] if track.signals is not None
               else None)
    rows = "".join(f"{i + 1},{residue},{value:.6f}" + (f",{signals[i]}" if signals is not None else "") + "\n"
                   for i, (residue, value) in enumerate(zip(track.residues, track.values)))
    files.write_text(table, f"position,residue,{track.kind}{',signal' if signals is not None else ''}\n{rows}")
    return [table, plot_track(track, directory / f"{stem}.png", class_names, title or stem)]


def plot_track(track: Track, path: pathlib.Path, class_names, title: str) -> pathlib.Path:
    """The track as a figure (bars along the sequence), written atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(10, 2.6))
    positions = np.arange(1, len(track.values) + 1)
    for name, first, last in track.regions:  # predicted sorting signals, behind the bars
        axis.axvspan(first - 0.5, last + 0.5, color="#f2c14e", alpha=0.35, linewidth=0)
        axis.annotate(name, ((first + last) / 2, 1.0), xycoords=("data", "axes fraction"), ha="center", va="bottom",
                      fontsize=8)
    axis.bar(positions, track.values, width=1.0, color="#3b6ea5")
    axis.set_xlim(0.5, len(track.values) + 0.5)
    axis.set_xlabel("residue (of those the network saw)")
    axis.set_ylabel("attention" if track.kind == "attention" else "probability drop")
    axis.set_title(f"{title}: {track.kind} for {class_names[track.target]}", fontsize=10)
    figure.tight_layout()
    with files.atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=100)
    plt.close(figure)
    return path
