"""The one batcher: examples (dicts of named per-residue features) -> length-bucketed batches.

The same batches, protein for protein and pad for pad, are delivered either as a Keras ``PyDataset`` (any
backend: JAX, PyTorch, TensorFlow) or as a ``tf.data.Dataset`` (:meth:`BucketedBatches.as_tf_dataset`).

A batch is ``(features, labels)``: ``features`` maps each feature name to an array ``(batch, length, ...)``
(``"tokens"`` int32 ``(batch, length)``, 0 = padding; a float feature such as ``"profile"``
``(batch, length, 20)``, zero-padded), or ``(batch, width)`` for a per-protein feature
(:data:`protloc.data.features.PROTEIN_INPUTS`, e.g. ``"kingdom"``), ``labels`` is int32 ``(batch,)`` (a single-label
data set) or float32
``(batch, classes)`` multi-hot (a multi-label one: examples whose label is a tuple of class indices). Examples
without labels (label None: proteins to predict) give batches of ``features`` alone. With ``signals``, a
multi-label batch's labels also hold ``"signal_residues"`` int32 ``(batch, length)`` (each residue's signal code,
-1 where unknown: padding, and proteins without per-residue signal labels) and ``"signal_types"`` float32
``(batch, 9)`` (multi-hot; -1 for a protein without signal labels).

Batch plan:
    Length buckets: bucket i holds proteins shorter than ``boundaries[i]``, the last bucket the rest.
    Training order (``shuffle_seed`` given): every batch comes from one bucket, padded to the bucket's upper bound
    (the last bucket to its longest protein), so a compiled training step sees one shape per bucket (on JAX each
    new shape costs a compilation). Each epoch, every bucket's proteins are shuffled and cut into full batches, a
    bucket's short last batch is filled up with proteins from the start of the same bucket's order (seen twice that
    epoch), and the order of all batches is shuffled; epoch ``e``'s plan depends only on ``(shuffle_seed, e)``, so a
    resumed run sees the batches it would have seen.
    Inference order (``shuffle_seed`` None; evaluation and prediction): proteins sorted by length (ties in input
    order) and cut into consecutive batches, each padded to the first boundary above its longest protein (or to that
    protein's length, above the last boundary or with ``boundaries=()``), so every protein appears exactly once,
    next to proteins of about its length; :attr:`BucketedBatches.order` gives the order, to restore the input's.
"""
from __future__ import annotations

from typing import Sequence

import keras
import numpy as np

from protloc.data.datasets import Example
from protloc.data.features import PROTEIN_INPUTS, SIGNAL_TYPES

BUCKET_BOUNDARIES = (64, 128, 192, 256, 320, 384, 448, 512, 640, 768, 896)
"""Length buckets in residues (see the module docstring)."""


