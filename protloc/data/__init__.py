"""From files to examples: FASTA reading and checks (sequences), residue encodings (encoding), feature names
(features), input flags, organism groups (kingdoms), the one batcher (pipeline) and the data set specs (datasets/).

May import: protloc.utils.
"""
