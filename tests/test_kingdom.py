"""The kingdom as an optional per-protein input: its encoding, the layer that withholds it in training, batching,
old configs, and a kingdom model trained, evaluated and used by `protloc predict` with and without --kingdom."""
import json

import keras
import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import kingdoms, pipeline, sequences
from protloc.data.datasets import Example
from protloc.data.features import KINGDOM
from protloc.models import run_config, zoo
from protloc.models.layers import WithheldInput
from protloc.prediction import presets
from protloc.prediction.predictor import Localizer
from protloc.training import loop
from tests.helpers import MULTI_CLASSES, multi_label_spec, trained_run

SPEC = multi_label_spec(f"{__name__}:SPEC")


def test_a_kingdom_is_one_hot_and_a_kingdom_not_given_is_all_zeros():
    np.testing.assert_array_equal(kingdoms.kingdom_vector("Fungi"), [0, 1, 0, 0])
    np.testing.assert_array_equal(kingdoms.kingdom_vector(None), np.zeros(4))
    with pytest.raises(ValueError, match="unknown kingdom 'Bacteria'; choose from Metazoa, Fungi"):
        kingdoms.kingdom_vector("Bacteria")
    examples = [Example("a", {"tokens": np.ones(5, np.int32)}, None, 0, kingdom="Viridiplantae"),
                Example("b", {"tokens": np.ones(3, np.int32)}, None, 0)]
    own, given, withheld = (kingdoms.with_kingdoms(examples, **options)
                            for options in ({}, {"kingdom": "Metazoa"}, {"withheld": True}))
    assert [list(e.features[KINGDOM]) for e in own] == [[0, 0, 1, 0], [0, 0, 0, 0]]
    assert [list(e.features[KINGDOM]) for e in given] == [[1, 0, 0, 0]] * 2
    assert [list(e.features[KINGDOM]) for e in withheld] == [[0, 0, 0, 0]] * 2


def test_training_withholds_whole_kingdom_vectors_unscaled_and_inference_keeps_them():
    layer = WithheldInput(0.5, seed=3)
    given = np.tile(np.eye(4, dtype="float32")[[1]], (400, 1))
    np.testing.assert_array_equal(layer(given, training=False), given)
    out = keras.ops.convert_to_numpy(layer(given, training=True))
    kept = out.any(axis=1)
    np.testing.assert_array_equal(out[kept], given[kept])  # a kept vector is unchanged, not scaled by 1 / (1 - rate)
    assert 0.4 < 1 - kept.mean() < 0.6
    assert WithheldInput.from_config(layer.get_config()).rate == 0.5
    with pytest.raises(ValueError, match="rate must be in"):
        WithheldInput(1.0)


def test_a_per_protein_feature_is_batched_as_one_row_per_protein_and_never_cut():
    examples = kingdoms.with_kingdoms([Example(f"p{n}", {"tokens": np.ones(n, np.int32)}, None, 0, kingdom="Fungi")
                                       for n in (3, 9, 5)])
    batch = pipeline.BucketedBatches(examples, batch_size=3, boundaries=())[0]
    assert batch["tokens"].shape == (3, 9) and batch[KINGDOM].shape == (3, 4)
    np.testing.assert_array_equal(batch[KINGDOM], np.tile([0, 1, 0, 0], (3, 1)))
    assert loop.truncated(examples[1], 4).features[KINGDOM].shape == (4,)
    with pytest.raises(ValueError, match=r"feature 'kingdom' has shape \(3,\), expected \(4,\)"):
        pipeline.BucketedBatches([examples[0], Example("x", {"tokens": np.ones(2, np.int32),
                                                             KINGDOM: np.zeros(3, np.float32)}, None, 0)], 32)


def test_a_format_2_config_reads_as_a_run_without_the_kingdom_input(tmp_path):
    config = run_config.RunConfig.resolve(hparams={"lstm_units": 4}, dataset="multiloc")
    saved = {**config.to_json(tmp_path), "format": 2}
    del saved["hparams"]["kingdom"]
    assert run_config.RunConfig.from_json(saved, tmp_path) == config
    assert zoo.input_names(zoo.build_model("rlstm", MULTI_CLASSES, lstm_units=4)) == ["tokens"]


@pytest.fixture(scope="module")
def kingdom_run(tmp_path_factory):
    yield from trained_run(tmp_path_factory.mktemp("kingdom"), "--dataset", SPEC.name, "--fold", "0", "--epochs",
                           "2", "--batch-size", "8", "--lstm-units", "8", "--dense-units", "8", "--kingdom")


