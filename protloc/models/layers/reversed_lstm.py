"""A forward LSTM and a second LSTM over each sequence reversed within its own length."""
import keras
from keras import ops


def reverse_within_length(inputs, lengths):
    """Reverses ``inputs[b, :lengths[b]]`` for every b; positions at and after ``lengths[b]`` stay in place.

    Args:
        inputs: tensor of shape ``(batch, length, features)``.
        lengths: int tensor of shape ``(batch,)``.

    Returns:
        tensor of the same shape as ``inputs``.
    """
    positions = ops.expand_dims(ops.arange(ops.shape(inputs)[1], dtype="int32"), 0)
    lengths = ops.expand_dims(ops.cast(lengths, "int32"), 1)
    source = ops.where(positions < lengths, lengths - 1 - positions, positions)
    return ops.take_along_axis(inputs, ops.expand_dims(source, -1), axis=1)


@keras.saving.register_keras_serializable(package="protloc")
class ReversedLSTMPair(keras.layers.Layer):
    """The paper's R-LSTM core: two unidirectional LSTMs, the second reading each sequence reversed.

    The reversal is within each sequence's own length, and both LSTMs skip padding through the mask, so
    the result does not depend on how much padding a batch adds.

    Args:
        units: hidden units of each LSTM.
        kernel_initializer: initializer of the input and recurrent kernels (paper: uniform +-0.05).

    Call arguments:
        inputs: float tensor of shape ``(batch, length, features)``.
        mask: optional bool tensor ``(batch, length)``, True at residues; without it nothing is padding.

    Returns:
        float tensor of shape ``(batch, 2 * units)``: ``[final forward state, final reversed state]``,
        the forward state taken after the last residue and the reversed one after the first.

    Example:
        >>> ReversedLSTMPair(8)(np.zeros((2, 5, 60))).shape
        (2, 16)

    Reference:
        Sønderby et al. 2015, section 2.2 ("R-LSTM").
    """

    def __init__(self, units, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"ReversedLSTMPair units must be >= 1, got {units}")
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True
        options = dict(kernel_initializer=self.kernel_initializer, recurrent_initializer=self.kernel_initializer)
        self.forward_lstm = keras.layers.LSTM(self.units, name="forward_lstm", **options)
        self.reversed_lstm = keras.layers.LSTM(self.units, name="reversed_lstm", **options)

    def build(self, input_shape):
        self.forward_lstm.build(input_shape)
        self.reversed_lstm.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        forward = self.forward_lstm(inputs, mask=mask)
        backward = self.reversed_lstm(reverse_within_length(inputs, lengths), mask=mask)
        return ops.concatenate([forward, backward], axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 2 * self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
