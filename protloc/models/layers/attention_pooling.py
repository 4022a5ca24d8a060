"""Attention pooling over sequence positions (the paper's eqs. 11-13)."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class AttentionPooling(keras.layers.Layer):
    """``a_t = tanh(h_t W_a) v_a^T``, ``alpha = softmax(a)`` over valid positions, ``c = sum_t alpha_t h_t``.

    Args:
        units: width of ``W_a`` (paper: 400).
        kernel_initializer: initializer of ``W_a`` and ``v_a`` (paper: uniform +-0.05).

    Call arguments:
        inputs: float tensor ``h`` of shape ``(batch, length, hidden)``.
        mask: optional bool tensor ``(batch, length)``; without it every position is valid.

    Returns:
        ``(context, alpha)``: context of shape ``(batch, hidden)``; alpha of shape ``(batch, length)``,
        exactly 0 at padding and summing to 1 over each sequence's residues.

    Example:
        >>> context, alpha = AttentionPooling(16)(np.zeros((2, 5, 8)))
        >>> context.shape, alpha.shape
        ((2, 8), (2, 5))

    Reference:
        Sønderby et al. 2015, section 2.3, eqs. 11-13 ("A-LSTM").
    """

    def __init__(self, units=400, kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        if int(units) < 1:
            raise ValueError(f"AttentionPooling units must be >= 1, got {units}")
        self.units = int(units)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

    def build(self, input_shape):
        self.w_a = self.add_weight(shape=(input_shape[-1], self.units), initializer=self.kernel_initializer,
                                   name="w_a")
        self.v_a = self.add_weight(shape=(self.units,), initializer=self.kernel_initializer, name="v_a")

    def call(self, inputs, mask=None):
        scores = ops.tensordot(ops.tanh(ops.tensordot(inputs, self.w_a, axes=1)), self.v_a, axes=1)
        if mask is None:
            alpha = ops.softmax(scores, axis=-1)
        else:
            valid = ops.cast(mask, scores.dtype)
            scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
            weights = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True)) * valid
            alpha = weights / ops.maximum(ops.sum(weights, axis=-1, keepdims=True), 1e-30)
        context = ops.sum(ops.expand_dims(alpha, -1) * inputs, axis=1)
        return context, alpha

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), tuple(input_shape[:2])

    def get_config(self):
        return {**super().get_config(), "units": self.units,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}
