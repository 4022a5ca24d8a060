"""Flags for inputs whose prediction rests on less evidence than the models were trained with.

A prediction is always made; the flags say when to trust it less. Thresholds are set against the MultiLoc
training split (4,766 proteins): 6 are shorter than 30 residues, 2 have more than 10% ambiguous residues, the
lowest composition entropy is 2.72 bits (typical proteins: about 4.1), and 8.1% are longer than 1,000 residues.
"""
from __future__ import annotations

import collections
import math

from protloc.data.sequences import AMBIGUITY_CODES, DEFAULT_MAX_LENGTH

SHORT_LENGTH = 30
"""Residues below which a protein is ``short``."""
AMBIGUOUS_FRACTION = 0.1
"""Fraction of ambiguous residues (B, Z, J, X) above which a protein is ``ambiguous``."""
LOW_COMPLEXITY_BITS = 2.5
"""Shannon entropy of the residue composition (bits) below which a protein of at least ``SHORT_LENGTH`` residues
is ``low_complexity`` (a shorter one cannot reach typical values and is flagged ``short`` instead)."""
FLAGS = {
    "truncated": f"longer than {DEFAULT_MAX_LENGTH} residues: the network saw only the first and last "
                 f"{DEFAULT_MAX_LENGTH // 2}",
    "short": f"shorter than {SHORT_LENGTH} residues",
    "ambiguous": f"more than {AMBIGUOUS_FRACTION:.0%} of residues are B, Z, J or X",
    "low_complexity": f"residue composition entropy below {LOW_COMPLEXITY_BITS} bits (e.g. repeats of a few "
                      f"residues)",
}
"""Every flag, with what it means."""


def flags_of(sequence: str, max_length: int = DEFAULT_MAX_LENGTH) -> tuple[str, ...]:
    """The flags of one protein, in the order of ``FLAGS``.

    Args:
        sequence: the residues (one-letter codes, upper case; a final ``*`` is ignored).
        max_length: residues the network sees (longer proteins are ``truncated``).
    """
    sequence = sequence.rstrip("*")
    length = len(sequence)
    if length == 0:
        return ("short",)
    counts = collections.Counter(sequence)
    entropy = -sum(n / length * math.log2(n / length) for n in counts.values())
    ambiguous = sum(counts[code] for code in AMBIGUITY_CODES) / length
    short = length < SHORT_LENGTH
    found = {"truncated": length > max_length, "short": short, "ambiguous": ambiguous > AMBIGUOUS_FRACTION,
             "low_complexity": not short and entropy < LOW_COMPLEXITY_BITS}
    return tuple(name for name in FLAGS if found[name])
