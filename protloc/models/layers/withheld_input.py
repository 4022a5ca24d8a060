"""An optional input that training sometimes withholds, so the model learns to predict without it too."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class WithheldInput(keras.layers.Layer):
    """Zeroes a whole per-protein input vector (``(batch, width)``) for a random share ``rate`` of the proteins of
    each training batch, unscaled (all zeros means "not given", the value a prediction without the input sees);
    the identity at inference.

    Args:
        rate: share of proteins whose input is withheld in training, in [0, 1).
        seed: seed of the layer's random generator.

    Call arguments:
        inputs: float tensor ``(batch, width)``.
        training: whether to withhold.

    Returns:
        float tensor ``(batch, width)``.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"rate must be in [0, 1), got {rate}")
        self.rate, self.seed = float(rate), seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        kept = keras.random.uniform((ops.shape(inputs)[0], 1), seed=self.seed_generator) >= self.rate
        return inputs * ops.cast(kept, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
