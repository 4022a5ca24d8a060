"""The MultiLoc data set (5,959 eukaryotic proteins, 11 compartments) as a TFDS builder.

Sources, in order of precedence:
  1. the directory named by the ``PROTLOC_DATA_DIR`` environment variable;
  2. the manual directory (``tfds build ... --manual_dir DIR`` or ``download_config``), if it holds the files;
  3. the pinned raw files of KohlbacherLab/MultiLoc2 on GitHub (checksums in ``checksums.tsv``).
Local files are checked against the same SHA-256 sums as downloads.

Split (deterministic, independent of file order and machine): within each class, proteins are ordered by
``sha256("multiloc-v1:" + accession)``; the first ``round(n / 5)`` form ``test``, the rest ``train``, whose
``fold`` (0-4) is the position in that order modulo 5, so folds are stratified too. Test examples have
``fold == -1``. Sequences are tokenized and middle-truncated by :mod:`protloc.sequences`.
"""
from __future__ import annotations

import hashlib
from os import environ  # only the environment: builders read files through epath

from etils import epath
import numpy as np
import tensorflow_datasets.public_api as tfds

from protloc import sequences
from protloc.classes import CLASS_NAMES


FILE_OF_CLASS = dict(zip(CLASS_NAMES, (
    "ER.fasta", "Golgi.fasta", "chloroplast.fasta", "cytoplasmic.fasta", "extracellular.fasta",
    "lysosomal.fasta", "mitochondrial.fasta", "nuclear.fasta", "peroxisomal.fasta", "plasma_membrane.fasta",
    "vacuolar.fasta")))

_URL_BASE = ("https://raw.githubusercontent.com/KohlbacherLab/MultiLoc2/8c4b6f4cc5f43093787f87a04b6edfc4044e307b/"
             "MultiLoc2/data/datasets/multiloc/")
SPLIT_SALT = "multiloc-v1:"
TEST_FRACTION = 0.2
NUM_FOLDS = 5
MAX_LENGTH = sequences.DEFAULT_MAX_LENGTH
DATA_DIR_VARIABLE = "PROTLOC_DATA_DIR"


def assign_splits(accessions_by_class: dict[str, list[str]]) -> dict[str, tuple[str, int]]:
    """Stratified, seeded train/test split with 5 stratified folds inside train.

    Args:
        accessions_by_class: class name -> accessions of that class (any order).

    Returns:
        accession -> (``"train"`` or ``"test"``, fold 0-4, or -1 for test).

    Raises:
        ValueError: an accession occurs twice (it would otherwise risk landing in both splits).
    """
    assignment: dict[str, tuple[str, int]] = {}
    for accessions in accessions_by_class.values():
        ranked = sorted(accessions, key=lambda a: hashlib.sha256((SPLIT_SALT + a).encode()).hexdigest())
        n_test = int(round(len(ranked) * TEST_FRACTION))
        for position, accession in enumerate(ranked):
            if accession in assignment:
                raise ValueError(f"accession {accession!r} occurs more than once in the data")
            assignment[accession] = ("test", -1) if position < n_test else (
                "train", (position - n_test) % NUM_FOLDS)
    return assignment


def _read_checksums() -> dict[str, str]:
    """File name -> expected SHA-256, from this folder's checksums.tsv."""
    rows = (line.split("\t") for line in (epath.Path(__file__).parent / "checksums.tsv").read_text().splitlines())
    return {row[3]: row[2] for row in rows if len(row) == 4}


def _local_files(directory: epath.Path) -> dict[str, epath.Path]:
    """Class -> file in ``directory``, each checked against checksums.tsv."""
    expected = _read_checksums()
    files = {}
    for name, file_name in FILE_OF_CLASS.items():
        path = directory / file_name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the MultiLoc directory needs all 11 files "
                                    f"({', '.join(FILE_OF_CLASS.values())})")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected[file_name]:
            raise ValueError(f"{path} has SHA-256 {digest}, expected {expected[file_name]}: not the pinned "
                             f"MultiLoc file")
        files[name] = path
    return files


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
        assignment = assign_splits({name: [r.id for r in recs] for name, recs in records.items()})
        return {split: self._generate_examples(records, assignment, split) for split in ("train", "test")}

    def _find_files(self, dl_manager) -> dict[str, epath.Path]:
        if environ.get(DATA_DIR_VARIABLE):
            return _local_files(epath.Path(environ[DATA_DIR_VARIABLE]))
        try:
            return _local_files(dl_manager.manual_dir)
        except (AssertionError, FileNotFoundError):  # no manual directory, or not the MultiLoc files
            pass
        paths = dl_manager.download({name: _URL_BASE + file for name, file in FILE_OF_CLASS.items()})
        return {name: epath.Path(path) for name, path in paths.items()}

    def _generate_examples(self, records, assignment, split):
        for name, recs in records.items():
            for record in recs:
                wanted_split, fold = assignment[record.id]
                if wanted_split != split:
                    continue
                residues = record.sequence.rstrip("*")
                yield record.id, {
                    "accession": record.id,
                    "sequence": sequences.truncate_middle(residues, MAX_LENGTH),
                    "length": len(residues),
                    "tokens": sequences.encode_sequence(residues, MAX_LENGTH, record.id),
                    "label": name,
                    "fold": fold,
                }
