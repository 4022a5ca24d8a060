"""What a configuration of the zoo computes per residue, estimated from its hyper-parameters: the bound of a search
that must stay affordable (``--max-cost``) and the cost column of a search's report.

Multiply-adds per residue of the layers that run at every residue (the terminal windows, the dense layers and the
output heads run once per protein and are left out):

* the conv bank: the sum over its widths ``w`` of ``w * input width * filters_w``;
* R-LSTM: an LSTM each way over the pooled sequence, ``2 * 4 * units * (filters + units) / pool_size``;
* A-LSTM: a bidirectional LSTM at every residue, ``2 * 4 * units * (filters + units)``, and the attention's ``W_a``,
  ``2 * units * attention_units``.

where ``filters`` is the conv bank's output width (all widths' filters) and the input width is that of the residue
encoding (20 per feature block, plus any per-residue input such as a profile). On a CPU the LSTMs' steps run one
after the other and so cost more time per multiply-add than the convolutions: the figure ranks configurations, it
does not time them.
"""
from __future__ import annotations

from protloc.data import encoding
from protloc.models import zoo


def multiply_adds_per_residue(family: str, **hparams) -> float:
    """Estimated multiply-adds per residue (module docstring) of the ``family`` network with these hyper-parameters
    (the registry's defaults for any not given)."""
    hp = zoo.resolve_hparams(**hparams)
    width = len(hp["blocks"]) * encoding.BLOCK_WIDTH + sum(hp["residue_inputs"].values())
    conv = sum(w * width * f for w, f in zip(hp["conv_widths"], hp["conv_filters"]))
    filters, units = sum(hp["conv_filters"]), hp["lstm_units"]
    lstm = 2 * 4 * units * (filters + units)
    if zoo.check_family(family) == "rlstm":
        return float(conv + lstm / hp["pool_size"])
    return float(conv + lstm + 2 * units * hp["attention_units"])
