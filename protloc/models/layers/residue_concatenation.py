"""Per-residue feature blocks side by side, keeping the residues' padding mask."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class ResidueConcatenation(keras.layers.Layer):
    """Concatenates per-residue feature tensors along the feature axis; the first input's mask is the output's.

    ``keras.layers.Concatenate`` ORs its inputs' masks, treating an unmasked input as all-valid, so extra inputs
    without a mask (e.g. a profile) would unmask the padding. Here the first input (the residue encoding, which
    carries the ``tokens != 0`` mask) decides, and every block is zeroed at padded positions.

    Call arguments:
        inputs: list of float tensors ``(batch, length, features_i)``, the first one masked.

    Returns:
        float tensor ``(batch, length, sum(features_i))`` with the first input's mask.

    Example:
        >>> encoded = ResidueEncoding()(np.array([[1, 2, 0]]))
        >>> ResidueConcatenation()([encoded, np.ones((1, 3, 20), "float32")]).shape
        (1, 3, 80)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        joined = ops.concatenate([ops.cast(block, self.compute_dtype) for block in inputs], axis=-1)
        first = mask[0] if isinstance(mask, (list, tuple)) else mask
        if first is None:
            return joined
        return joined * ops.expand_dims(ops.cast(first, joined.dtype), -1)

    def compute_mask(self, inputs, mask=None):
        return mask[0] if isinstance(mask, (list, tuple)) else mask

    def compute_output_shape(self, input_shapes):
        widths = [shape[-1] for shape in input_shapes]
        return (*input_shapes[0][:-1], None if None in widths else sum(widths))
