"""Length-bucketed batches as NumPy arrays, for any Keras backend (no TensorFlow needed).

:mod:`protloc.data` builds the same kind of batches with tf.data; this module lets models train and predict on
Keras's JAX or PyTorch backends, e.g. on a GPU machine without TensorFlow.
"""
from __future__ import annotations

import keras
import numpy as np

from protloc import sequences

DEFAULT_BATCH_SIZE = 32
BUCKET_BOUNDARIES = (64, 128, 192, 256, 320, 384, 448, 512, 640, 768, 896)
"""Length buckets (residues): bucket i holds proteins shorter than ``BUCKET_BOUNDARIES[i]``, the last one the
rest; every batch is drawn from one bucket."""


class BucketedBatches(keras.utils.PyDataset):
    """``(tokens int32 (batch, length), labels int32 (batch,))`` batches drawn from one length bucket each.

    Every batch is padded (token 0) to its bucket's upper bound, the last bucket to its longest protein, so a
    compiled training step sees one shape per bucket instead of one per batch (on JAX each new shape costs a
    compilation).

    Training order (``shuffle_seed`` given): every epoch, each bucket's proteins are shuffled and cut into full
    batches; a bucket's last batch, if short, is filled up with proteins drawn from the start of the same
    bucket's order (seen twice that epoch), and the order of all batches is shuffled. Evaluation order
    (``shuffle_seed`` None): bucket by bucket, proteins in input order, the last batch of a bucket left short,
    so every protein appears exactly once.

    Args:
        token_lists: int token arrays, one per protein (see :mod:`protloc.sequences`), not empty.
        labels: class index of each protein.
        batch_size: proteins per batch.
        shuffle_seed: seed of the training order; None for the fixed evaluation order.
        boundaries: bucket boundaries in residues, increasing.
    """

    def __init__(self, token_lists, labels, batch_size: int = DEFAULT_BATCH_SIZE, shuffle_seed: int | None = None,
                 boundaries=BUCKET_BOUNDARIES):
        super().__init__()
        if len(token_lists) != len(labels):
            raise ValueError(f"{len(token_lists)} token arrays but {len(labels)} labels")
        if not token_lists:
            raise ValueError("no proteins to batch")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.token_lists = [np.asarray(tokens, dtype=np.int32) for tokens in token_lists]
        self.labels = np.asarray(labels, dtype=np.int32)
        self.batch_size, self.shuffle_seed = int(batch_size), shuffle_seed
        lengths = np.array([len(tokens) for tokens in self.token_lists])
        bucket_of = np.searchsorted(np.asarray(boundaries), lengths, side="right")
        self.buckets = [np.flatnonzero(bucket_of == b) for b in range(len(boundaries) + 1)]
        self.padded_length = [*boundaries, int(lengths.max())]
        self.rng = np.random.default_rng(shuffle_seed)
        self.batches = self._plan()

    def _plan(self) -> list[tuple[int, np.ndarray]]:
        """``(bucket, protein indices)`` of every batch of one epoch, in order."""
        planned = []
        for bucket, members in enumerate(self.buckets):
            if len(members) == 0:
                continue
            if self.shuffle_seed is None:
                planned += [(bucket, members[start:start + self.batch_size])
                            for start in range(0, len(members), self.batch_size)]
                continue
            order = self.rng.permutation(members)
            short = -len(order) % self.batch_size
            order = np.concatenate([order, np.resize(order, short)])
            planned += [(bucket, batch) for batch in order.reshape(-1, self.batch_size)]
        if self.shuffle_seed is not None:
            planned = [planned[i] for i in self.rng.permutation(len(planned))]
        return planned

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        bucket, members = self.batches[index]
        tokens = np.full((len(members), self.padded_length[bucket]), sequences.PAD_TOKEN, dtype=np.int32)
        for row, protein in enumerate(members):
            tokens[row, :len(self.token_lists[protein])] = self.token_lists[protein]
        return tokens, self.labels[members]

    def on_epoch_end(self):
        if self.shuffle_seed is not None:
            self.batches = self._plan()
