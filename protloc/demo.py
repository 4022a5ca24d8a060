"""``make demo`` / ``python -m protloc.demo``: the shipped MultiLoc model on 11 proteins whose compartment is known.

Predicts :data:`protloc.presets.EXAMPLES` (MultiLoc test proteins, one per compartment, never seen in training)
with the :data:`PRESET` preset (an R-LSTM and homology to its training proteins), and prints a table of what each protein is, what was
predicted, on which evidence, and how many are right. Works from an installed wheel (the proteins are package
data).
"""
from __future__ import annotations

import sys

from protloc import presets, runtime

PRESET = "multiloc"
"""The preset the demo predicts with: MultiLoc's, whose 11 compartments are the examples' labels and whose training
split holds none of them (the DeepLoc 2.0 preset has other classes, and some of these proteins among its own)."""


def known_compartment(description: str) -> str:
    """The class named in an example header's description (``"MultiLoc test split, labelled er"`` -> ``er``)."""
    return description.rsplit("labelled", 1)[-1].strip()


def rows(preset: str = PRESET) -> list[dict]:
    """One dict per example protein: id, length, known and predicted compartment, confidence, evidence, closest
    training protein and its identity."""
    from protloc import sequences
    from protloc.predictor import Localizer

    localizer = Localizer.from_preset(preset)
    names = localizer.class_names
    records = list(sequences.read_fasta(presets.EXAMPLES))
    found = []
    for record, result in zip(records, localizer.predict(records, str(presets.EXAMPLES))):
        best = int(result.probabilities.argmax())
        hit = result.neighbour
        found.append({"id": result.id, "length": result.length, "known": known_compartment(record.description),
                      "predicted": names[best], "confidence": float(result.probabilities[best]),
                      "evidence": result.evidence,
                      "neighbour": f"{hit.accession} ({hit.identity:.0%})" if hit else "-"})
    return found


def format_table(found: list[dict]) -> str:
    """Aligned text table of :func:`rows` and a last line counting the right predictions."""
    header = ["protein", "length", "known", "predicted", "confidence", "evidence", "closest training protein"]
    lines = [[r["id"], str(r["length"]), r["known"], r["predicted"] + ("" if r["predicted"] == r["known"] else " (x)"),
              f"{r['confidence']:.2f}", r["evidence"], r["neighbour"]] for r in found]
    widths = [max(len(row[i]) for row in [header, *lines]) for i in range(len(header))]
    text = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [header, *lines]]
    right = sum(r["predicted"] == r["known"] for r in found)
    text.append(f"\n{right} of {len(found)} right; (x) marks a wrong prediction. The full table with every "
                f"class's probability: protloc predict {presets.EXAMPLES}")
    return "\n".join(text)


def main() -> int:
    runtime.select_backend()
    runtime.quiet_tensorflow()
    runtime.run_branches_in_parallel()
    print(format_table(rows()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
