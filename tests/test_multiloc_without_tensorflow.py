"""MultiLoc read straight from FASTA (protloc.multiloc), NumPy bucketed batches (protloc.batching), and a model
trained on Keras's JAX backend that TensorFlow then loads: the path benchmarks take on a GPU machine."""
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from protloc import batching, multiloc
from tests.helpers import REPO, motif_task


def test_fasta_split_is_the_tfds_split(multiloc_dir, multiloc_tfds_dir):
    for split, folds in (("test", None), ("train", [2])):
        tokens, labels = multiloc.read_split(split, folds, directory=multiloc_dir)
        examples = tfds.load("multiloc", split=split, data_dir=str(multiloc_tfds_dir)).as_numpy_iterator()
        expected = sorted((int(ex["label"]), ex["tokens"].tobytes()) for ex in examples
                          if folds is None or ex["fold"] in folds)
        assert sorted(zip(labels, (t.tobytes() for t in tokens))) == expected


def test_data_directory_must_be_named(monkeypatch):
    monkeypatch.delenv(multiloc.DATA_DIR_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match="set PROTLOC_DATA_DIR"):
        multiloc.read_split("test")
    with pytest.raises(ValueError, match="split must be 'train' or 'test'"):
        multiloc.read_split("validation", directory="anywhere")


def proteins(lengths):
    return [np.arange(1, n + 1, dtype=np.int32) % 20 + 1 for n in lengths], np.arange(len(lengths)) % 3


def test_evaluation_order_holds_every_protein_once_padded_to_its_bucket():
    lengths = [10, 70, 63, 64, 900, 1000, 5, 130]
    tokens, labels = proteins(lengths)
    batches = batching.BucketedBatches(tokens, labels, batch_size=2)
    seen = []
    for index in range(len(batches)):
        batch_tokens, batch_labels = batches[index]
        longest = int((batch_tokens != 0).sum(1).max())
        expected = 1000 if longest >= 896 else next(b for b in batching.BUCKET_BOUNDARIES if b > longest)
        assert batch_tokens.shape[1] == expected
        for row, label in zip(batch_tokens, batch_labels):
            length = int((row != 0).sum())
            assert np.array_equal(row[:length], tokens[lengths.index(length)]) and not row[length:].any()
            seen.append((length, label))
    assert sorted(seen) == sorted(zip(lengths, labels))
    assert len(batches) == 5  # below 64: 3 proteins (2 batches); below 128, below 192, 896 and up: 1 each


def test_training_order_is_full_batches_reshuffled_each_epoch_and_seeded():
    tokens, labels = proteins(list(range(20, 200, 3)))
    batches = batching.BucketedBatches(tokens, labels, batch_size=4, shuffle_seed=7)
    epochs = []
    for _ in range(2):
        rows = [batches[i][0] for i in range(len(batches))]
        assert all(len(batch) == 4 for batch in rows)
        epochs.append([int((row != 0).sum()) for batch in rows for row in batch])
        batches.on_epoch_end()
    assert set(epochs[0]) == set(epochs[1]) == set(range(20, 200, 3)) and epochs[0] != epochs[1]
    again = batching.BucketedBatches(tokens, labels, batch_size=4, shuffle_seed=7)
    assert [int((row != 0).sum()) for i in range(len(again)) for row in again[i][0]] == epochs[0]


def test_bad_batching_arguments_are_named():
    with pytest.raises(ValueError, match="3 token arrays but 2 labels"):
        batching.BucketedBatches(*proteins([5, 6, 7])[:1], [0, 1])
    with pytest.raises(ValueError, match="no proteins"):
        batching.BucketedBatches([], [])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        batching.BucketedBatches(*proteins([5]), batch_size=0)


JAX_TRAINING = """
import sys
import keras
import numpy as np
from protloc import batching, files, models
from tests.helpers import motif_task
keras.utils.set_random_seed(0)
train_tokens, train_labels = motif_task(n_per_class=150, seed=0)
test_tokens, test_labels = motif_task(n_per_class=50, seed=1)
for name in ("rlstm", "alstm"):
    model = models.build_model(name, class_names=["n_motif", "c_motif", "none"], lstm_units=16, dense_units=16,
                               attention_units=16, dropout=0.1, learning_rate=5e-3)
    model.fit(batching.BucketedBatches(train_tokens, train_labels, 16, shuffle_seed=0), epochs=8, verbose=0)
    files.save_model(model, f"{sys.argv[1]}/{name}.keras")
    probabilities = model.predict(batching.BucketedBatches(test_tokens, test_labels, 32), verbose=0)
    np.save(f"{sys.argv[1]}/{name}.npy", probabilities)
"""


def test_models_trained_on_jax_learn_and_predict_the_same_on_tensorflow(tmp_path):
    pytest.importorskip("jax")
    environment = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(REPO)}
    finished = subprocess.run([sys.executable, "-c", JAX_TRAINING, str(tmp_path)], env=environment, cwd=REPO,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-3000:]

    from protloc import models

    test_tokens, test_labels = motif_task(n_per_class=50, seed=1)
    batches = batching.BucketedBatches(test_tokens, test_labels, 32)
    labels_in_batch_order = np.concatenate([batches[i][1] for i in range(len(batches))])
    for name in ("rlstm", "alstm"):
        on_jax = np.load(tmp_path / f"{name}.npy")
        assert np.mean(on_jax.argmax(-1) == labels_in_batch_order) >= 0.95, name
        on_tensorflow = models.load_model(tmp_path / f"{name}.keras").predict(batches, verbose=0)
        np.testing.assert_allclose(on_tensorflow, on_jax, atol=1e-5)
