"""Runs the multiloc builder on dummy_data/ (synthetic FASTA, 5 proteins per class), in both configs."""
import os
import pathlib
import tempfile
from unittest import mock

import numpy as np
import pytest
import tensorflow_datasets as tfds

from protloc.data.datasets import multiloc
from tfds_multiloc import reachable
from tfds_multiloc.multiloc import multiloc_dataset_builder as builder_module

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

FILES = builder_module.FILE_OF_CLASS.values()


class MultilocTest(tfds.testing.DatasetBuilderTestCase):
    """Downloads are mocked by dummy_data/download/; the manual dir (dummy_data/) holds no data files."""

    DATASET_CLASS = builder_module.Builder
    SPLITS = {"train": 44, "test": 11}  # per class: round(5 / 5) = 1 test, 4 train
    DL_DOWNLOAD_RESULT = {name: f"download/{file}" for name, file in builder_module.FILE_OF_CLASS.items()}

    @classmethod
    def setUpClass(cls):
        cls._environment = mock.patch.dict(os.environ)
        cls._environment.start()
        cls._online = mock.patch.object(builder_module, "check_source_reachable")  # downloads are mocked too
        cls._online.start()
        os.environ.pop(builder_module.DATA_DIR_VARIABLE, None)  # use the dummy downloads, not real data
        cls._cache = tempfile.TemporaryDirectory()
        os.environ["PROTLOC_CACHE_DIR"] = cls._cache.name
        # the profiles config searches the dummy proteins themselves (a tiny FASTA database)
        os.environ[builder_module.PROFILE_DB_VARIABLE] = str(pathlib.Path(__file__).parent / "dummy_data" / "download")
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._online.stop()
        cls._environment.stop()
        cls._cache.cleanup()


def test_offline_without_local_files_names_the_alternatives_before_any_download(tmp_path, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.delenv(builder_module.DATA_DIR_VARIABLE, raising=False)
    monkeypatch.setattr(reachable.socket, "create_connection", unreachable)
    manager = mock.Mock(manual_dir=builder_module.epath.Path(tmp_path))
    with pytest.raises(FileNotFoundError) as stopped:
        builder_module.Builder._find_files(None, manager)
    message = str(stopped.value)
    assert message.startswith("cannot reach raw.githubusercontent.com to download MultiLoc (Network is unreachable)")
    assert builder_module.DATA_DIR_VARIABLE in message and "--manual_dir" in message and "ER.fasta" in message
    manager.download.assert_not_called()


def test_both_configs_always_exist_whatever_the_environment_at_import():
    import subprocess
    import sys

    script = ("from tfds_multiloc.multiloc import multiloc_dataset_builder as b; "
              "print(' '.join(c.name for c in b.Builder.BUILDER_CONFIGS))")
    plain = {k: v for k, v in os.environ.items() if k != builder_module.PROFILE_DB_VARIABLE}
    for environment in (plain, {**plain, builder_module.PROFILE_DB_VARIABLE: "/data/db.fasta"}):
        found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                               check=True)
        assert found.stdout.split("\n")[-2] == "sequence profiles"


def test_building_the_profiles_config_without_a_database_stops_naming_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(builder_module.PROFILE_DB_VARIABLE, raising=False)
    builder = builder_module.Builder(config="profiles", data_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match=builder_module.PROFILE_DB_VARIABLE):
        builder._split_generators(mock.Mock())


def test_the_checksums_file_is_the_packages_pinned_files():
    path = builder_module.epath.Path(__file__).parent / "checksums.tsv"
    assert path.read_text() == multiloc.checksums_tsv()


def test_split_is_stratified_disjoint_and_independent_of_order():
    by_class = {"a": [f"A{i}" for i in range(50)], "b": [f"B{i}" for i in range(10)]}
    shuffled = {name: list(reversed(accs)) for name, accs in reversed(list(by_class.items()))}
    assignment = multiloc.assign_splits(by_class)
    assert assignment == multiloc.assign_splits(shuffled)
    for name, accs in by_class.items():
        splits = [assignment[a][0] for a in accs]
        assert splits.count("test") == round(len(accs) / 5)
        folds = [assignment[a][1] for a in accs if assignment[a][0] == "train"]
        counts = np.bincount(folds, minlength=5)
        assert counts.max() - counts.min() <= 1
    assert all(fold == -1 for split, fold in assignment.values() if split == "test")


def test_duplicate_accession_is_refused():
    with pytest.raises(ValueError, match="'P1' occurs more than once"):
        multiloc.assign_splits({"a": ["P1", "P2"], "b": ["P1"]})


def test_local_directory_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="ER.fasta is missing"):
        builder_module._local_files(tmp_path)


def test_local_file_with_wrong_checksum_is_refused(tmp_path):
    dummy = builder_module.epath.Path(__file__).parent / "dummy_data" / "download"
    for file in FILES:
        (tmp_path / file).write_text((dummy / file).read_text())
    with pytest.raises(ValueError, match="not the pinned MultiLoc file"):
        builder_module._local_files(builder_module.epath.Path(tmp_path))


if __name__ == "__main__":
    tfds.testing.test_main()
