"""Shared fixtures: the real MultiLoc data from ../shared/data/multiloc (or $PROTLOC_DATA_DIR)."""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
MULTILOC_DIR = pathlib.Path(os.environ.get("PROTLOC_DATA_DIR") or REPO.parent / "shared" / "data" / "multiloc")


@pytest.fixture(scope="session")
def multiloc_dir():
    """Directory holding the 11 MultiLoc FASTA files; tests that need it skip, saying why, when it is absent."""
    if not (MULTILOC_DIR / "ER.fasta").exists():
        pytest.skip(f"MultiLoc data not found at {MULTILOC_DIR} (set PROTLOC_DATA_DIR)")
    return MULTILOC_DIR


@pytest.fixture(scope="session")
def multiloc_tfds_dir(multiloc_dir, tmp_path_factory):
    """A TFDS data_dir with `multiloc` built from the real files (about 10 s, once per test session)."""
    import tensorflow_datasets as tfds

    import tfds_multiloc  # noqa: F401  (registers the builder)

    data_dir = tmp_path_factory.mktemp("tfds")
    config = tfds.download.DownloadConfig(manual_dir=str(multiloc_dir))
    tfds.builder("multiloc", data_dir=str(data_dir)).download_and_prepare(download_config=config)
    return data_dir


DEEPLOC2_DIR = pathlib.Path(os.environ.get("PROTLOC_DEEPLOC2_DIR") or REPO.parent / "shared" / "data" / "deeploc2")


@pytest.fixture(scope="session")
def deeploc2_dir():
    """Directory holding DeepLoc 2.0's five partition files; tests that need it skip, saying why, when absent."""
    if not (DEEPLOC2_DIR / "partition0.csv.gz").exists() and not (DEEPLOC2_DIR / "partition0.csv").exists():
        pytest.skip(f"DeepLoc 2.0 data not found at {DEEPLOC2_DIR} (set PROTLOC_DEEPLOC2_DIR)")
    return DEEPLOC2_DIR


def pytest_collection_modifyitems(items):
    """Slow tests first (order otherwise kept): spread over worker processes (``make test``), the long files start
    early and the short ones fill in at the end, instead of one long file running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
