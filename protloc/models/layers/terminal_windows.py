"""The residues at both ends of a protein, read position by position: where targeting signals sit."""
import keras
from keras import ops


@keras.saving.register_keras_serializable(package="protloc")
class TerminalWindows(keras.layers.Layer):
    """Per-residue features of each protein's first ``n_terminal`` and last ``c_terminal`` residues, max-pooled over
    segments of ``segment`` residues and flattened, so that the classifier sees *where* near a terminus a feature
    fires (N-terminal transit and signal peptides, C-terminal PTS1 and KDEL/HDEL, GPI-anchor signals), which the
    whole-protein LSTMs and global maxima blur.

    The C-terminal window ends at each protein's own last residue (read from the mask), not at the batch's padded
    length; window positions beyond a short protein's residues are zero (the conv bank's outputs are ReLUs, so zero
    is their floor). The output therefore does not depend on how much padding a batch adds.

    Args:
        n_terminal: residues read from the N-terminus (a multiple of ``segment``; 0: none).
        c_terminal: residues read from the C-terminus (a multiple of ``segment``; 0: none).
        segment: residues per max-pooled position (>= 1).

    Call arguments:
        inputs: float tensor ``(batch, length, features)``, e.g. the conv bank's output.
        mask: optional bool tensor ``(batch, length)``, True at residues, which come before any padding; without it
            every position is a residue.

    Returns:
        float tensor ``(batch, (n_terminal + c_terminal) // segment * features)``: the N-terminal segments first
        (from the first residue on), then the C-terminal ones (ending with the last residue), each ``features`` wide.

    Example:
        >>> TerminalWindows(100, 50, 10)(np.ones((2, 300, 60))).shape
        (2, 900)

    Reference:
        Armenteros et al. 2019, "Detecting sequence signals in targeting peptides using deep learning" (TargetP
        2.0), which reads the N-terminal 200 residues position by position for the same reason.
    """

    def __init__(self, n_terminal=100, c_terminal=50, segment=10, **kwargs):
        super().__init__(**kwargs)
        n_terminal, c_terminal, segment = int(n_terminal), int(c_terminal), int(segment)
        if segment < 1:
            raise ValueError(f"TerminalWindows segment must be >= 1, got {segment}")
        if n_terminal < 0 or c_terminal < 0 or n_terminal % segment or c_terminal % segment:
            raise ValueError(f"TerminalWindows n_terminal and c_terminal must be non-negative multiples of segment "
                             f"{segment}, got {n_terminal} and {c_terminal}")
        if not n_terminal + c_terminal:
            raise ValueError("TerminalWindows needs at least one window (n_terminal or c_terminal > 0)")
        self.n_terminal, self.c_terminal, self.segment = n_terminal, c_terminal, segment
        self.supports_masking = True

    def _segments(self, window):
        """``(batch, residues, features)`` -> ``(batch, residues // segment * features)``, each segment's max."""
        features = window.shape[-1]
        pooled = ops.max(ops.reshape(window, (ops.shape(window)[0], -1, self.segment, features)), axis=2)
        return ops.reshape(pooled, (ops.shape(window)[0], -1))

    def call(self, inputs, mask=None):
        batch, length = ops.shape(inputs)[0], ops.shape(inputs)[1]
        if mask is None:
            lengths = ops.full((batch,), length, dtype="int32")
        else:
            lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
        # pad so that both windows fit however short the batch is; padded positions are beyond every protein's end
        inputs = ops.pad(inputs, [[0, 0], [0, max(self.n_terminal, self.c_terminal)], [0, 0]])
        windows = []
        if self.n_terminal:
            positions = ops.arange(self.n_terminal, dtype="int32")
            valid = ops.expand_dims(positions[None, :] < lengths[:, None], -1)
            windows.append(self._segments(ops.where(valid, inputs[:, :self.n_terminal, :], 0.0)))
        if self.c_terminal:
            positions = lengths[:, None] - self.c_terminal + ops.arange(self.c_terminal, dtype="int32")[None, :]
            valid = positions >= 0
            indices = ops.broadcast_to(ops.expand_dims(ops.maximum(positions, 0), -1),
                                       (batch, self.c_terminal, inputs.shape[-1]))
            gathered = ops.take_along_axis(inputs, indices, axis=1)
            windows.append(self._segments(ops.where(ops.expand_dims(valid, -1), gathered, 0.0)))
        return windows[0] if len(windows) == 1 else ops.concatenate(windows, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], (self.n_terminal + self.c_terminal) // self.segment * input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "n_terminal": self.n_terminal, "c_terminal": self.c_terminal,
                "segment": self.segment}
