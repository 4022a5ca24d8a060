"""Small synthetic data for fast tests, and the benchmark scripts as modules."""
import importlib.util
import pathlib

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]

MOTIF = np.array([19, 19, 9, 9])  # W W K K
SMALL = dict(lstm_units=4, dense_units=4, conv_filters=[2, 2, 2, 0, 0, 0])
"""Hyper-parameters of a zoo model small enough to train in a test."""


def motif_task(n_per_class=200, seed=0, min_length=25, max_length=60):
    """Random proteins of 3 classes: motif near the N-terminus (0), near the C-terminus (1), none (2).

    Returns (list of int32 token arrays, int labels array).
    """
    rng = np.random.default_rng(seed)
    token_lists, labels = [], []
    for label in range(3):
        for _ in range(n_per_class):
            tokens = rng.integers(1, 21, size=rng.integers(min_length, max_length + 1)).astype(np.int32)
            tokens[tokens == 19] = 1  # W only inside motifs
            offset = rng.integers(0, 4)
            if label == 0:
                tokens[offset:offset + 4] = MOTIF
            elif label == 1:
                tokens[len(tokens) - 4 - offset:len(tokens) - offset] = MOTIF
            token_lists.append(tokens)
            labels.append(label)
    return token_lists, np.array(labels)


def pad(token_lists, length=None):
    """Right-pads token arrays with 0 to ``length`` (default: the longest)."""
    length = length or max(len(t) for t in token_lists)
    out = np.zeros((len(token_lists), length), dtype=np.int32)
    for row, tokens in enumerate(token_lists):
        out[row, :len(tokens)] = tokens
    return out


def load_benchmark(name: str):
    """benchmarks/NAME.py as a module (benchmarks/ must be on sys.path for scripts that import table1)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", REPO / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
