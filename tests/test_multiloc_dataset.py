"""The real MultiLoc build: counts, classes, the committed split fingerprint, and the `tfds build` CLI."""
import collections
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow_datasets as tfds

from protloc.data import sequences

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

# sha256 of the sorted test accessions joined by "\n": the split must be identical on every machine.
TEST_SPLIT_FINGERPRINT = "f91fd5d42cd7d1f2759d04cdfa99c855d6c567e469b8232af9fd40d10c325717"
EXPECTED_TEST_COUNTS = [40, 30, 90, 282, 169, 21, 102, 167, 31, 248, 13]


def load(split, data_dir):
    return list(tfds.load("multiloc", split=split, data_dir=str(data_dir)).as_numpy_iterator())


def test_counts_classes_and_fingerprint(multiloc_tfds_dir):
    train, test = load("train", multiloc_tfds_dir), load("test", multiloc_tfds_dir)
    assert (len(train), len(test)) == (4766, 1193)
    train_ids = {ex["accession"] for ex in train}
    test_ids = sorted(ex["accession"].decode() for ex in test)
    assert train_ids.isdisjoint(test_ids)
    assert hashlib.sha256("\n".join(test_ids).encode()).hexdigest() == TEST_SPLIT_FINGERPRINT
    test_counts = collections.Counter(int(ex["label"]) for ex in test)
    assert [test_counts[i] for i in range(11)] == EXPECTED_TEST_COUNTS
    assert set(collections.Counter(int(ex["label"]) for ex in train)) == set(range(11))
    assert sorted({int(ex["fold"]) for ex in train}) == [0, 1, 2, 3, 4]
    assert {int(ex["fold"]) for ex in test} == {-1}


def test_examples_are_truncated_and_tokenized_by_protloc(multiloc_tfds_dir):
    examples = load("train", multiloc_tfds_dir)
    longest = max(examples, key=lambda ex: ex["length"])
    assert longest["length"] > 1000 and len(longest["tokens"]) == 1000
    for ex in examples[:200] + [longest]:
        sequence = ex["sequence"].decode()
        assert len(sequence) == min(ex["length"], 1000)
        np.testing.assert_array_equal(ex["tokens"], sequences.tokenize(sequence))


def test_tfds_build_cli_with_manual_dir(multiloc_dir, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PROTLOC_DATA_DIR"}
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "tfds"), "build", "multiloc", "--config", "sequence",
                    "--imports", "tfds_multiloc", "--manual_dir", str(multiloc_dir), "--data_dir", str(tmp_path),
                    "--noforce_checksums_validation"], check=True, env=env, capture_output=True)
    assert len(load("test", tmp_path)) == 1193
