"""Parallel 1-D convolutions of several widths."""
import keras
import numpy as np
from keras import ops

from protloc.data import encoding
from protloc.models.hyperparameters import PAPER_FILTERS, PAPER_WIDTHS


@keras.saving.register_keras_serializable(package="protloc")
class ConvBank(keras.layers.Layer):
    """Parallel ``Conv1D`` layers (``same`` padding, ReLU) whose outputs are concatenated on the channel axis.

    Padded positions are set to zero in the output, and the mask is passed on. Because the input is zero
    at padding and ``same`` padding also pads with zeros, outputs at valid positions do not depend on how
    much padding a batch carries.

    Args:
        widths: kernel width of each convolution (odd, >= 1).
        filters: filter count of each width, same length as ``widths``; 0 turns a width off (at least one
            must be positive).
        kernel_initializer: initializer of every kernel (the paper: uniform in [-0.05, 0.05]).
        residue_blocks: optional feature blocks (``protloc.data.encoding.FEATURE_BLOCKS``) saying that the inputs are
            :class:`ResidueEncoding` features of these blocks and nothing else. Each such feature vector is a
            weighted sum of the 20 standard residues' rows (an ambiguity code's is its residues' mean), so the bank
            then convolves those 20 weights with kernels mapped onto the rows: the same function, with 20 input
            channels in place of 20 per block (about 3x less arithmetic for three blocks). Weights, their names
            and shapes are the same either way. Leave it None when other per-residue inputs are appended.

    Call arguments:
        inputs: float tensor of shape ``(batch, length, features)``.
        mask: optional bool tensor ``(batch, length)``.

    Returns:
        float tensor of shape ``(batch, length, sum(filters))``.

    Example:
        >>> ConvBank(widths=(1, 3), filters=(4, 2))(np.zeros((2, 7, 60))).shape
        (2, 7, 6)

    Reference:
        Sønderby et al. 2015, section 2.1 (widths 1, 3, 5, 9, 15, 21; 10 filters each).
    """

    def __init__(self, widths=PAPER_WIDTHS, filters=PAPER_FILTERS, kernel_initializer="glorot_uniform",
                 residue_blocks=None, **kwargs):
        super().__init__(**kwargs)
        widths, filters = tuple(int(w) for w in widths), tuple(int(f) for f in filters)
        if len(widths) != len(filters):
            raise ValueError(f"ConvBank needs one filter count per width, got widths={widths}, filters={filters}")
        if any(w < 1 or w % 2 == 0 for w in widths):
            raise ValueError(f"ConvBank widths must be odd and >= 1, got {widths}")
        if any(f < 0 for f in filters) or sum(filters) == 0:
            raise ValueError(f"ConvBank filter counts must be >= 0 with at least one positive, got {filters}")
        self.widths, self.filters = widths, filters
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.residue_blocks = None if residue_blocks is None else encoding.validate_blocks(residue_blocks)
        if self.residue_blocks is not None:
            rows = encoding.feature_table(self.residue_blocks)[1:1 + encoding.BLOCK_WIDTH]
            self._residue_rows = rows  # (20, features): each standard residue's feature vector
            self._residue_weights = np.linalg.pinv(rows.astype(np.float64)).astype(np.float32)  # (features, 20)
        self.supports_masking = True
        self.convolutions = [
            keras.layers.Conv1D(count, width, padding="same", activation="relu",
                                kernel_initializer=self.kernel_initializer, name=f"conv_width_{width}")
            for width, count in zip(widths, filters) if count > 0]
        for convolution in self.convolutions:
            convolution.supports_masking = True  # the bank applies the mask itself, after the ReLU

    def build(self, input_shape):
        if self.residue_blocks is not None and input_shape[-1] != self._residue_rows.shape[1]:
            raise ValueError(f"ConvBank residue_blocks {list(self.residue_blocks)} give "
                             f"{self._residue_rows.shape[1]} features per residue, but the inputs have {input_shape[-1]}")
        for convolution in self.convolutions:
            convolution.build(input_shape)

    def call(self, inputs, mask=None):
        if self.residue_blocks is None:
            outputs = [convolution(inputs) for convolution in self.convolutions]
        else:
            weights = ops.matmul(inputs, self._residue_weights)  # (batch, length, 20): residue weights
            outputs = [convolution.activation(ops.conv(weights, ops.einsum("rd,wdf->wrf", self._residue_rows,
                                                                           convolution.kernel), padding="same")
                                              + convolution.bias) for convolution in self.convolutions]
        features = outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)
        if mask is not None:
            features = features * ops.expand_dims(ops.cast(mask, features.dtype), -1)
        return features

    def compute_mask(self, inputs, mask=None):
        return mask

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], sum(self.filters))

    def get_config(self):
        return {**super().get_config(), "widths": list(self.widths), "filters": list(self.filters),
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "residue_blocks": None if self.residue_blocks is None else list(self.residue_blocks)}
