"""protloc.models: registry, dict inputs, padding invariance, save/load, ensembles, and learning a synthetic task."""
import keras
import numpy as np
import pytest

from protloc.data import datasets, pipeline
from protloc.models import zoo
from protloc.training import loop
from tests.helpers import TOY_CLASSES, motif_task, pad, toy_spec

SMALL = dict(lstm_units=8, dense_units=8, attention_units=12)
TOKENS = [np.random.default_rng(1).integers(1, 25, size=n).astype(np.int32) for n in (9, 4, 15)]
NAMES = [f"class{i}" for i in range(11)]


def tokens(length=None):
    return {"tokens": pad(TOKENS, length)}


POOLED = dict(pool_size=3, global_max=True)
"""R-LSTM hyper-parameters that add max pooling before the LSTMs and the conv filters' maxima to the classifier."""


@pytest.mark.parametrize("name, extra", [("rlstm", {}), ("rlstm", POOLED), ("alstm", {})])
def test_model_is_padding_invariant(name, extra):
    model = zoo.build_model(name, NAMES, **SMALL, **extra)
    short = model.predict(tokens(), verbose=0)
    long = model.predict(tokens(40), verbose=0)
    np.testing.assert_allclose(long, short, atol=1e-5)
    np.testing.assert_allclose(short.sum(1), 1, atol=1e-5)
    assert short.shape == (3, 11)


def test_extra_residue_input_is_read_and_padding_invariant():
    model = zoo.build_model("rlstm", TOY_CLASSES, residue_inputs={"extra": 2}, **SMALL)
    assert sorted(zoo.input_names(model)) == ["extra", "tokens"]
    rng = np.random.default_rng(0)
    extra = rng.normal(size=(3, 15, 2)).astype(np.float32)
    for row, protein in enumerate(TOKENS):
        extra[row, len(protein):] = 0
    short = model.predict({**tokens(), "extra": extra}, verbose=0)
    long = model.predict({**tokens(30), "extra": np.pad(extra, ((0, 0), (0, 15), (0, 0)))}, verbose=0)
    np.testing.assert_allclose(long, short, atol=1e-5)
    changed = model.predict({**tokens(), "extra": extra + 1}, verbose=0)
    assert np.abs(changed - short).max() > 1e-6  # the extra input reaches the (untrained) output


def test_attention_alpha_of_the_model_is_padding_invariant():
    representation = zoo.representation_model(zoo.build_model("alstm", NAMES, **SMALL))
    _, alpha = representation.predict(tokens(), verbose=0)
    _, alpha_long = representation.predict(tokens(30), verbose=0)
    np.testing.assert_allclose(alpha_long[:, :15], alpha, atol=1e-6)
    assert np.all(alpha_long[:, 15:] == 0) and np.all(alpha[1, 4:] == 0)
    np.testing.assert_allclose(alpha.sum(1), 1, atol=1e-5)


def test_paper_defaults_are_applied_and_models_come_uncompiled():
    model = zoo.build_model("alstm", NAMES)
    assert model.get_layer("conv_bank").filters == (10,) * 6
    assert model.get_layer("conv_bank").widths == (1, 3, 5, 9, 15, 21)
    assert model.get_layer("representation").units == 400
    assert model.get_layer("conv_dropout").rate == 0.5
    kernel = np.asarray(model.get_layer("dense").kernel)
    assert 0.04 < np.abs(kernel).max() <= 0.05
    assert not model.compiled
    loop.compile_model(model)
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-4)


def test_registry_lists_every_hyper_parameter_a_builder_reads():
    resolved = zoo.resolve_hparams()
    assert set(resolved) == set(zoo.HYPERPARAMETERS)
    for hp in zoo.HYPERPARAMETERS.values():
        assert not hp.item_names or len(hp.item_names) == len(hp.default)
        assert all(family in zoo.FAMILIES for family in hp.families)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown model 'cnn'; choose from rlstm, alstm"):
        zoo.build_model("cnn", NAMES)
    with pytest.raises(ValueError, match=r"unknown hyper-parameter\(s\) \['units'\]"):
        zoo.build_model("rlstm", NAMES, units=3)
    with pytest.raises(ValueError, match="dropout"):
        zoo.build_model("rlstm", NAMES, dropout=1.5)
    with pytest.raises(ValueError, match="residue_inputs"):
        zoo.build_model("rlstm", NAMES, residue_inputs={"tokens": 3})
    with pytest.raises(ValueError, match="pool_size must be at least 1, got 0"):
        zoo.build_model("rlstm", NAMES, pool_size=0)


