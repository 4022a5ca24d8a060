"""``make demo``: builds MultiLoc, trains a small R-LSTM for 2 epochs and prints its test-split evaluation.

A smoke run of the whole path (data -> model -> report) in a few minutes on 2 cores, not a paper result.
It resumes (and so finishes at once) when runs/demo already holds the finished run.
"""
import sys

from protloc import cli

RUN_DIR = "runs/demo"


def main() -> int:
    status = cli.main(["train", "--model", "rlstm", "--epochs", "2", "--lstm-units", "32", "--dense-units", "32",
                       "--learning-rate", "1e-3", "--out", RUN_DIR])
    return status or cli.main(["evaluate", RUN_DIR, "--split", "test"])


if __name__ == "__main__":
    sys.exit(main())
