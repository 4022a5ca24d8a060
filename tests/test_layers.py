"""protloc.models.layers: shapes, masking, padding invariance, references and serialization."""
import keras
import numpy as np
import pytest

from protloc.data import encoding
from protloc.models.layers import (AttentionPooling, ConvBank, MaskedGlobalMaxPooling1D, MaskedMaxPooling1D,
                                   ResidueEncoding, ReversedLSTMPair, reverse_within_length)
from tests.helpers import pad

RNG = np.random.default_rng(0)
TOKENS = [RNG.integers(1, 25, size=n).astype(np.int32) for n in (7, 3, 12, 1)]


def features_and_mask(extra_padding=0):
    tokens = pad(TOKENS, max(map(len, TOKENS)) + extra_padding)
    return encoding.feature_table()[tokens], tokens != 0


def round_trip(layer):
    config = keras.saving.serialize_keras_object(layer)
    return keras.saving.deserialize_keras_object(config, safe_mode=True)


def test_residue_encoding_looks_up_table_and_masks_padding():
    tokens = pad(TOKENS)
    layer = ResidueEncoding()
    out = np.asarray(layer(tokens))
    np.testing.assert_allclose(out, encoding.feature_table()[tokens])
    np.testing.assert_array_equal(np.asarray(layer.compute_mask(tokens)), tokens != 0)
    assert not layer.trainable_weights
    assert round_trip(ResidueEncoding(["hsdm"])).get_config()["blocks"] == ["hsdm"]
    assert ResidueEncoding(["hsdm"]).compute_output_shape((2, 5)) == (2, 5, 20)


def test_conv_bank_validates_its_arguments():
    with pytest.raises(ValueError, match="one filter count per width"):
        ConvBank(widths=(1, 3), filters=(10,))
    with pytest.raises(ValueError, match="odd"):
        ConvBank(widths=(2,), filters=(10,))
    with pytest.raises(ValueError, match="at least one positive"):
        ConvBank(widths=(1, 3), filters=(0, 0))


def test_conv_bank_zero_filters_turns_a_width_off_and_round_trips():
    layer = ConvBank(widths=(1, 3, 21), filters=(4, 0, 2))
    x, mask = features_and_mask()
    assert np.asarray(layer(x, mask=mask)).shape == (4, 12, 6)
    assert [c.kernel_size for c in layer.convolutions] == [(1,), (21,)]
    assert round_trip(layer).get_config()["filters"] == [4, 0, 2]


def test_conv_bank_is_padding_invariant_and_zero_at_padding():
    layer = ConvBank()
    x, mask = features_and_mask()
    x_long, mask_long = features_and_mask(extra_padding=9)
    short, long = np.asarray(layer(x, mask=mask)), np.asarray(layer(x_long, mask=mask_long))
    np.testing.assert_allclose(long[:, :12], short, atol=1e-5)
    assert np.all(long[~mask_long] == 0)


def test_conv_bank_on_residue_weights_computes_the_same_function_with_the_same_weights():
    x, mask = features_and_mask(extra_padding=3)  # every token, ambiguity codes included, and padding
    plain = ConvBank(kernel_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=1))
    reference = np.asarray(plain(x, mask=mask))
    factored = ConvBank(residue_blocks=encoding.FEATURE_BLOCKS)
    factored.build(x.shape)
    factored.set_weights(plain.get_weights())
    assert [w.shape for w in factored.weights] == [w.shape for w in plain.weights]
    np.testing.assert_allclose(np.asarray(factored(x, mask=mask)), reference, atol=1e-5)
    assert round_trip(factored).get_config()["residue_blocks"] == list(encoding.FEATURE_BLOCKS)
    with pytest.raises(ValueError, match="give 40 features per residue, but the inputs have 60"):
        ConvBank(residue_blocks=["onehot", "hsdm"])(x)


def test_reverse_within_length_keeps_padding_in_place():
    x = np.arange(1, 6, dtype=np.float32).reshape(1, 5, 1).repeat(2, 0)
    out = np.asarray(reverse_within_length(x, np.array([3, 5])))[..., 0]
    np.testing.assert_array_equal(out, [[3, 2, 1, 4, 5], [5, 4, 3, 2, 1]])


def reference_lstm(layer, sequence):
    """A plain Keras LSTM with ``layer``'s weights, run on one unpadded sequence."""
    plain = keras.layers.LSTM(layer.units)
    plain.build((1, None, sequence.shape[-1]))
    plain.set_weights(layer.get_weights())
    return np.asarray(plain(sequence[None]))[0]


