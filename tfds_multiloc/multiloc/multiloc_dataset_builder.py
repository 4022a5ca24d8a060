"""The MultiLoc data set (5,959 eukaryotic proteins, 11 compartments) as a TFDS builder.

Sources, in order of precedence:
  1. the directory named by the ``PROTLOC_DATA_DIR`` environment variable;
  2. the manual directory (``tfds build ... --manual_dir DIR`` or ``download_config``), if it holds the files;
  3. the pinned raw files of KohlbacherLab/MultiLoc2 on GitHub (checksums in ``checksums.tsv``).
Local files are checked against the same SHA-256 sums as downloads.

The split (stratified 4/5 train, 1/5 test, 5 stratified folds in train, fixed by the accessions' SHA-256) is
:func:`protloc.data.datasets.multiloc.split_members`; test examples have ``fold == -1``. Sequences are tokenized and
middle-truncated by :mod:`protloc.data.sequences`.

Configs: ``multiloc/sequence`` (the default) holds tokens; ``multiloc/profiles`` adds each residue's 20-column
sequence profile (:mod:`protloc.evidence.profiles`: 3 iterations of an MMseqs2 search, computed once and cached)
against the
database named by the ``PROTLOC_PROFILE_DB`` environment variable (FASTA files, directories of them or an MMseqs2
database; several separated by ``:``), read when the config is built, e.g. ``PROTLOC_PROFILE_DB=/data/uniref50.fasta.gz
tfds build multiloc --imports tfds_multiloc --config profiles``; building it without the variable stops at once,
saying so. ``tfds build multiloc`` builds the default config.
"""
from __future__ import annotations

from os import environ  # only the environment: builders read files through epath

import numpy as np
import tensorflow_datasets.public_api as tfds
from etils import epath

from protloc.data import features, sequences
from protloc.data.datasets import DataNotFoundError
from protloc.data.datasets.multiloc import (CLASS_NAMES, DATA_DIR_VARIABLE, FILE_OF_CLASS, SOURCE_URL, checksums,
                                            local_files, split_members)
from protloc.evidence import profiles
from tfds_multiloc import reachable

_URL_BASE = SOURCE_URL
MAX_LENGTH = sequences.DEFAULT_MAX_LENGTH
PROFILE_DB_VARIABLE = "PROTLOC_PROFILE_DB"
"""Environment variable naming the profile database of the ``profiles`` config (paths separated by ``:``)."""


def _local_files(directory: epath.Path) -> dict[str, epath.Path]:
    """Class -> file in ``directory``, each checked against the pinned SHA-256 sums (those of this folder's
    checksums.tsv, which is :func:`protloc.data.datasets.multiloc.checksums_tsv`)."""
    return local_files(directory, checksums())


def check_source_reachable(url: str = _URL_BASE) -> None:
    """Stops an offline build at once, naming the local alternatives (:mod:`tfds_multiloc.reachable`)."""
    reachable.check_source_reachable(url, (
        f"set {DATA_DIR_VARIABLE} to a directory holding its 11 FASTA files ({', '.join(FILE_OF_CLASS.values())}), or "
        f"put them in the manual directory (`tfds build --manual_dir DIR`, or "
        f"download_config=tfds.download.DownloadConfig(manual_dir=DIR) in Python)"), "MultiLoc")


def _read_records(path: epath.Path) -> list[sequences.ProteinRecord]:
    with path.open() as handle:
        return list(sequences.read_fasta(handle))


SEQUENCE_CONFIG = tfds.core.BuilderConfig(name="sequence", description="tokens of each protein (the default)")
PROFILES_CONFIG = tfds.core.BuilderConfig(name="profiles", description=(
    f"tokens and a 20-column sequence profile per residue, from an MMseqs2 search (3 iterations) against the "
    f"database named by ${PROFILE_DB_VARIABLE}"))


class Builder(tfds.core.GeneratorBasedBuilder):
    """MultiLoc: proteins labelled with one of 11 subcellular compartments."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "Stratified 4/5 train, 1/5 test; 5 stratified folds in train."}
    BUILDER_CONFIGS = [SEQUENCE_CONFIG, PROFILES_CONFIG]
    DEFAULT_BUILDER_CONFIG_NAME = SEQUENCE_CONFIG.name
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    Optional. Place the 11 MultiLoc FASTA files ({', '.join(FILE_OF_CLASS.values())}) in the manual
    directory, or point the {DATA_DIR_VARIABLE} environment variable at their directory. Without either,
    the files are downloaded from {_URL_BASE}.
    """

    def _info(self) -> tfds.core.DatasetInfo:
        profile = {}
        if self.builder_config.name == "profiles":
            profile[features.PROFILE] = tfds.features.Tensor(
                shape=(None, features.PROFILE_WIDTH), dtype=np.float32,
                doc="per residue of `tokens`: amino-acid frequencies (sum 1), protloc.data.sequences.STANDARD_RESIDUES order")
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                **profile,
                "accession": tfds.features.Text(),
                "sequence": tfds.features.Text(doc=f"residues after middle truncation to {MAX_LENGTH}"),
                "length": tfds.features.Scalar(np.int32, doc="original sequence length"),
                "tokens": tfds.features.Tensor(shape=(None,), dtype=np.int32,
                                               doc="protloc.data.sequences tokens of `sequence`"),
                "label": tfds.features.ClassLabel(names=CLASS_NAMES),
                "fold": tfds.features.Scalar(np.int32, doc="cross-validation fold 0-4 (train), -1 (test)"),
            }),
            supervised_keys=("tokens", "label"),
            homepage="https://github.com/KohlbacherLab/MultiLoc2",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        if self.builder_config.name == "profiles" and not environ.get(PROFILE_DB_VARIABLE):
            raise DataNotFoundError(f"the profiles config needs a sequence database: set {PROFILE_DB_VARIABLE} to "
                                    f"FASTA files, directories of them or an MMseqs2 database (':'-separated)")
        files = self._find_files(dl_manager)
        records = {name: _read_records(path) for name, path in files.items()}
        found = self._profiles(records) if self.builder_config.name == "profiles" else None
        return {split: self._generate_examples(records, split, found) for split in ("train", "test")}

    @staticmethod
    def _profiles(records) -> dict[str, np.ndarray]:
        """Residues -> profile (float32 ``(length, 20)``) of every protein, from the database of
        ``PROTLOC_PROFILE_DB``."""
        search = profiles.ProfileSearch(profiles.ProfileDatabase(environ[PROFILE_DB_VARIABLE].split(":")))
        residues = list(dict.fromkeys(record.sequence.rstrip("*").upper() for recs in records.values()
                                      for record in recs))
        return {sequence: found.values for sequence, found in zip(residues, search.profiles(residues))}

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

    def _generate_examples(self, records, split, found=None):
        for name, record, fold, residues in split_members(records, split):
            profile = {} if found is None else {
                features.PROFILE: sequences.truncate_middle(found[residues.upper()], MAX_LENGTH)}
            yield record.id, {
                **profile,
                "accession": record.id,
                "sequence": sequences.truncate_middle(residues, MAX_LENGTH),
                "length": len(residues),
                "tokens": sequences.encode_sequence(residues, MAX_LENGTH, record.id),
                "label": name,
                "fold": fold,
            }
