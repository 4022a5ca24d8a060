"""Training losses beyond Keras's own: binary cross-entropy with a weight on each location's positives, and binary
cross-entropy over the known entries only (the signal types of proteins with signal labels)."""
from __future__ import annotations

import keras
import numpy as np
from keras import ops

EPSILON = 1e-7
"""Probabilities are clipped to ``[EPSILON, 1 - EPSILON]`` before the logarithm, as Keras's cross-entropy does."""


def positive_weights(labels: np.ndarray) -> list[float]:
    """Per-location weights of the positives: ``sqrt(negatives / positives)`` over the training proteins, so that a
    rare location (peroxisome: 1% of the proteins) weighs about ten times its share rather than a hundred (the square
    root damps the full balancing weight, which over-calls rare classes).

    Args:
        labels: multi-hot ``(proteins, locations)`` of 0/1.

    Returns:
        one weight per location (1.0 for a location with no positive or no negative).
    """
    labels = np.asarray(labels, dtype=np.float64)
    positives = labels.sum(axis=0)
    negatives = len(labels) - positives
    ratio = np.divide(negatives, positives, out=np.ones_like(positives), where=(positives > 0) & (negatives > 0))
    return [float(value) for value in np.sqrt(ratio)]


@keras.saving.register_keras_serializable(package="protloc")
class WeightedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy of each location, its positive term multiplied by that location's weight, averaged
    over the locations.

    Args:
        positive_weights: one weight per location (see :func:`positive_weights`).

    Call arguments:
        y_true: ``(batch, locations)`` of 0/1.
        y_pred: ``(batch, locations)`` probabilities.

    Returns:
        the loss per protein ``(batch,)``, reduced by Keras.
    """

    def __init__(self, positive_weights, name="weighted_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.positive_weights = [float(weight) for weight in positive_weights]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        y_pred = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        weights = ops.convert_to_tensor(self.positive_weights, dtype=y_pred.dtype)
        terms = weights * y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred)
        return -ops.mean(terms, axis=-1)

    def get_config(self):
        return {**super().get_config(), "positive_weights": self.positive_weights}


@keras.saving.register_keras_serializable(package="protloc")
class MaskedBinaryCrossentropy(keras.losses.Loss):
    """Binary cross-entropy over the entries whose label is known (0 or 1); entries labelled -1 (a protein without
    signal labels) add nothing, and a batch without any known entry has loss 0.

    Call arguments:
        y_true: ``(batch, outputs)`` of 0, 1 or -1 (unknown).
        y_pred: ``(batch, outputs)`` probabilities.

    Returns:
        the loss per protein ``(batch,)``: the mean over its known entries times their share of the batch's known
        entries times the batch size, so that Keras's mean over the batch is the mean over every known entry.
    """

    def __init__(self, name="masked_binary_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, y_pred.dtype)
        known = ops.cast(ops.greater_equal(y_true, 0.0), y_pred.dtype)
        y_pred = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        terms = -(y_true * ops.log(y_pred) + (1.0 - y_true) * ops.log(1.0 - y_pred)) * known
        batch = ops.cast(ops.shape(y_true)[0], y_pred.dtype)
        return ops.sum(terms, axis=-1) * batch / ops.maximum(ops.sum(known), 1.0)
