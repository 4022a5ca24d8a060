"""tf.data pipelines from TFDS or FASTA: (tokens, label) pairs, length-bucketed or fixed-length batches."""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from protloc import sequences
from protloc.batching import BUCKET_BOUNDARIES, DEFAULT_BATCH_SIZE  # noqa: F401  (re-exported)

SHUFFLE_BUFFER = 8192


def load_multiloc(split: str, data_dir=None, folds=None) -> tf.data.Dataset:
    """``(tokens int32 (length,), label int32 ())`` pairs of the TFDS ``multiloc`` split.

    Args:
        split: "train" or "test".
        data_dir: TFDS data directory (default: TFDS's own); the dataset is built there if missing.
        folds: keep only these training folds (e.g. all but the validation fold); None keeps all.
    """
    import tensorflow_datasets as tfds

    import tfds_multiloc  # noqa: F401  (registers the builder)

    dataset = tfds.load("multiloc", split=split, data_dir=data_dir, shuffle_files=False)
    if folds is not None:
        wanted = tf.constant(sorted(int(f) for f in folds), dtype=tf.int32)
        dataset = dataset.filter(lambda ex: tf.reduce_any(tf.equal(ex["fold"], wanted)))
    return dataset.map(lambda ex: (ex["tokens"], tf.cast(ex["label"], tf.int32)))


def from_arrays(token_lists, labels) -> tf.data.Dataset:
    """``(tokens, label)`` pairs from Python lists of token arrays and integer labels."""
    def generate():
        for tokens, label in zip(token_lists, labels):
            yield np.asarray(tokens, dtype=np.int32), np.int32(label)

    return tf.data.Dataset.from_generator(generate, output_signature=(
        tf.TensorSpec((None,), tf.int32), tf.TensorSpec((), tf.int32)))


def batch(dataset: tf.data.Dataset, batch_size: int = DEFAULT_BATCH_SIZE, bucketed: bool = True,
          shuffle_seed: int | None = None, pad_to: int = sequences.DEFAULT_MAX_LENGTH) -> tf.data.Dataset:
    """Batches ``(tokens, label)`` pairs for ``model.fit`` / ``model.evaluate``.

    Args:
        dataset: unbatched ``(tokens (length,), label ())`` pairs.
        batch_size: proteins per batch.
        bucketed: group proteins of similar length and pad each batch to its longest member; otherwise
            pad every batch to ``pad_to`` residues (the slow baseline of the speed benchmark).
        shuffle_seed: shuffle (reshuffled every epoch) with this seed; None keeps the input order.
        pad_to: fixed length used when ``bucketed`` is False.

    Returns:
        dataset of ``(tokens int32 (batch, length), labels int32 (batch,))``, 0 = padding.
    """
    if shuffle_seed is not None:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=True)
    if bucketed:  # batches are padded to their longest member
        dataset = dataset.bucket_by_sequence_length(
            lambda tokens, label: tf.shape(tokens)[0], list(BUCKET_BOUNDARIES),
            [batch_size] * (len(BUCKET_BOUNDARIES) + 1), padded_shapes=([None], []))
        if shuffle_seed is not None:  # buckets fill at different rates: mix the order of batches too
            dataset = dataset.shuffle(64, seed=shuffle_seed + 1, reshuffle_each_iteration=True)
    else:
        dataset = dataset.map(lambda tokens, label: (tokens[:pad_to], label))
        dataset = dataset.padded_batch(batch_size, padded_shapes=([pad_to], []))
    return dataset.prefetch(tf.data.AUTOTUNE)
