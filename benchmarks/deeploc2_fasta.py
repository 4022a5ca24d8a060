"""Writes DeepLoc 2.0's 28,303 Swiss-Prot sequences as one FASTA file (``>ACCESSION``), e.g. as a profile database
for MultiLoc's animal and plant proteins (benchmarks/profiles.py). The labels are left out.

Usage:
    python benchmarks/deeploc2_fasta.py runs/deeploc2-sequences.fasta [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from protloc.data import datasets
from protloc.utils import files


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=pathlib.Path, help="the FASTA file to write")
    parser.add_argument("--data-dir", help="directory of the partition files (default: $PROTLOC_DEEPLOC2_DIR)")
    args = parser.parse_args(argv)
    examples = datasets.get("deeploc2").examples("train", None, args.data_dir)
    files.write_text(args.out, "".join(f">{e.id}\n{e.sequence}\n" for e in examples))
    print(f"{len(examples)} sequences written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
