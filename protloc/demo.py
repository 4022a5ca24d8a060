"""``make demo``: predicts the compartments of the example proteins with the shipped model.

Prints the TSV table of ``protloc predict examples/proteins.fasta`` (11 MultiLoc test proteins, one per
compartment; the true label is in each FASTA header).
"""
import pathlib
import sys

from protloc import cli

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "proteins.fasta"


def main() -> int:
    return cli.main(["predict", str(EXAMPLE)])


if __name__ == "__main__":
    sys.exit(main())
