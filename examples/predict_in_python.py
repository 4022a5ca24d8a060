"""Predict compartments from Python with a shipped preset, homology evidence included.

    python examples/predict_in_python.py proteins.fasta [--model multiloc-ensemble] [--no-homology]

Streams the FASTA file (memory does not grow with it) and prints, per protein, the predicted compartment, its
probability, what it rests on (``network``, ``homology`` or ``both``), the closest labelled training protein and
any input flags. ``Localizer.predict`` yields :class:`protloc.predictor.Prediction` objects in input order;
``row.probabilities`` holds every class's probability.
"""
from __future__ import annotations

import argparse

from protloc import presets, sequences
from protloc.predictor import Localizer, Prediction


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
        best = row.probabilities.argmax()
        neighbour = f"{row.neighbour.accession} ({row.neighbour.identity:.0%})" if row.neighbour else "-"
        print(f"{row.id}\t{names[best]}\t{row.probabilities[best]:.2f}\t{row.evidence or 'network'}\t{neighbour}\t"
              f"{','.join(row.flags) or '-'}")
        found.append(row)
    return found


if __name__ == "__main__":
    main()
