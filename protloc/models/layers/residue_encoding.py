"""Tokens -> fixed per-residue features."""
import keras
from keras import ops

from protloc.data import encoding
from protloc.data.sequences import PAD_TOKEN


@keras.saving.register_keras_serializable(package="protloc")
class ResidueEncoding(keras.layers.Layer):
    """Looks up fixed (non-trainable) features for each residue token and emits the padding mask.

    The table is :func:`protloc.data.encoding.feature_table` for the chosen blocks; padding (token 0) maps to a
    zero row, so padded positions are exactly zero.

    Args:
        blocks: feature blocks from ``protloc.data.encoding.FEATURE_BLOCKS`` (default: one-hot, BLOSUM80, HSDM).

    Call arguments:
        tokens: int tensor of shape ``(batch, length)``, values 0..24 (0 = padding).

    Returns:
        float tensor of shape ``(batch, length, 20 * len(blocks))``, with mask ``tokens != 0``.

    Example:
        >>> ResidueEncoding()(np.array([[1, 2, 0]])).shape
        (1, 3, 60)

    Reference:
        Sønderby et al. 2015, section 3 (one-hot, BLOSUM80 and HSDM encodings).
    """

    def __init__(self, blocks=encoding.FEATURE_BLOCKS, **kwargs):
        super().__init__(**kwargs)
        self.blocks = encoding.validate_blocks(blocks)
        self.supports_masking = True
        table = encoding.feature_table(self.blocks)
        self.table = self.add_weight(shape=table.shape, initializer=keras.initializers.Constant(table),
                                     trainable=False, name="table")

    @property
    def output_dim(self) -> int:
        """Features per residue."""
        return 20 * len(self.blocks)

    def call(self, tokens):
        return ops.take(self.table, ops.cast(tokens, "int32"), axis=0)

    def compute_mask(self, tokens, mask=None):
        return ops.not_equal(tokens, PAD_TOKEN)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.output_dim)

    def get_config(self):
        return {**super().get_config(), "blocks": list(self.blocks)}
