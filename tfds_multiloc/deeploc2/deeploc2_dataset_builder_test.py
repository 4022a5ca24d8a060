"""Runs the deeploc2 builder on dummy_data/ (synthetic rows, 4 per partition)."""
import os
import tempfile
from unittest import mock

import numpy as np
import pytest
import tensorflow_datasets as tfds

from protloc.data import sequences
from protloc.data.datasets import deeploc2
from tfds_multiloc import reachable
from tfds_multiloc.deeploc2 import deeploc2_dataset_builder as builder_module

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`


class DeepLoc2Test(tfds.testing.DatasetBuilderTestCase):
    """Downloads are mocked by dummy_data/download/; the manual dir (dummy_data/) holds no data files."""

    DATASET_CLASS = builder_module.Builder
    SPLITS = {"train": 20}
    DL_DOWNLOAD_RESULT = {k: f"download/partition{k}.csv" for k in range(deeploc2.NUM_PARTITIONS)}

    @classmethod
    def setUpClass(cls):
        cls._environment = mock.patch.dict(os.environ)
        cls._environment.start()
        cls._online = mock.patch.object(builder_module, "check_source_reachable")
        cls._online.start()
        os.environ.pop(deeploc2.DATA_DIR_VARIABLE, None)  # use the dummy downloads, not real data
        os.environ.pop("PROTLOC_DEEPLOC2_SIGNALS_DIR", None)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._online.stop()
        cls._environment.stop()


def test_local_files_are_checked_and_give_the_specs_proteins_locations_and_folds():
    with tempfile.TemporaryDirectory() as data_dir, mock.patch.object(builder_module, "check_source_reachable"):
        config = tfds.download.DownloadConfig(manual_dir=str(builder_module.epath.Path(__file__).parent
                                                             / "dummy_data" / "download"))
        builder = tfds.builder("deeploc2", data_dir=data_dir)
        with mock.patch.dict(os.environ, {deeploc2.DATA_DIR_VARIABLE: ""}), \
                mock.patch.object(deeploc2, "checksums", lambda: _dummy_checksums()):
            builder.download_and_prepare(download_config=config)
        rows = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert len(rows) == 20 and sorted(int(r["fold"]) for r in rows) == [k for k in range(5) for _ in range(4)]
    first = next(r for r in rows if r["accession"] == b"DUMMY002")
    assert first["locations"].tolist() == [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]  # Cytoplasm|Nucleus
    assert first["kingdom"] == deeploc2.KINGDOMS.index("Viridiplantae") and first["membrane"] == 0.0
    np.testing.assert_array_equal(first["tokens"], sequences.tokenize(first["sequence"].decode()))
    assert (first["signal_types"] == -1).all() and first["signal_residues"].shape == first["tokens"].shape  # unlabelled


def test_signal_labels_become_features_and_unlabelled_proteins_are_minus_one():
    from protloc.data.datasets.deeploc2_signals import SignalLabels

    tokens = np.array([5, 6, 7, 8], np.int32)
    labelled = deeploc2.Example("P1", {"tokens": tokens}, (0,), 0, "ACDE", 0.0, "Fungi",
                                SignalLabels((0,), np.array([1, 1, 0, 0], np.int8)))
    types_only = deeploc2.Example("P2", {"tokens": tokens}, (1,), 1, "ACDE", 1.0, "Metazoa", SignalLabels((1,)))
    plain = deeploc2.Example("P3", {"tokens": tokens}, (2,), 2, "ACDE", 0.0, "Other")
    rows = dict(builder_module.Builder._generate_examples(None, [labelled, types_only, plain]))
    assert rows["P1"]["signal_types"].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert rows["P1"]["signal_residues"].tolist() == [1, 1, 0, 0]
    assert rows["P2"]["signal_types"].tolist()[:2] == [0, 1] and rows["P2"]["signal_residues"].tolist() == [-1] * 4
    assert (rows["P3"]["signal_types"] == -1).all() and (rows["P3"]["signal_residues"] == -1).all()


def _dummy_checksums():
    import hashlib

    directory = builder_module.epath.Path(__file__).parent / "dummy_data" / "download"
    return {f"partition{k}.csv": hashlib.sha256((directory / f"partition{k}.csv").read_bytes()).hexdigest()
            for k in range(deeploc2.NUM_PARTITIONS)}


def test_the_checksums_file_is_the_packages_pinned_files():
    path = builder_module.epath.Path(__file__).parent / "checksums.tsv"
    assert path.read_text() == deeploc2.checksums_tsv()


def test_offline_without_local_files_names_the_alternatives(monkeypatch, tmp_path):
    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.delenv(deeploc2.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(reachable.socket, "create_connection", unreachable)
    manager = mock.Mock(manual_dir=builder_module.epath.Path(tmp_path))
    with pytest.raises(FileNotFoundError, match="cannot reach raw.githubusercontent.com to download DeepLoc 2.0"):
        builder_module.Builder._read(None, manager)
    manager.download.assert_not_called()
