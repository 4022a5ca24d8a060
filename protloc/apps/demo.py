"""``make demo`` / ``python -m protloc.apps.demo``: the default preset on 11 proteins whose compartment is known.

Predicts :data:`protloc.prediction.presets.EXAMPLES` (MultiLoc test proteins, one per MultiLoc compartment) with the
:data:`PRESET` preset (the default: DeepLoc 2.0's locations and membrane association, an R-LSTM and homology to its
training proteins), and prints what each protein is, the locations predicted, the membrane probability, the
evidence, and how many are right. The MultiLoc label is read as DeepLoc 2.0's location (chloroplast -> plastid,
lysosome and vacuole -> lysosome_vacuole). Some of these proteins are among DeepLoc 2.0's own training proteins: the
table marks them, as their homology evidence is their own label. Works from an installed wheel (the proteins are
package data).
"""
from __future__ import annotations

import sys

from protloc.prediction import presets
from protloc.utils import runtime

PRESET = presets.DEFAULT
"""The preset the demo predicts with: the default one, as ``protloc predict`` without ``--model``."""
MULTILOC_TO_DEEPLOC2 = {"chloroplast": "plastid", "lysosome": "lysosome_vacuole", "vacuole": "lysosome_vacuole"}
"""MultiLoc's compartments that DeepLoc 2.0 names otherwise (the rest have the same names in both)."""


def known_compartment(description: str) -> str:
    """The class named in an example header's description (``"MultiLoc test split, labelled er"`` -> ``er``)."""
    return description.rsplit("labelled", 1)[-1].strip()


def known_location(description: str, class_names) -> str:
    """The example's known compartment as one of ``class_names`` (MultiLoc's, or DeepLoc 2.0's locations)."""
    known = known_compartment(description)
    return known if known in class_names else MULTILOC_TO_DEEPLOC2.get(known, known)


def rows(preset: str = PRESET) -> list[dict]:
    """One dict per example protein: id, length, known location, the locations predicted (one for a single-label
    preset), whether the known one is among them, membrane probability (None without that output), evidence, the
    closest training protein and its identity, and whether that protein is the example itself (it is among the
    preset's training proteins)."""
    from protloc.data import sequences
    from protloc.prediction.predictor import Localizer

    localizer = Localizer.from_preset(preset)
    names = localizer.class_names
    records = list(sequences.read_fasta(presets.EXAMPLES))
    found = []
    for record, result in zip(records, localizer.predict(records, str(presets.EXAMPLES))):
        hit = result.neighbour
        known = known_location(record.description, names)
        predicted = [names[i] for i in result.locations]
        found.append({"id": result.id, "length": result.length, "known": known, "predicted": predicted,
                      "right": known in predicted, "membrane": result.membrane, "evidence": result.evidence,
                      "neighbour": f"{hit.accession} ({hit.identity:.0%})" if hit else "-",
                      "in_reference": bool(hit and hit.accession == result.id)})
    return found


def format_table(found: list[dict], preset: str = PRESET) -> str:
    """Aligned text table of :func:`rows`, and last lines counting the right calls and saying what the marks mean."""
    membrane = any(r["membrane"] is not None for r in found)
    header = ["protein", "length", "known", "predicted", *(["membrane"] if membrane else []), "evidence",
              "closest training protein"]
    lines = [[r["id"], str(r["length"]), r["known"], "|".join(r["predicted"]) + ("" if r["right"] else " (x)"),
              *([f"{r['membrane']:.2f}"] if membrane else []), r["evidence"] or "network",
              r["neighbour"] + (" *" if r["in_reference"] else "")] for r in found]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *lines]]
    right, own = sum(r["right"] for r in found), sum(r["in_reference"] for r in found)
    text.append(f"\n{right} of {len(found)} right (the known location among those predicted; (x) marks a miss), "
                f"with the {preset} preset.")
    if own:
        text.append(f"* {own} of these proteins are among the preset's own training proteins: their homology evidence "
                    f"is their own label.")
    text.append(f"Every location's probability: protloc predict {presets.EXAMPLES}")
    return "\n".join(text)


def main() -> int:
    runtime.select_backend()
    runtime.quiet_tensorflow()
    runtime.run_branches_in_parallel()
    print(format_table(rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
