"""Streaming prediction from FASTA to a TSV table.

Records are read in chunks (memory does not grow with the input); inside a chunk they are sorted by length
so that each batch is padded only to its longest member, several batches are in flight at once (one per core,
see :func:`protloc.runtime.run_branches_in_parallel`), and the rows are written back in input order.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import sys
from typing import Callable, Iterable, Iterator, TextIO

import numpy as np
import tensorflow as tf

from protloc import models, runtime, sequences

DEFAULT_BATCH_SIZE = 64
DEFAULT_CHUNK_SIZE = 4096
"""Records held in memory at once: the unit within which proteins are sorted by length."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One protein's result.

    Attributes:
        id: the record identifier.
        length: input length (before truncation).
        probabilities: shape ``(num_classes,)``.
        attention: alpha over the residues the model saw (after truncation), or None.
    """

    id: str
    length: int
    probabilities: np.ndarray
    attention: np.ndarray | None = None


def compiled_predictor(model, attention: bool = False) -> Callable[[np.ndarray], tuple]:
    """``tokens int32 (batch, length) -> (probabilities (batch, classes), alpha (batch, length) or None)``,
    traced once for every shape."""
    extra = [name for name in models.input_names(model) if name != models.TOKENS]
    if extra:
        raise ValueError(f"model {model.name!r} also needs the per-residue input(s) {', '.join(extra)}, which "
                         f"cannot be computed from a FASTA file here")
    if attention:
        model, has_attention = models.with_attention_output(model)
        if not has_attention:
            raise ValueError(f"model {model.name!r} has no attention layer: --attention needs an A-LSTM model")
    function = tf.function(lambda tokens: model({models.TOKENS: tokens}, training=False),
                           input_signature=[tf.TensorSpec([None, None], tf.int32)])

    def predictor(tokens):
        output = function(tf.constant(tokens, dtype=tf.int32))
        return (output[0].numpy(), output[1].numpy()) if attention else (output.numpy(), None)

    return predictor


def predict_records(model, records: Iterable[sequences.ProteinRecord], source: str | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK_SIZE,
                    on_invalid: Callable[[sequences.SequenceError], None] | None = None,
                    attention: bool = False, workers: int | None = None) -> Iterator[Prediction]:
    """Predicts every record, yielding results in input order.

    Args:
        model: a zoo model or ensemble.
        records: e.g. ``sequences.read_fasta(path, validate=False)``.
        source: file name for error messages.
        batch_size: proteins per forward pass.
        chunk_size: records read ahead and sorted by length together.
        on_invalid: called with the error of each bad record, which is then left out; None raises it.
        attention: also return each protein's attention weights (attention models only).
        workers: batches predicted concurrently (default: one per usable core).

    Raises:
        sequences.SequenceError: a bad record, when ``on_invalid`` is None.
    """
    predictor = compiled_predictor(model, attention)
    chunk: list[tuple[sequences.ProteinRecord, np.ndarray]] = []
    with concurrent.futures.ThreadPoolExecutor(workers or runtime.usable_cores()) as pool:
        for record in records:
            try:
                chunk.append((record, sequences.check_record(record, source)))
            except sequences.SequenceError as error:
                if on_invalid is None:
                    raise
                on_invalid(error)
                continue
            if len(chunk) == chunk_size:
                yield from _predict_chunk(predictor, pool, chunk, batch_size)
                chunk = []
        yield from _predict_chunk(predictor, pool, chunk, batch_size)


def _padded_tokens(chunk, members) -> np.ndarray:
    """int32 ``(len(members), longest member)``: the members' tokens, padded with 0."""
    tokens = np.zeros((len(members), max(len(chunk[i][1]) for i in members)), dtype=np.int32)
    for row, i in enumerate(members):
        tokens[row, :len(chunk[i][1])] = chunk[i][1]
    return tokens


def _predict_chunk(predictor, pool, chunk, batch_size) -> Iterator[Prediction]:
    order = sorted(range(len(chunk)), key=lambda i: len(chunk[i][1]))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    outputs = pool.map(lambda members: predictor(_padded_tokens(chunk, members)), batches)
    probabilities, alphas = [None] * len(chunk), [None] * len(chunk)
    for members, (batch_probabilities, batch_alpha) in zip(batches, outputs):
        for row, i in enumerate(members):
            probabilities[i] = batch_probabilities[row]
            if batch_alpha is not None:
                alphas[i] = batch_alpha[row, :len(chunk[i][1])]
    for (record, _), values, alpha in zip(chunk, probabilities, alphas):
        yield Prediction(record.id, len(record.sequence.rstrip("*")), values, alpha)


def header(class_names) -> list[str]:
    """Columns of the output table."""
    return ["id", "length", "prediction", "confidence", *class_names]


def write_table(predictions: Iterable[Prediction], class_names, out: TextIO) -> int:
    """Writes the TSV table (header first, probabilities with 6 decimals); returns the number of rows."""
    out.write("\t".join(header(class_names)) + "\n")
    count = 0
    for prediction in predictions:
        best = int(np.argmax(prediction.probabilities))
        values = "\t".join(f"{p:.6f}" for p in prediction.probabilities)
        out.write(f"{prediction.id}\t{prediction.length}\t{class_names[best]}\t"
                  f"{prediction.probabilities[best]:.6f}\t{values}\n")
        count += 1
    return count


def tee_attention(predictions: Iterable[Prediction], out: TextIO) -> Iterator[Prediction]:
    """Passes predictions on while writing one attention row per protein: id, then alpha per residue."""
    for prediction in predictions:
        out.write(prediction.id + "\t" + "\t".join(f"{a:.6f}" for a in prediction.attention) + "\n")
        yield prediction


def report_invalid(error: sequences.SequenceError) -> None:
    """``on_invalid`` for ``--skip-invalid``: one line on stderr per skipped record."""
    print(f"skipped: {error}", file=sys.stderr)
