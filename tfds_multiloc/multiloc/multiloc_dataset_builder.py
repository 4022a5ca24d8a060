"""The MultiLoc data set (5,959 eukaryotic proteins, 11 compartments) as a TFDS builder.

Sources, in order of precedence:
  1. the directory named by the ``PROTLOC_DATA_DIR`` environment variable;
  2. the manual directory (``tfds build ... --manual_dir DIR`` or ``download_config``), if it holds the files;
  3. the pinned raw files of KohlbacherLab/MultiLoc2 on GitHub (checksums in ``checksums.tsv``).
Local files are checked against the same SHA-256 sums as downloads.

The split (stratified 4/5 train, 1/5 test, 5 stratified folds in train, fixed by the accessions' SHA-256) is
:func:`protloc.datasets.multiloc.split_members`; test examples have ``fold == -1``. Sequences are tokenized and
middle-truncated by :mod:`protloc.sequences`.
"""
from __future__ import annotations

import socket
import urllib.parse
from os import environ  # only the environment: builders read files through epath

from etils import epath
import numpy as np
import tensorflow_datasets.public_api as tfds

from protloc import sequences
from protloc.datasets import DataNotFoundError
from protloc.datasets.multiloc import (CLASS_NAMES, DATA_DIR_VARIABLE, FILE_OF_CLASS, local_files, read_checksums,
                                       split_members)


_URL_BASE = ("https://raw.githubusercontent.com/KohlbacherLab/MultiLoc2/8c4b6f4cc5f43093787f87a04b6edfc4044e307b/"
             "MultiLoc2/data/datasets/multiloc/")
MAX_LENGTH = sequences.DEFAULT_MAX_LENGTH


def _local_files(directory: epath.Path) -> dict[str, epath.Path]:
    """Class -> file in ``directory``, each checked against this folder's checksums.tsv."""
    return local_files(directory, read_checksums(epath.Path(__file__).parent / "checksums.tsv"))


def check_source_reachable(url: str = _URL_BASE, timeout: float = 10.0) -> None:
    """Raises :class:`DataNotFoundError` naming the local alternatives when ``url``'s host cannot be reached, so
    an offline build stops at once with what to do instead of a network traceback after retries."""
    host = urllib.parse.urlsplit(url).hostname
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
    except OSError as error:
        raise DataNotFoundError(
            f"cannot reach {host} to download MultiLoc ({error}); offline, set {DATA_DIR_VARIABLE} to a directory "
            f"holding its 11 FASTA files ({', '.join(FILE_OF_CLASS.values())}), or put them in the manual directory "
            f"(`tfds build --manual_dir DIR`, or download_config=tfds.download.DownloadConfig(manual_dir=DIR) in "
            f"Python)") from None


def _read_records(path: epath.Path) -> list[sequences.ProteinRecord]:
    with path.open() as handle:
        return list(sequences.read_fasta(handle))


class Builder(tfds.core.GeneratorBasedBuilder):
    """MultiLoc: proteins labelled with one of 11 subcellular compartments."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Stratified 4/5 train, 1/5 test; 5 stratified folds in train."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    Optional. Place the 11 MultiLoc FASTA files ({', '.join(FILE_OF_CLASS.values())}) in the manual
    directory, or point the {DATA_DIR_VARIABLE} environment variable at their directory. Without either,
    the files are downloaded from {_URL_BASE}.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "accession": tfds.features.Text(),
                "sequence": tfds.features.Text(doc=f"residues after middle truncation to {MAX_LENGTH}"),
                "length": tfds.features.Scalar(np.int32, doc="original sequence length"),
                "tokens": tfds.features.Tensor(shape=(None,), dtype=np.int32,
                                               doc="protloc.sequences tokens of `sequence`"),
                "label": tfds.features.ClassLabel(names=CLASS_NAMES),
                "fold": tfds.features.Scalar(np.int32, doc="cross-validation fold 0-4 (train), -1 (test)"),
            }),
            supervised_keys=("tokens", "label"),
            homepage="https://github.com/KohlbacherLab/MultiLoc2",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        files = self._find_files(dl_manager)
        records = {name: _read_records(path) for name, path in files.items()}
        return {split: self._generate_examples(records, split) for split in ("train", "test")}

    def _find_files(self, dl_manager) -> dict[str, epath.Path]:
        if environ.get(DATA_DIR_VARIABLE):
            return _local_files(epath.Path(environ[DATA_DIR_VARIABLE]))
        try:
            return _local_files(dl_manager.manual_dir)
        except (AssertionError, FileNotFoundError):  # no manual directory, or not the MultiLoc files there
            pass
        check_source_reachable()
        paths = dl_manager.download({name: _URL_BASE + file for name, file in FILE_OF_CLASS.items()})
        return {name: epath.Path(path) for name, path in paths.items()}

    def _generate_examples(self, records, split):
        for name, record, fold, residues in split_members(records, split):
            yield record.id, {
                "accession": record.id,
                "sequence": sequences.truncate_middle(residues, MAX_LENGTH),
                "length": len(residues),
                "tokens": sequences.encode_sequence(residues, MAX_LENGTH, record.id),
                "label": name,
                "fold": fold,
            }
