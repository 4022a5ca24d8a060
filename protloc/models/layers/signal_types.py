"""A protein's sorting-signal types from per-residue signal probabilities: the strongest residue of each type."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class SignalTypes(keras.layers.Layer):
    """Per protein, the probability that it carries each signal type: the largest probability of that type over its
    residues (padding excluded), so that a protein carries a type exactly when one of its residues is called that
    type at the same threshold, and the types a protein is said to carry point at the residues that carry them.

    Call arguments:
        inputs: a list ``[residue_probabilities, tokens]``: float ``(batch, length, 1 + types)`` softmax over "no
            signal" and each type, and int ``(batch, length)`` tokens (0 = padding).

    Returns:
        float tensor ``(batch, types)``: each type's largest probability over the protein's residues (0 for a
        protein with no residue).

    Example:
        >>> SignalTypes()([np.full((2, 5, 10), 0.1), np.ones((2, 5), "int32")]).shape
        (2, 9)

    Reference:
        Thumuluri et al. 2022 (DeepLoc 2.0), whose per-residue signal annotations this head is trained on.
    """

    def call(self, inputs):
        probabilities, tokens = inputs
        residues = ops.expand_dims(ops.cast(ops.not_equal(tokens, 0), probabilities.dtype), -1)
        return ops.max(probabilities[..., 1:] * residues, axis=1)

    def compute_output_shape(self, input_shape):
        shape = input_shape[0]
        return (shape[0], shape[-1] - 1)
