"""protloc.models: registry, padding invariance, save/load, ensembles, and learning a synthetic task."""
import keras
import numpy as np
import pytest

from protloc import data, models
from protloc.classes import CLASS_NAMES
from tests.helpers import motif_task, pad

SMALL = dict(lstm_units=8, dense_units=8, attention_units=12)
TOKENS = [np.random.default_rng(1).integers(1, 25, size=n).astype(np.int32) for n in (9, 4, 15)]


def test_class_names_are_the_tfds_labels():
    from tfds_multiloc.multiloc.multiloc_dataset_builder import Builder

    assert tuple(Builder().info.features["label"].names) == CLASS_NAMES


@pytest.mark.parametrize("name", ["rlstm", "alstm"])
def test_model_is_padding_invariant(name):
    model = models.build_model(name, **SMALL)
    short = model.predict(pad(TOKENS), verbose=0)
    long = model.predict(pad(TOKENS, 40), verbose=0)
    np.testing.assert_allclose(long, short, atol=1e-5)
    np.testing.assert_allclose(short.sum(1), 1, atol=1e-5)
    assert short.shape == (3, 11)


def test_attention_alpha_of_the_model_is_padding_invariant():
    representation = models.representation_model(models.build_model("alstm", **SMALL))
    _, alpha = representation.predict(pad(TOKENS), verbose=0)
    _, alpha_long = representation.predict(pad(TOKENS, 30), verbose=0)
    np.testing.assert_allclose(alpha_long[:, :15], alpha, atol=1e-6)
    assert np.all(alpha_long[:, 15:] == 0) and np.all(alpha[1, 4:] == 0)
    np.testing.assert_allclose(alpha.sum(1), 1, atol=1e-5)


def test_paper_defaults_are_applied():
    model = models.build_model("alstm")
    assert model.get_layer("conv_bank").filters == (10,) * 6
    assert model.get_layer("conv_bank").widths == (1, 3, 5, 9, 15, 21)
    assert model.get_layer("representation").units == 400
    assert model.get_layer("conv_dropout").rate == 0.5
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-4)
    kernel = np.asarray(model.get_layer("dense").kernel)
    assert np.abs(kernel).max() <= 0.05


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model 'cnn'"):
        models.build_model("cnn")
    with pytest.raises(ValueError, match=r"unknown hyper-parameter\(s\) \['units'\]"):
        models.build_model("rlstm", units=3)
    with pytest.raises(ValueError, match="dropout"):
        models.build_model("rlstm", dropout=1.5)


@pytest.mark.parametrize("kind", ["rlstm", "alstm", "ensemble"])
def test_save_and_load_round_trip_gives_identical_predictions(kind, tmp_path):
    if kind == "ensemble":
        model = models.build_ensemble([models.build_model("rlstm", **SMALL), models.build_model("alstm", **SMALL)])
    else:
        model = models.build_model(kind, **SMALL)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(pad(TOKENS), verbose=0), model.predict(pad(TOKENS), verbose=0))
    assert models.class_names_of(loaded) == list(CLASS_NAMES)


def test_ensemble_averages_member_probabilities():
    members = [models.build_model("rlstm", **SMALL), models.build_model("rlstm", **SMALL)]
    expected = np.mean([m.predict(pad(TOKENS), verbose=0) for m in members], axis=0)
    ensemble = models.build_ensemble(members)
    np.testing.assert_allclose(ensemble.predict(pad(TOKENS), verbose=0), expected, atol=1e-6)
    assert (models.member_count(ensemble), models.member_count(members[0])) == (2, 1)
    other = models.build_model("rlstm", class_names=["a", "b"], **SMALL)
    with pytest.raises(ValueError, match="disagree on class names"):
        models.build_ensemble([members[0], other])


def test_load_model_names_a_bad_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model at"):
        models.load_model(tmp_path / "missing.keras")
    (tmp_path / "junk.keras").write_text("not a model")
    with pytest.raises(ValueError, match=r"junk\.keras is not a loadable Keras model"):
        models.load_model(tmp_path / "junk.keras")
    foreign = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    foreign.save(tmp_path / "foreign.keras")
    with pytest.raises(ValueError, match="not a protloc model"):
        models.load_model(tmp_path / "foreign.keras")


@pytest.mark.parametrize("name", ["rlstm", "alstm"])
def test_model_learns_terminal_motifs(name):
    keras.utils.set_random_seed(0)
    train_tokens, train_labels = motif_task(n_per_class=150, seed=0)
    test_tokens, test_labels = motif_task(n_per_class=50, seed=1)
    model = models.build_model(name, class_names=["n_motif", "c_motif", "none"], lstm_units=16, dense_units=16,
                               attention_units=16, dropout=0.1, learning_rate=5e-3)
    model.fit(data.batch(data.from_arrays(train_tokens, train_labels), 16, shuffle_seed=0), epochs=8, verbose=0)
    _, accuracy = model.evaluate(data.batch(data.from_arrays(test_tokens, test_labels), 32), verbose=0)
    assert accuracy >= 0.95