def test_reversed_lstm_pair_matches_per_sequence_reference():
    layer = ReversedLSTMPair(6)
    x, mask = features_and_mask(extra_padding=5)
    out = np.asarray(layer(x, mask=mask))
    assert out.shape == (4, 12)
    for row, tokens in enumerate(TOKENS):
        sequence = x[row, :len(tokens)]
        np.testing.assert_allclose(out[row, :6], reference_lstm(layer.forward_lstm, sequence), atol=1e-5)
        np.testing.assert_allclose(out[row, 6:], reference_lstm(layer.reversed_lstm, sequence[::-1]), atol=1e-5)


def test_reversed_lstm_pair_is_padding_invariant_and_round_trips():
    layer = ReversedLSTMPair(5)
    x, mask = features_and_mask()
    x_long, mask_long = features_and_mask(extra_padding=20)
    np.testing.assert_allclose(np.asarray(layer(x_long, mask=mask_long)), np.asarray(layer(x, mask=mask)), atol=1e-5)
    assert round_trip(layer).units == 5
    with pytest.raises(ValueError, match="units"):
        ReversedLSTMPair(0)


def test_attention_pooling_matches_equations_and_ignores_padding():
    layer = AttentionPooling(7)
    x, mask = features_and_mask()
    context, alpha = (np.asarray(t) for t in layer(x, mask=mask))
    w_a, v_a = (np.asarray(w) for w in layer.get_weights())
    for row, tokens in enumerate(TOKENS):
        h = x[row, :len(tokens)]
        scores = np.tanh(h @ w_a) @ v_a
        expected = np.exp(scores - scores.max()) / np.exp(scores - scores.max()).sum()
        np.testing.assert_allclose(alpha[row, :len(tokens)], expected, atol=1e-6)
        np.testing.assert_allclose(context[row], expected @ h, atol=1e-5)
    assert np.all(alpha[~mask] == 0)
    np.testing.assert_allclose(alpha.sum(1), 1, atol=1e-6)
    x_long, mask_long = features_and_mask(extra_padding=8)
    context_long, alpha_long = (np.asarray(t) for t in layer(x_long, mask=mask_long))
    np.testing.assert_allclose(context_long, context, atol=1e-5)
    np.testing.assert_allclose(alpha_long[:, :12], alpha, atol=1e-6)
    assert np.all(alpha_long[:, 12:] == 0)
    assert round_trip(layer).units == 7


def test_masked_max_pooling_takes_window_maxima_of_residues_only():
    layer = MaskedMaxPooling1D(3)
    x, mask = features_and_mask()
    x = x - 10.0  # all negative, so zeros standing in for padding would win a max
    out, pooled_mask = np.asarray(layer(x, mask=mask)), np.asarray(layer.compute_mask(x, mask))
    assert out.shape == (4, 4, x.shape[-1])
    for row, tokens in enumerate(TOKENS):
        windows = -(-len(tokens) // 3)
        expected = [x[row, start:min(start + 3, len(tokens))].max(0) for start in range(0, len(tokens), 3)]
        np.testing.assert_allclose(out[row, :windows], expected)
        assert pooled_mask[row].tolist() == [True] * windows + [False] * (4 - windows)
        assert np.all(out[row, windows:] == 0)


def test_masked_max_pooling_is_padding_invariant_and_round_trips():
    layer = MaskedMaxPooling1D(2)
    x, mask = features_and_mask()
    x_long, mask_long = features_and_mask(extra_padding=7)
    short, long = np.asarray(layer(x, mask=mask)), np.asarray(layer(x_long, mask=mask_long))
    np.testing.assert_array_equal(long[:, :6], short)
    assert np.all(long[:, 6:] == 0) and layer.compute_output_shape((4, 19, 60)) == (4, 10, 60)
    np.testing.assert_array_equal(np.asarray(MaskedMaxPooling1D(1)(x, mask=mask)), x)
    assert round_trip(layer).pool_size == 2
    with pytest.raises(ValueError, match="pool_size must be >= 1"):
        MaskedMaxPooling1D(0)


def test_masked_global_max_pooling_takes_maxima_over_residues_only():
    layer = MaskedGlobalMaxPooling1D()
    x, mask = features_and_mask()
    x = x - 10.0  # all negative, so zeros standing in for padding would win a max
    out = np.asarray(layer(x, mask=mask))
    np.testing.assert_allclose(out, [x[row, :len(tokens)].max(0) for row, tokens in enumerate(TOKENS)])
    x_long, mask_long = features_and_mask(extra_padding=5)
    np.testing.assert_array_equal(np.asarray(layer(x_long - 10.0, mask=mask_long)), out)
    empty = np.asarray(layer(x[:1], mask=np.zeros(mask[:1].shape, bool)))
    assert np.all(empty == 0) and layer.compute_output_shape((4, 19, 60)) == (4, 60)
    np.testing.assert_array_equal(np.asarray(layer(x)), x.max(1))  # without a mask nothing is padding
    assert isinstance(round_trip(layer), MaskedGlobalMaxPooling1D)
