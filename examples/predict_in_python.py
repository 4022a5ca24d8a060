"""Predict where proteins live from Python with a shipped preset, homology evidence included.

    python examples/predict_in_python.py proteins.fasta [--model multiloc-ensemble] [--no-homology]

Streams the FASTA file (memory does not grow with it) and prints, per protein, the locations called (the default
preset is multi-label: one or more, ``|``-joined, as ``protloc predict`` writes them; a MultiLoc preset calls one
compartment), the probability of each, the membrane probability where the preset has one, what the call rests on
(``network``, ``homology`` or ``both``), the closest labelled training protein and any input flags.
``Localizer.predict`` yields :class:`protloc.prediction.predictor.Prediction` objects in input order:
``row.locations`` are
the indices of the locations called, ``row.probabilities`` every location's probability.
"""
from __future__ import annotations

import argparse

from protloc.data import sequences
from protloc.prediction import presets
from protloc.prediction.predictor import Localizer, Prediction


def main(argv=None) -> list[Prediction]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fasta", help="FASTA file of proteins")
    parser.add_argument("--model", default=presets.DEFAULT, help="a shipped preset's name, a preset or run directory "
                                                              "(default: %(default)s)")
    parser.add_argument("--no-homology", action="store_true", help="the network alone")
    args = parser.parse_args(argv)

    localizer = Localizer.from_preset(args.model, homology_evidence=not args.no_homology)
    names = localizer.class_names
    found = []
    for row in localizer.predict(sequences.read_fasta(args.fasta, validate=False), args.fasta):
        called = "|".join(names[i] for i in row.locations)
        probabilities = "|".join(f"{row.probabilities[i]:.2f}" for i in row.locations)
        membrane = f"membrane {row.membrane:.2f}" if row.membrane is not None else "-"
        neighbour = f"{row.neighbour.accession} ({row.neighbour.identity:.0%})" if row.neighbour else "-"
        print(f"{row.id}\t{called}\t{probabilities}\t{membrane}\t{row.evidence or 'network'}\t{neighbour}\t"
              f"{','.join(row.flags) or '-'}")
        found.append(row)
    return found


if __name__ == "__main__":
    main()