def test_a_kingdom_run_takes_the_input_and_predicts_with_and_without_it(kingdom_run, tmp_path, capsys):
    assert json.loads((kingdom_run / "config.json").read_text())["hparams"]["kingdom"] is True
    card = json.loads((kingdom_run / "preset.json").read_text())
    assert sorted(card["inputs"]) == [KINGDOM, "tokens"]
    examples = SPEC.examples("train")[:6]
    fasta = tmp_path / "q.fasta"
    fasta.write_text("".join(f">{e.id}\n{e.sequence}\n" for e in examples))
    tables = {}
    for name, options in (("none", []), ("fungi", ["--kingdom", "Fungi"]), ("plants", ["--kingdom", "Viridiplantae"])):
        out = tmp_path / f"{name}.tsv"
        assert main(["predict", str(fasta), "--model", str(kingdom_run), "--no-homology", "-o", str(out),
                     *options]) == 0
        tables[name] = np.array([[float(v) for v in line.split("\t")[-len(MULTI_CLASSES):]]
                                 for line in out.read_text().splitlines()[1:]])
    assert not np.allclose(tables["fungi"], tables["plants"])  # the input reaches the output
    network = zoo.load_model(kingdom_run / "model.keras")
    withheld = kingdoms.with_kingdoms([Example(e.id, e.features, None, 0) for e in examples], withheld=True)
    direct = network.predict_on_batch(pipeline.BucketedBatches(withheld, 6, boundaries=())[0])["locations"]
    order = np.argsort([len(e.sequence) for e in examples], kind="stable")
    np.testing.assert_allclose(tables["none"][order], direct, atol=2e-3)  # the table rounds to 3 decimals

    own = Localizer.from_preset(kingdom_run, homology_evidence=False).predict_examples(examples)  # each one's own
    given = Localizer.from_preset(kingdom_run, homology_evidence=False, kingdom="Fungi").predict_examples(examples)
    is_fungal = np.array([e.kingdom == "Fungi" for e in examples])
    np.testing.assert_allclose(own.network[is_fungal], given.network[is_fungal], atol=1e-6)
    assert main(["evaluate", str(kingdom_run), "--split", "validation"]) == 0
    assert "Micro F1" in capsys.readouterr().out


def test_a_kingdom_without_plastids_masks_them_in_any_preset(tmp_path, capsys):
    """A yeast protein is never called plastid with --kingdom Fungi, whatever the preset; a single-label
    distribution stays a distribution; other kingdoms and no kingdom leave the probabilities as they were."""
    records = list(sequences.read_fasta(presets.EXAMPLES))
    for name, absent in (("deeploc2", "plastid"), ("multiloc", "chloroplast")):
        plain = list(Localizer.from_preset(name, homology_evidence=False).predict(records))
        fungal = list(Localizer.from_preset(name, kingdom="Fungi").predict(records))
        plant = list(Localizer.from_preset(name, homology_evidence=False, kingdom="Viridiplantae").predict(records))
        column = list(Localizer.from_preset(name, homology_evidence=False).class_names).index(absent)
        assert all(row.probabilities[column] == 0 and column not in row.locations for row in fungal)
        assert max(row.probabilities[column] for row in plain) > 0.05  # Q8RX97, the chloroplast protein
        np.testing.assert_allclose([r.probabilities for r in plant], [r.probabilities for r in plain], atol=1e-6)
        if name == "multiloc":
            np.testing.assert_allclose([row.probabilities.sum() for row in fungal], 1.0, atol=1e-5)
    fasta = tmp_path / "q.fasta"
    fasta.write_text(">a\nMKTAYIAKQRQISFVKSHFSRQ\n")
    with pytest.raises(SystemExit):
        main(["predict", str(fasta), "--kingdom", "Bacteria"])
    assert "invalid choice: 'Bacteria'" in capsys.readouterr().err
    assert main(["export", "multiloc", "--kingdom", "Fungi", "--out", str(tmp_path / "x")]) == 2
    assert "takes no kingdom input" in capsys.readouterr().err


def test_a_kingdom_model_is_exported_for_the_kingdom_given(kingdom_run, tmp_path):
    import tensorflow as tf

    out = tmp_path / "protloc" / "1"
    assert main(["export", str(kingdom_run), "--out", str(out), "--kingdom", "Fungi"]) == 0
    assert json.loads((out / "assets.extra" / "protloc.json").read_text())["kingdom"] == "Fungi"
    examples = SPEC.examples("train")[:3]
    served = tf.saved_model.load(str(out)).signatures["serving_default"](
        sequences=tf.constant([e.sequence for e in examples]))
    expected = Localizer.from_preset(kingdom_run, homology_evidence=False, kingdom="Fungi").predict_examples(examples)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected.network, atol=1e-5)
