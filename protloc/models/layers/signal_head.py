"""Per-residue sorting-signal classes from per-residue features: where in a protein its targeting signals lie."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class SignalHead(keras.layers.Layer):
    """Each residue's class among "no signal" and the signal types, from the residue features around it: two ReLU
    convolutions (the second dilated, so a residue's call reads ``(width - 1) / 2 * (1 + dilation)`` residues to each
    side of it beyond its features' own reach) and a softmax per residue. Padded positions are zeroed before the
    convolutions, so a protein's calls do not depend on the padding its batch adds.

    Args:
        classes: classes per residue ("no signal" first, then the types).
        filters: filters of each convolution.
        width: width of each convolution (odd).
        dilation: dilation of the second convolution.

    Call arguments:
        inputs: float tensor ``(batch, length, features)``, e.g. the conv bank's output.
        mask: optional bool tensor ``(batch, length)``, True at residues.

    Returns:
        float tensor ``(batch, length, classes)``: a softmax per residue (no mask is passed on).

    Example:
        >>> SignalHead(10)(np.ones((2, 50, 60))).shape
        (2, 50, 10)

    Reference:
        Thumuluri et al. 2022 (DeepLoc 2.0), whose per-residue signal annotations train it; SignalP and TargetP read
        the same signals position by position.
    """

    def __init__(self, classes, filters=32, width=9, dilation=4, **kwargs):
        super().__init__(**kwargs)
        if int(classes) < 2 or int(filters) < 1 or int(width) < 1 or int(width) % 2 == 0 or int(dilation) < 1:
            raise ValueError(f"SignalHead needs classes >= 2, filters >= 1, an odd width and dilation >= 1; got "
                             f"{classes}, {filters}, {width}, {dilation}")
        self.classes, self.filters, self.width, self.dilation = int(classes), int(filters), int(width), int(dilation)
        self.first = keras.layers.Conv1D(self.filters, self.width, padding="same", activation="relu", name="first")
        self.second = keras.layers.Conv1D(self.filters, self.width, padding="same", dilation_rate=self.dilation,
                                          activation="relu", name="second")
        self.output_layer = keras.layers.Conv1D(self.classes, 1, activation="softmax", name="classes")

    def build(self, input_shape):
        self.first.build(input_shape)
        self.second.build((*input_shape[:-1], self.filters))
        self.output_layer.build((*input_shape[:-1], self.filters))

    def call(self, inputs, mask=None):
        if mask is not None:
            inputs = inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        return self.output_layer(self.second(self.first(inputs)))

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.classes)

    def get_config(self):
        return {**super().get_config(), "classes": self.classes, "filters": self.filters, "width": self.width,
                "dilation": self.dilation}
