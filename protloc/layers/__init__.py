"""Keras layers of protloc, one concept per file, all serializable without custom code."""
from protloc.layers.attention_pooling import AttentionPooling
from protloc.layers.conv_bank import ConvBank
from protloc.layers.masked_max_pooling import MaskedGlobalMaxPooling1D, MaskedMaxPooling1D
from protloc.layers.residue_concatenation import ResidueConcatenation
from protloc.layers.residue_encoding import ResidueEncoding
from protloc.layers.reversed_lstm import ReversedLSTMPair, reverse_within_length
from protloc.layers.terminal_windows import TerminalWindows
from protloc.layers.withheld_input import WithheldInput

__all__ = ["AttentionPooling", "ConvBank", "MaskedGlobalMaxPooling1D", "MaskedMaxPooling1D", "ResidueConcatenation",
           "ResidueEncoding", "ReversedLSTMPair", "TerminalWindows", "WithheldInput", "reverse_within_length"]