class BucketedBatches(keras.utils.PyDataset):
    """Length-bucketed batches of named features (see the module docstring).

    Args:
        examples: :class:`protloc.data.datasets.Example` s (or anything with ``features`` and ``label``); every one
            has the same feature names, dtypes and trailing shapes, and a non-empty ``"tokens"``; labels all class
            indices, all tuples of them (multi-label, ``num_classes`` needed) or all None.
        batch_size: proteins per batch.
        shuffle_seed: seed of the training order; None for the fixed evaluation order.
        boundaries: bucket boundaries in residues, increasing; ``()`` puts every protein in one bucket padded to
            the longest (the unbucketed baseline).
        epoch: the epoch whose plan the first pass uses (a resumed run starts at its next epoch).
        shard: ``(index, count)``: deliver only part ``index`` of ``count`` equal, contiguous parts of every batch
            (each of ``count`` training processes takes its own part of the same global batches, so all see the
            same number of steps and, at every step, the same padded length); ``batch_size`` must be divisible by
            ``count``, and only full batches (a training plan) can be split. Default: whole batches.
        num_classes: classes of a multi-label data set (the width of its multi-hot labels).
        signals: also the sorting-signal targets of multi-label examples (module docstring; from each example's
            ``signals``, None: unlabelled).
    """

    def __init__(self, examples: Sequence[Example], batch_size: int,
                 shuffle_seed: int | None = None, boundaries=BUCKET_BOUNDARIES, epoch: int = 0,
                 shard: tuple[int, int] = (0, 1), num_classes: int | None = None, signals: bool = False):
        super().__init__()
        index, count = shard
        if count < 1 or not 0 <= index < count or batch_size % count:
            raise ValueError(f"shard must be (index, count) with 0 <= index < count and batch_size divisible by "
                             f"count; got {shard} for batch_size {batch_size}")
        if count > 1 and shuffle_seed is None:
            raise ValueError("only training batches (a shuffle_seed) can be sharded: evaluation batches are not "
                             "all full")
        self.shard = (int(index), int(count))
        examples = list(examples)
        if not examples:
            raise ValueError("no proteins to batch")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if list(boundaries) != sorted(set(boundaries)):
            raise ValueError(f"bucket boundaries must increase, got {list(boundaries)}")
        self.feature_specs = _feature_specs(examples)
        self.features = {name: [np.asarray(e.features[name], dtype) for e in examples]
                         for name, (dtype, _, _) in self.feature_specs.items()}
        self.labels = _labels(examples, num_classes)
        self.signal_residues = None
        if signals:
            if not isinstance(self.labels, dict):
                raise ValueError("signal targets are for labelled multi-label examples")
            self.labels.update(signal_types=_signal_types(examples))
            self.signal_residues = [_residue_codes(e) for e in examples]
        self.batch_size, self.shuffle_seed, self.epoch = int(batch_size), shuffle_seed, int(epoch)
        lengths = np.array([len(tokens) for tokens in self.features["tokens"]])
        if lengths.min() < 1:
            index = int(np.argmin(lengths))
            raise ValueError(f"example {getattr(examples[index], 'id', index)!r} has no residues")
        self.lengths = lengths
        self.boundaries = np.asarray(boundaries, dtype=np.int64)
        bucket_of = np.searchsorted(self.boundaries, lengths, side="right")
        self.buckets = [np.flatnonzero(bucket_of == b) for b in range(len(boundaries) + 1)]
        self.padded_length = [*boundaries, int(lengths.max())]
        self.batches = self._plan()

    def _plan(self) -> list[tuple[int, np.ndarray]]:
        """``(padded length, example indices)`` of every batch of epoch ``self.epoch``, in order."""
        if self.shuffle_seed is None:
            order = np.argsort(self.lengths, kind="stable")
            planned = []
            for start in range(0, len(order), self.batch_size):
                members = order[start:start + self.batch_size]
                longest = int(self.lengths[members[-1]])
                above = self.boundaries[self.boundaries > longest]
                planned.append((int(above[0]) if len(above) else longest, members))
            return planned
        rng = np.random.default_rng([self.shuffle_seed, self.epoch])
        planned = []
        for bucket, members in enumerate(self.buckets):
            if len(members) == 0:
                continue
            order = rng.permutation(members)
            order = np.concatenate([order, np.resize(order, -len(order) % self.batch_size)])
            planned += [(self.padded_length[bucket], batch) for batch in order.reshape(-1, self.batch_size)]
        return [planned[i] for i in rng.permutation(len(planned))]

    @property
    def order(self) -> np.ndarray:
        """Example indices in the order the batches hold them (each once in evaluation order)."""
        return np.concatenate([members for _, members in self.batches])

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        length, members = self.batches[index]
        part, parts = self.shard
        members = members[part * len(members) // parts:(part + 1) * len(members) // parts]
        batch = {}
        for name, (dtype, trailing, per_residue) in self.feature_specs.items():
            if not per_residue:
                batch[name] = np.stack([self.features[name][example] for example in members]).astype(dtype)
                continue
            values = np.zeros((len(members), length, *trailing), dtype=dtype)
            for row, example in enumerate(members):
                value = self.features[name][example]
                values[row, :len(value)] = value
            batch[name] = values
        if self.labels is None:
            return batch
        if isinstance(self.labels, dict):
            labels = {name: values[members] for name, values in self.labels.items()}
            if self.signal_residues is not None:
                codes = np.full((len(members), length), -1, dtype=np.int32)
                for row, example in enumerate(members):
                    value = self.signal_residues[example]
                    codes[row, :len(value)] = value
                labels["signal_residues"] = codes
            return batch, labels
        return batch, self.labels[members]

    def on_epoch_end(self):
        if self.shuffle_seed is not None:
            self.epoch += 1
            self.batches = self._plan()

    def as_tf_dataset(self):
        """The same batches as a ``tf.data.Dataset`` of ``(features, labels)``; each pass over it is one epoch
        and moves to the next epoch's plan, as ``on_epoch_end`` does for the ``PyDataset``."""
        import tensorflow as tf

        def generate():
            for index in range(len(self)):
                yield self[index]
            self.on_epoch_end()

        signature = {name: tf.TensorSpec((None, None, *trailing) if per_residue else (None, *trailing),
                                         tf.as_dtype(dtype))
                     for name, (dtype, trailing, per_residue) in self.feature_specs.items()}
        if isinstance(self.labels, dict):
            targets = {name: tf.TensorSpec((None, *values.shape[1:]), tf.as_dtype(values.dtype))
                       for name, values in self.labels.items()}
            if self.signal_residues is not None:
                targets["signal_residues"] = tf.TensorSpec((None, None), tf.int32)
            signature = (signature, targets)
        elif self.labels is not None:
            signature = (signature, tf.TensorSpec((None, *self.labels.shape[1:]), tf.as_dtype(self.labels.dtype)))
        dataset = tf.data.Dataset.from_generator(generate, output_signature=signature)
        # every epoch has as many batches (a bucket's count does not depend on its order): tell Keras
        return dataset.apply(tf.data.experimental.assert_cardinality(len(self))).prefetch(2)


def batches(examples: Sequence[Example], batch_size: int, shuffle_seed: int | None = None,
            boundaries=BUCKET_BOUNDARIES, epoch: int = 0, as_tf_data: bool | None = None,
            shard: tuple[int, int] = (0, 1), num_classes: int | None = None, signals: bool = False):
    """:class:`BucketedBatches` in the form the current Keras backend trains fastest from: a ``tf.data.Dataset``
    on TensorFlow (``as_tf_data`` None), the ``PyDataset`` itself on the other backends."""
    planned = BucketedBatches(examples, batch_size, shuffle_seed, boundaries, epoch, shard, num_classes, signals)
    if as_tf_data is None:
        as_tf_data = keras.backend.backend() == "tensorflow"
    return planned.as_tf_dataset() if as_tf_data else planned


def _labels(examples, num_classes: int | None):
    """int32 ``(n,)`` class indices; for tuple labels ``{"locations": float32 (n, num_classes) multi-hot rows}`` and,
    where every example has a membrane flag, ``"membrane": float32 (n, 1)``; or None (no labels)."""
    labels = [e.label for e in examples]
    if all(label is None for label in labels):
        return None
    if any(label is None for label in labels):
        raise ValueError("either every example has a label or none has")
    if all(np.ndim(label) == 0 for label in labels):
        return np.array(labels, dtype=np.int32)
    if not num_classes:
        raise ValueError("multi-label examples (tuples of class indices) need num_classes")
    multi_hot = np.zeros((len(labels), num_classes), dtype=np.float32)
    for row, label in enumerate(labels):
        multi_hot[row, list(label)] = 1.0
    targets = {"locations": multi_hot}
    membrane = [getattr(e, "membrane", None) for e in examples]
    if all(flag is not None for flag in membrane):
        targets["membrane"] = np.array(membrane, dtype=np.float32)[:, None]
    return targets


def _signal_types(examples) -> np.ndarray:
    """float32 ``(n, 9)``: each example's signal types multi-hot, -1 where it has no signal labels."""
    found = np.full((len(examples), len(SIGNAL_TYPES)), -1.0, dtype=np.float32)
    for row, example in enumerate(examples):
        if getattr(example, "signals", None) is not None:
            found[row] = example.signals.multi_hot()
    return found


def _residue_codes(example) -> np.ndarray:
    """int32 ``(length,)``: the example's residue signal codes, -1 where unknown."""
    signals = getattr(example, "signals", None)
    length = len(example.features["tokens"])
    if signals is None or signals.residues is None:
        return np.full(length, -1, dtype=np.int32)
    if len(signals.residues) != length:
        raise ValueError(f"example {example.id!r}: {len(signals.residues)} residue signal codes for {length} residues")
    return np.asarray(signals.residues, dtype=np.int32)


def _feature_specs(examples) -> dict[str, tuple[np.dtype, tuple, bool]]:
    """Feature name -> (dtype, shape after the residue axis or, for a per-protein feature, its whole shape, whether
    it is per residue), checked to agree across examples."""
    first = examples[0].features
    if "tokens" not in first:
        raise ValueError("examples need a 'tokens' feature")
    specs = {}
    for name, value in first.items():
        per_residue = name not in PROTEIN_INPUTS
        shape = np.shape(value)
        specs[name] = (np.asarray(value).dtype if name != "tokens" else np.dtype(np.int32),
                       shape[1:] if per_residue else shape, per_residue)
    for example in examples:
        if set(example.features) != set(specs):
            raise ValueError(f"example {getattr(example, 'id', '?')!r} has features {sorted(example.features)}, "
                             f"expected {sorted(specs)}")
        length = len(example.features["tokens"])
        for name, (_, trailing, per_residue) in specs.items():
            shape = np.shape(example.features[name])
            expected = (length, *trailing) if per_residue else trailing
            if shape != expected:
                raise ValueError(f"example {getattr(example, 'id', '?')!r}: feature {name!r} has shape {shape}, "
                                 f"expected {expected}" + (" (one row per residue)" if per_residue else ""))
    return specs