@pytest.mark.parametrize("kind", ["rlstm", "alstm", "ensemble", "extra", "pooled"])
def test_save_and_load_round_trip_gives_identical_predictions(kind, tmp_path):
    inputs = tokens()
    if kind == "ensemble":
        model = zoo.build_ensemble([zoo.build_model("rlstm", NAMES, **SMALL),
                                       zoo.build_model("alstm", NAMES, **SMALL)])
    elif kind == "extra":
        model = zoo.build_model("alstm", NAMES, residue_inputs={"profile": 20}, **SMALL)
        inputs["profile"] = np.random.default_rng(0).random((3, 15, 20)).astype(np.float32)
    elif kind == "pooled":
        model = zoo.build_model("rlstm", NAMES, **SMALL, **POOLED)
        assert model.get_layer("pooling").pool_size == 3 and model.get_layer("conv_max")
    else:
        model = zoo.build_model(kind, NAMES, **SMALL)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = zoo.load_model(path)
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))
    assert zoo.class_names_of(loaded) == NAMES


def test_ensemble_averages_member_probabilities():
    members = [zoo.build_model("rlstm", NAMES, **SMALL), zoo.build_model("rlstm", NAMES, **SMALL)]
    expected = np.mean([m.predict(tokens(), verbose=0) for m in members], axis=0)
    ensemble = zoo.build_ensemble(members)
    np.testing.assert_allclose(ensemble.predict(tokens(), verbose=0), expected, atol=1e-6)
    assert (zoo.member_count(ensemble), zoo.member_count(members[0])) == (2, 1)
    with pytest.raises(ValueError, match="disagree on class names"):
        zoo.build_ensemble([members[0], zoo.build_model("rlstm", ["a", "b"], **SMALL)])
    with pytest.raises(ValueError, match="disagree on inputs"):
        zoo.build_ensemble([members[0], zoo.build_model("rlstm", NAMES, residue_inputs={"p": 2}, **SMALL)])


def test_load_model_names_a_bad_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        zoo.load_model(tmp_path / "missing.keras")
    (tmp_path / "junk.keras").write_text("not a model")
    with pytest.raises(ValueError, match=r"junk\.keras is not a loadable Keras model"):
        zoo.load_model(tmp_path / "junk.keras")
    foreign = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    foreign.save(tmp_path / "foreign.keras")
    with pytest.raises(ValueError, match="not a protloc model"):
        zoo.load_model(tmp_path / "foreign.keras")


@pytest.mark.parametrize("name, extra", [("rlstm", {}), ("rlstm", POOLED), ("alstm", {})])
def test_model_learns_terminal_motifs(name, extra):
    keras.utils.set_random_seed(0)
    train = [datasets.Example(str(i), {"tokens": t}, int(y), 0) for i, (t, y) in enumerate(zip(*motif_task(150)))]
    test = [datasets.Example(str(i), {"tokens": t}, int(y), 0) for i, (t, y) in enumerate(zip(*motif_task(50, 1)))]
    model = zoo.build_model(name, TOY_CLASSES, lstm_units=16, dense_units=16, attention_units=16, dropout=0.1,
                               **extra)
    loop.compile_model(model, 5e-3)
    model.fit(pipeline.batches(train, 16, shuffle_seed=0), epochs=3, verbose=0, shuffle=False)
    _, accuracy = model.evaluate(pipeline.batches(test, 32), verbose=0)
    assert accuracy >= 0.95


TOY = toy_spec(f"{__name__}:TOY")


def test_data_sets_are_found_by_name_or_module_reference_and_nothing_registers():
    assert datasets.get(TOY.name) is TOY and datasets.get("multiloc") is datasets.BUILT_IN["multiloc"]
    assert "multiloc" in datasets.names() and not hasattr(datasets, "register")
    with pytest.raises(ValueError, match="unknown data set 'nope'; known: .*multiloc"):
        datasets.get("nope")
    with pytest.raises(ValueError, match="'tests.no_such_module:X': cannot import it"):
        datasets.get("tests.no_such_module:X")
    with pytest.raises(ValueError, match="is a str, not a protloc.data.datasets.DatasetSpec"):
        datasets.get("tests.helpers:__name__")


def test_class_names_that_would_break_a_table_are_refused():
    for bad in (["a", "a"], ["a"], ["a", "b\tc"], ["a", "b\nc"], ["a", ""], ["a", "b c"], ["a", "b|c"],
                ["a", "\x1b[31m"]):
        with pytest.raises(ValueError, match="class"):
            zoo.build_model("rlstm", bad, **SMALL)
