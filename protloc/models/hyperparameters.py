"""The zoo's hyper-parameter registry: one list the CLI, the tuner, the benchmarks and :mod:`protloc.models` read.

Plain data, importable without Keras (the CLI's help reads it). Defaults follow Sønderby et al. 2015 where the paper
fixes them (see :mod:`protloc.models`).
"""
from __future__ import annotations

import dataclasses

from protloc.data import encoding

PAPER_WIDTHS = (1, 3, 5, 9, 15, 21)
"""Widths of the paper's convolution bank (residues)."""
PAPER_FILTERS = (10, 10, 10, 10, 10, 10)
"""Filters per width in the paper's convolution bank."""
TERMINAL_SEGMENT = 10
"""Residues per position of the terminal windows (``terminal_windows``;
:class:`protloc.models.layers.TerminalWindows`)."""
FAMILY_DESCRIPTIONS = {
    "rlstm": "R-LSTM: conv bank, forward LSTM + LSTM over the reversed sequence",
    "alstm": "A-LSTM: conv bank, bidirectional LSTM, attention pooling",
}
"""The model families of the zoo (builders in :data:`protloc.models.FAMILIES`), with a one-line summary."""


@dataclasses.dataclass(frozen=True)
class HyperParameter:
    """One hyper-parameter of the zoo.

    Attributes:
        name: keyword of :func:`build_model`.
        default: the paper's value (or ours where the paper gives none).
        help: one line for the CLI.
        search: the tuner's space: ``("choice", values)``, ``("int", low, high, step)`` or
            ``("float", low, high, step)``; None: not searched. For a list-valued parameter the space applies to
            each item, named by ``item_names``.
        item_names: tuner names of the items of a list-valued parameter.
        families: the families that use it (all when empty).
    """

    name: str
    default: object
    help: str
    search: tuple | None = None
    item_names: tuple = ()
    families: tuple = ()

    def used_by(self, family: str) -> bool:
        return not self.families or family in self.families


HYPERPARAMETERS = {hp.name: hp for hp in (
    HyperParameter("blocks", list(encoding.FEATURE_BLOCKS),
                   f"per-residue feature blocks, from {', '.join(encoding.FEATURE_BLOCKS)}"),
    HyperParameter("profile", False, "add the 20-column sequence profile block, an input named 'profile' "
                   "(protloc.evidence.profiles; needs a profile database)"),
    HyperParameter("residue_inputs", {}, "extra float per-residue inputs: name -> width (profile=True adds "
                                         "profile: 20)"),
    HyperParameter("kingdom", False, "also take the organism group (Metazoa, Fungi, Viridiplantae, Other), an optional "
                   "per-protein input named 'kingdom' (all zeros: not given; training withholds it from a share of "
                   "the proteins so the model predicts without it too)"),
    HyperParameter("conv_widths", list(PAPER_WIDTHS), "widths of the convolution bank"),
    HyperParameter("conv_filters", list(PAPER_FILTERS), "filters per conv width (0 turns a width off)",
                   search=("int", 0, 30, 5), item_names=tuple(f"filters_w{width}" for width in PAPER_WIDTHS)),
    HyperParameter("lstm_units", 128, "LSTM units per direction", search=("choice", (64, 128, 256))),
    HyperParameter("dense_units", 128, "units of the dense ReLU layer", search=("choice", (64, 128, 256))),
    HyperParameter("attention_units", 400, "width of the attention's W_a", search=("choice", (100, 200, 400)),
                   families=("alstm",)),
    HyperParameter("pool_size", 1, "max-pool the conv bank's output over windows of this many residues before the "
                   "LSTMs (1: no pooling, the paper)", search=("choice", (1, 2, 3, 4, 6)), families=("rlstm",)),
    HyperParameter("global_max", False, "also give the classifier each conv filter's maximum over the whole protein "
                   "(not in the paper)", search=("boolean",), families=("rlstm",)),
    HyperParameter("terminal_windows", [0, 0], "residues read position by position at the N- and C-terminus, in "
                   f"segments of {TERMINAL_SEGMENT}, by their own branch beside the whole protein's (0 0: none; "
                   "not in the paper)", search=("choice", (0, 50, 100)), item_names=("terminal_n", "terminal_c")),
    HyperParameter("signals", False, "a per-residue sorting-signal head beside the locations (multi-label data sets "
                   "with signal labels: deeploc2 with PROTLOC_DEEPLOC2_SIGNALS_DIR; not in the paper)"),
    HyperParameter("dropout", 0.5, "dropout rate of every layer", search=("float", 0.0, 0.6, 0.1)),
    HyperParameter("init_scale", 0.05, "weights start uniform in [-init_scale, init_scale]"),
)}
"""The registry's hyper-parameters: the one list the CLI, the tuner and the benchmarks read."""

PAPER_HPARAMS = {name: hp.default for name, hp in HYPERPARAMETERS.items()}
"""Every architecture hyper-parameter with its default."""
