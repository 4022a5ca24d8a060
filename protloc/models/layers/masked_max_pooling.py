"""Max pooling over windows of residues that respects each sequence's own length."""
import keras
from keras import ops

LOWEST = -3.0e38
"""Stands in for minus infinity at padding, below any float32 activation."""


@keras.saving.register_keras_serializable(package="protloc")
class MaskedMaxPooling1D(keras.layers.Layer):
    """Max over non-overlapping windows of ``pool_size`` positions, counted from each sequence's first residue.

    A sequence of L residues becomes ceil(L / pool_size) positions; the last window may be partly padding, whose
    values are ignored. Outputs at pooled positions that hold no residue are zero and masked, so the result does not
    depend on how much padding a batch adds. ``pool_size`` 1 passes inputs and mask through unchanged.

    Args:
        pool_size: residues per window (>= 1).

    Call arguments:
        inputs: float tensor of shape ``(batch, length, features)``.
        mask: optional bool tensor ``(batch, length)``, True at residues, which come before any padding (as in every
            protloc batch); without it nothing is padding.

    Returns:
        float tensor of shape ``(batch, ceil(length / pool_size), features)``, with the pooled mask
        ``(batch, ceil(length / pool_size))``, True where a window holds at least one residue.

    Example:
        >>> MaskedMaxPooling1D(2)(np.zeros((2, 5, 60))).shape
        (2, 3, 60)
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        if int(pool_size) < 1:
            raise ValueError(f"MaskedMaxPooling1D pool_size must be >= 1, got {pool_size}")
        self.pool_size = int(pool_size)
        self.supports_masking = True

    def _windows(self, tensor, fill=0):
        """``(batch, length, ...)`` -> ``(batch, ceil(length / pool_size), pool_size, ...)``, right-padded with
        ``fill``."""
        shape = ops.shape(tensor)
        extra = (-shape[1]) % self.pool_size
        padding = [[0, 0], [0, extra]] + [[0, 0]] * (len(tensor.shape) - 2)
        padded = ops.pad(tensor, padding, constant_values=fill)
        return ops.reshape(padded, (shape[0], -1, self.pool_size, *tensor.shape[2:]))

    def call(self, inputs, mask=None):
        if self.pool_size == 1:
            return inputs
        if mask is None:
            return ops.max(self._windows(inputs, LOWEST), axis=2)
        valid = ops.expand_dims(ops.cast(mask, "bool"), -1)
        pooled = ops.max(self._windows(ops.where(valid, inputs, LOWEST), LOWEST), axis=2)
        return ops.where(ops.expand_dims(self.compute_mask(inputs, mask), -1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        if mask is None or self.pool_size == 1:
            return mask
        return ops.cast(mask, "bool")[:, ::self.pool_size]  # residues come first: a window holds one iff its start does

    def compute_output_shape(self, input_shape):
        length = input_shape[1]
        pooled = None if length is None else -(-length // self.pool_size)
        return (input_shape[0], pooled, *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "pool_size": self.pool_size}


@keras.saving.register_keras_serializable(package="protloc")
class MaskedGlobalMaxPooling1D(keras.layers.Layer):
    """Each feature's maximum over a sequence's residues, padding ignored.

    Call arguments:
        inputs: float tensor of shape ``(batch, length, features)``.
        mask: optional bool tensor ``(batch, length)``, True at residues; without it nothing is padding.

    Returns:
        float tensor of shape ``(batch, features)``; zero for a sequence without residues.

    Example:
        >>> MaskedGlobalMaxPooling1D()(np.zeros((2, 5, 60))).shape
        (2, 60)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.max(inputs, axis=1)
        valid = ops.expand_dims(ops.cast(mask, "bool"), -1)
        pooled = ops.max(ops.where(valid, inputs, LOWEST), axis=1)
        return ops.where(ops.any(valid, axis=1), pooled, ops.zeros_like(pooled))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])
