"""Data sets and the one batcher: the MultiLoc spec read from FASTA equals the TFDS split; bucketed batches of
named features are the same as a PyDataset and as tf.data; models with an extra per-residue feature train through
them on TensorFlow and on JAX, and TensorFlow predicts what JAX trained."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from protloc.data import datasets, pipeline
from protloc.data.datasets import multiloc
from tests.helpers import REPO
from tests.toy_data import EXTRA


@pytest.mark.slow
def test_fasta_split_is_the_tfds_split(multiloc_dir, multiloc_tfds_dir):
    spec = datasets.get("multiloc")
    for split, folds in (("test", None), ("train", [2])):
        examples = spec.examples(split, folds, directory=multiloc_dir)
        loaded = tfds.load("multiloc", split=split, data_dir=str(multiloc_tfds_dir)).as_numpy_iterator()
        expected = sorted((ex["accession"].decode(), int(ex["label"]), int(ex["fold"]), ex["tokens"].tobytes())
                          for ex in loaded if folds is None or ex["fold"] in folds)
        assert sorted((e.id, e.label, e.fold, e.features["tokens"].tobytes()) for e in examples) == expected


def test_data_directory_must_be_named_and_splits_and_folds_are_checked(monkeypatch):
    monkeypatch.delenv(multiloc.DATA_DIR_VARIABLE, raising=False)
    spec = datasets.get("multiloc")
    with pytest.raises(datasets.DataNotFoundError, match=r"set PROTLOC_DATA_DIR \(or pass --data-dir\)"):
        spec.examples("test")
    with pytest.raises(ValueError, match="split must be one of train, test"):
        spec.examples("validation", directory="anywhere")
    with pytest.raises(ValueError, match="fold must be 0-4"):
        spec.examples("train", [7], directory="anywhere")


def examples(lengths, extra_width=0):
    rng = np.random.default_rng(0)
    made = []
    for index, n in enumerate(lengths):
        features = {"tokens": np.arange(1, n + 1, dtype=np.int32) % 20 + 1}
        if extra_width:
            features["extra"] = rng.random((n, extra_width)).astype(np.float32)
        made.append(datasets.Example(f"p{index}", features, index % 3, 0))
    return made


def test_inference_order_sorts_by_length_pads_to_the_next_boundary_and_holds_every_protein_once():
    lengths = [10, 70, 63, 64, 900, 1000, 5, 130]
    proteins = examples(lengths, extra_width=2)
    batches = pipeline.BucketedBatches(proteins, batch_size=2)
    seen, padded = [], []
    for index in range(len(batches)):
        features, batch_labels = batches[index]
        tokens = features["tokens"]
        padded.append(tokens.shape[1])
        assert features["extra"].shape == (len(tokens), tokens.shape[1], 2)
        for row, extra, label in zip(tokens, features["extra"], batch_labels):
            length = int((row != 0).sum())
            original = proteins[lengths.index(length)].features
            assert np.array_equal(row[:length], original["tokens"]) and not row[length:].any()
            assert np.array_equal(extra[:length], original["extra"]) and not extra[length:].any()
            seen.append((length, label))
    assert [length for length, _ in seen] == sorted(lengths)  # neighbours in length
    assert sorted(seen) == sorted(zip(lengths, [p.label for p in proteins]))
    assert padded == [64, 128, 192, 1000]  # the first boundary above the longest; above the last: the longest
    assert [lengths[i] for i in batches.order] == sorted(lengths)
    exact = pipeline.BucketedBatches(proteins, batch_size=2, boundaries=())
    assert [exact[i][0]["tokens"].shape[1] for i in range(len(exact))] == [10, 64, 130, 1000]


def test_unlabelled_examples_give_features_alone_and_multi_label_ones_multi_hot_rows():
    unlabelled = [datasets.Example(e.id, e.features, None, 0) for e in examples([5, 7])]
    batch = pipeline.BucketedBatches(unlabelled, batch_size=2)[0]
    assert isinstance(batch, dict) and set(batch) == {"tokens"}
    multi = [datasets.Example(e.id, e.features, label, 0) for e, label in zip(examples([5, 7]), [(0, 2), (1,)])]
    _, labels = pipeline.BucketedBatches(multi, batch_size=2, num_classes=3)[0]
    np.testing.assert_array_equal(labels["locations"], [[1, 0, 1], [0, 1, 0]]) and set(labels) == {"locations"}
    flagged = [datasets.Example(e.id, e.features, e.label, 0, membrane=flag) for e, flag in zip(multi, (1.0, 0.0))]
    _, labels = pipeline.BucketedBatches(flagged, batch_size=2, num_classes=3)[0]
    np.testing.assert_array_equal(labels["membrane"], [[1.0], [0.0]])
    with pytest.raises(ValueError, match="need num_classes"):
        pipeline.BucketedBatches(multi, 32)
    with pytest.raises(ValueError, match="either every example has a label or none"):
        pipeline.BucketedBatches(unlabelled + examples([3]), 32)


def test_training_order_is_full_batches_reshuffled_each_epoch_seeded_and_resumable():
    proteins = examples(list(range(20, 200, 3)))
    batches = pipeline.BucketedBatches(proteins, batch_size=4, shuffle_seed=7)

    def lengths_of(planned):
        return [int((row != 0).sum()) for i in range(len(planned)) for row in planned[i][0]["tokens"]]

    epochs = []
    for _ in range(2):
        assert all(len(batches[i][1]) == 4 for i in range(len(batches)))
        epochs.append(lengths_of(batches))
        batches.on_epoch_end()
    assert set(epochs[0]) == set(epochs[1]) == set(range(20, 200, 3)) and epochs[0] != epochs[1]
    assert lengths_of(pipeline.BucketedBatches(proteins, batch_size=4, shuffle_seed=7)) == epochs[0]
    assert lengths_of(pipeline.BucketedBatches(proteins, batch_size=4, shuffle_seed=7, epoch=1)) == epochs[1]


def test_tf_data_and_pydataset_deliver_identical_batches_for_a_seed():
    proteins = examples([5, 30, 64, 65, 100, 150, 300, 310, 320, 700, 1000, 12, 13], extra_width=3)
    for seed in (None, 3):
        as_pydataset = pipeline.BucketedBatches(proteins, batch_size=3, shuffle_seed=seed)
        as_tf_data = pipeline.BucketedBatches(proteins, batch_size=3, shuffle_seed=seed).as_tf_dataset()
        for _ in range(2):  # two epochs: both move to the next plan the same way
            delivered = list(as_tf_data.as_numpy_iterator())
            assert len(delivered) == len(as_pydataset)
            for index, (features, labels) in enumerate(delivered):
                expected_features, expected_labels = as_pydataset[index]
                assert set(features) == {"tokens", "extra"} and np.array_equal(labels, expected_labels)
                for name in features:
                    assert features[name].dtype == expected_features[name].dtype
                    np.testing.assert_array_equal(features[name], expected_features[name])
            as_pydataset.on_epoch_end()


def test_bad_batching_arguments_are_named():
    with pytest.raises(ValueError, match="no proteins"):
        pipeline.BucketedBatches([], 32)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        pipeline.BucketedBatches(examples([5]), batch_size=0)
    with pytest.raises(ValueError, match="boundaries must increase"):
        pipeline.BucketedBatches(examples([5]), 32, boundaries=(64, 32))
    mixed = examples([5, 6]) + examples([7], extra_width=1)
    with pytest.raises(ValueError, match=r"example 'p0' has features \['extra', 'tokens'\], expected \['tokens'\]"):
        pipeline.BucketedBatches(mixed, 32)
    wrong = [datasets.Example("bad", {"tokens": np.ones(5, np.int32), "extra": np.ones((4, 2), np.float32)}, 0, 0)]
    with pytest.raises(ValueError, match=r"example 'bad': feature 'extra' has shape \(4, 2\), expected \(5, 2\)"):
        pipeline.BucketedBatches(wrong, 32)


EXTRA_FEATURE_TRAINING = """
import json, os, sys
import numpy as np
from protloc.apps import cli
backend, out = sys.argv[1:]
for name in ("rlstm", "alstm"):
    config = f"{out}/{name}.json"
    with open(config, "w") as handle:
        json.dump({"model": name, "learning_rate": 1e-2, "hparams": dict(
            lstm_units=16, dense_units=16, attention_units=16, dropout=0.1, conv_filters=[4, 4, 4, 0, 0, 0],
            residue_inputs={"extra": 3})}, handle)
    assert cli.main(["train", "--backend", backend, "--config", config, "--dataset", "tests.toy_data:EXTRA",
                     "--epochs", "4", "--batch-size", "16", "--out", f"{out}/{name}"]) == 0
    import keras  # on the backend the command chose
    from protloc.data import datasets
    from protloc.training import evaluation
    model = keras.saving.load_model(f"{out}/{name}/model.keras")
    test = datasets.get("tests.toy_data:EXTRA").examples("test")
    np.save(f"{out}/{name}.npy", evaluation.predict_probabilities(model, test))
