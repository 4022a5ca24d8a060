"""Predict compartments from Python with the shipped model, homology evidence included.

    python examples/predict_in_python.py proteins.fasta [--model pretrained-ensemble] [--no-homology]

Streams the FASTA file (memory does not grow with it) and prints, per protein, the predicted compartment, its
probability, what it rests on (``network``, ``homology`` or ``both``), the closest labelled training protein and
any input flags. ``predict.predict_records`` yields :class:`protloc.predict.Prediction` objects in input order;
``row.probabilities`` holds all 11 class probabilities.
"""
from __future__ import annotations

import argparse

from protloc import models, predict, sequences


def main(argv=None) -> list[predict.Prediction]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("fasta", help="FASTA file of proteins")
    parser.add_argument("--model", default="pretrained", help="'pretrained', 'pretrained-ensemble', a run "
                                                              "directory or a .keras file (default: pretrained)")
    parser.add_argument("--no-homology", action="store_true", help="the network alone")
    args = parser.parse_args(argv)

    model = models.load_model(args.model)
    names = models.class_names_of(model)
    search, rule = (None, None) if args.no_homology else predict.homology_evidence(args.model, names)
    found = []
    for row in predict.predict_records(model, sequences.read_fasta(args.fasta, validate=False), args.fasta,
                                       homology=search, fusion=rule):
        best = row.probabilities.argmax()
        neighbour = f"{row.neighbour.accession} ({row.neighbour.identity:.0%})" if row.neighbour else "-"
        print(f"{row.id}\t{names[best]}\t{row.probabilities[best]:.2f}\t{row.evidence or 'network'}\t{neighbour}\t"
              f"{','.join(row.flags) or '-'}")
        found.append(row)
    return found


if __name__ == "__main__":
    main()
