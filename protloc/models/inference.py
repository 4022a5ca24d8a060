"""The one forward path from examples to a network's outputs, in the examples' order, on any Keras backend.

Examples are cut into inference batches by :class:`protloc.data.pipeline.BucketedBatches` (sorted by length, each
batch padded to about its longest protein) and run through ``model.predict_on_batch`` (Keras's compiled
prediction step: ``tf.function`` on TensorFlow, ``jax.jit`` on JAX; plain NumPy on the numpy backend), several
batches at a time on a thread pool
(one per core on TensorFlow, where :func:`protloc.utils.runtime.run_branches_in_parallel` gives each op its own core;
one
at a time on JAX, whose compiled step reuses its state buffers and spreads each batch over the cores itself), and
the outputs are put back in input order.
"""
from __future__ import annotations

import concurrent.futures
from typing import Sequence

import keras
import numpy as np

from protloc.data import pipeline
from protloc.data.datasets import Example
from protloc.data.features import TOKENS
from protloc.models.recipes import DEFAULT_BATCH_SIZE
from protloc.utils import runtime

PER_RESIDUE_OUTPUTS = ("attention", "signal_residues")
"""Outputs with values per residue (``(batch, length, ...)``): returned per protein, cut to its length."""
MAIN_OUTPUT = "probabilities"
"""Name given to the output of a network with a single output tensor."""


class Forward:
    """A network's outputs for lists of examples.

    Args:
        network: a ``keras.Model`` whose inputs are named per-residue features (:mod:`protloc.data.features`) and whose
            output is one tensor (named :data:`MAIN_OUTPUT`) or a dict of named tensors.
        batch_size: proteins per batch.
        workers: batches predicted at once on TensorFlow (default: one per usable core); always 1 on JAX.
        boundaries: padding lengths of the inference batches (:class:`protloc.data.pipeline.BucketedBatches`); default:
            the length buckets on JAX, where every new shape is a compilation, and exact lengths (the least
            arithmetic) on TensorFlow, whose prediction step stops retracing once it has seen varying shapes, and on
            numpy, which compiles nothing.
    """

    def __init__(self, network: keras.Model, batch_size: int = DEFAULT_BATCH_SIZE, workers: int | None = None,
                 boundaries=None):
        if batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {batch_size}")
        self.network, self.batch_size = network, int(batch_size)
        tensorflow = keras.backend.backend() == "tensorflow"
        self.workers = (workers or runtime.usable_cores()) if tensorflow else 1
        if boundaries is None:
            boundaries = pipeline.BUCKET_BOUNDARIES if keras.backend.backend() == "jax" else ()
        self.boundaries = tuple(boundaries)
        self.input_names = [tensor.name for tensor in network.inputs]
        self.network.make_predict_function()  # once, before threads share it

    def __call__(self, examples: Sequence[Example], pool: concurrent.futures.Executor | None = None) -> dict:
        """Outputs by name: an array ``(n, ...)`` per output, or for :data:`PER_RESIDUE_OUTPUTS` a list of ``n``
        arrays ``(length,)``, in the order of ``examples`` (which need no labels).

        Args:
            examples: proteins with every feature the network takes.
            pool: the executor to run batches on (default: a pool of ``workers`` threads for this call).
        """
        if not examples:
            return {}
        unlabelled = [Example(e.id, {name: e.features[name] for name in self.input_names}, None, e.fold)
                      for e in examples]
        planned = pipeline.BucketedBatches(unlabelled, self.batch_size, boundaries=self.boundaries)
        own = pool is None
        pool = concurrent.futures.ThreadPoolExecutor(self.workers) if own else pool
        try:
            outputs = list(pool.map(lambda index: self._named(self.network.predict_on_batch(planned[index])),
                                    range(len(planned))))
        finally:
            if own:
                pool.shutdown(wait=True, cancel_futures=True)
        order = planned.order
        lengths = [len(e.features[TOKENS]) for e in examples]
        restored = {}
        for name in outputs[0]:
            if name in PER_RESIDUE_OUTPUTS:
                rows = [row for batch in outputs for row in batch[name]]
                found = [None] * len(examples)
                for position, index in enumerate(order):
                    found[index] = rows[position][:lengths[index]]
                restored[name] = found
            else:
                stacked = np.concatenate([batch[name] for batch in outputs])
                values = np.empty_like(stacked)
                values[order] = stacked
                restored[name] = values
        return restored

    @staticmethod
    def _named(output) -> dict:
        if isinstance(output, dict):
            return {name: np.asarray(value) for name, value in output.items()}
        if isinstance(output, (list, tuple)):
            raise ValueError("a network for prediction returns one tensor or a dict of named tensors, not a list")
        return {MAIN_OUTPUT: np.asarray(output)}