print(json.dumps({"backend": keras.backend.backend(), "cache": os.environ.get("JAX_COMPILATION_CACHE_DIR")}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_protloc_train_on_either_backend_learns_from_an_extra_per_residue_feature(backend, tmp_path):
    """`protloc train --backend B` from examples with an extra feature, through the batcher: the run directory
    records the backend (JAX's compilations kept in the cache), the models learn the toy task, and TensorFlow loads
    them and predicts the same probabilities."""
    pytest.importorskip(backend)
    environment = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_COMPILATION_CACHE_DIR")}
    environment.update(PROTLOC_CACHE_DIR=str(tmp_path / "cache"), JAX_PLATFORMS="cpu",
                       JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0", PYTHONPATH=str(REPO))
    finished = subprocess.run([sys.executable, "-c", EXTRA_FEATURE_TRAINING, backend, str(tmp_path)], env=environment,
                              cwd=REPO, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]
    report = json.loads(finished.stdout.splitlines()[-1])
    assert report["backend"] == backend
    if backend == "jax":
        assert report["cache"] == str(tmp_path / "cache" / "jax") and any((tmp_path / "cache" / "jax").iterdir())

    from protloc.models import zoo
    from protloc.training import evaluation

    test = EXTRA.examples("test")
    labels = datasets.labels_of(test)
    for name in ("rlstm", "alstm"):
        assert json.loads((tmp_path / name / "preset.json").read_text())["training"]["backend"] == backend
        trained = np.load(tmp_path / f"{name}.npy")
        assert np.mean(trained.argmax(-1) == labels) >= 0.9, (name, np.mean(trained.argmax(-1) == labels))
        model = zoo.load_model(tmp_path / name / "model.keras")
        assert sorted(zoo.input_names(model)) == ["extra", "tokens"]
        np.testing.assert_allclose(evaluation.predict_probabilities(model, test), trained, atol=1e-5)
