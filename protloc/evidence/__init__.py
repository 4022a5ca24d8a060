"""Evidence beside the network's reading of a sequence: MMseqs2 (mmseqs, the one wrapper), homology to labelled
proteins, sequence profiles, class evidence from hits, the fusion of network and homology, decision thresholds, and
the computed network inputs (network_inputs: profiles, organism group).

May import: protloc.models, protloc.data, protloc.utils.
"""
