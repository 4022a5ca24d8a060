"""Keras layers of protloc, one concept per file, all serializable without custom code."""
from protloc.models.layers.attention_pooling import AttentionPooling
from protloc.models.layers.conv_bank import ConvBank
from protloc.models.layers.masked_max_pooling import MaskedGlobalMaxPooling1D, MaskedMaxPooling1D
from protloc.models.layers.residue_concatenation import ResidueConcatenation
from protloc.models.layers.residue_encoding import ResidueEncoding
from protloc.models.layers.reversed_lstm import ReversedLSTMPair, reverse_within_length
from protloc.models.layers.signal_head import SignalHead
from protloc.models.layers.signal_types import SignalTypes
from protloc.models.layers.terminal_windows import TerminalWindows
from protloc.models.layers.withheld_input import WithheldInput

__all__ = ["AttentionPooling", "ConvBank", "MaskedGlobalMaxPooling1D", "MaskedMaxPooling1D", "ResidueConcatenation",
           "ResidueEncoding", "ReversedLSTMPair", "SignalHead", "SignalTypes", "TerminalWindows", "WithheldInput", "reverse_within_length"]
