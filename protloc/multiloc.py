"""The MultiLoc data set without TensorFlow: its files, its fixed train/test split and folds, and batches of a split.

The TFDS builder (:mod:`tfds_multiloc`) uses the same files and split, so a model sees the same proteins
whichever way it reads them. Batches come from TFDS through tf.data on Keras's TensorFlow backend, and straight
from the FASTA files as NumPy arrays (:mod:`protloc.batching`) on the other backends (JAX, PyTorch), so that
training also runs on a machine without TensorFlow.

Split (deterministic, independent of file order and machine): within each class, proteins are ordered by
``sha256("multiloc-v1:" + accession)``; the first ``round(n / 5)`` form ``test``, the rest ``train``, whose
fold (0-4) is the position in that order modulo 5, so folds are stratified too; test proteins have fold -1.
"""
from __future__ import annotations

import hashlib
import os
import pathlib

from protloc import sequences
from protloc.classes import CLASS_NAMES

FILE_OF_CLASS = dict(zip(CLASS_NAMES, (
    "ER.fasta", "Golgi.fasta", "chloroplast.fasta", "cytoplasmic.fasta", "extracellular.fasta",
    "lysosomal.fasta", "mitochondrial.fasta", "nuclear.fasta", "peroxisomal.fasta", "plasma_membrane.fasta",
    "vacuolar.fasta")))
SPLIT_SALT = "multiloc-v1:"
TEST_FRACTION = 0.2
NUM_FOLDS = 5
DATA_DIR_VARIABLE = "PROTLOC_DATA_DIR"
"""Environment variable naming the directory of the 11 FASTA files."""
CHECKSUMS = pathlib.Path(__file__).resolve().parent.parent / "tfds_multiloc" / "multiloc" / "checksums.tsv"
"""The pinned files' SHA-256 sums (the TFDS builder's checksums.tsv)."""


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


def read_checksums(path=CHECKSUMS) -> dict[str, str]:
    """File name -> expected SHA-256, from a TFDS checksums.tsv (url, size, sha256, file name per line)."""
    rows = (line.split("\t") for line in pathlib.Path(path).read_text().splitlines())
    return {row[3]: row[2] for row in rows if len(row) == 4}


def local_files(directory, expected: dict[str, str]) -> dict:
    """Class -> file in ``directory`` (a ``pathlib`` or ``etils.epath`` path), each checked against ``expected``
    (file name -> SHA-256).

    Raises:
        FileNotFoundError: a file is missing (named).
        ValueError: a file is not the pinned one (its SHA-256 differs).
    """
    found = {}
    for name, file_name in FILE_OF_CLASS.items():
        path = directory / file_name
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing: the MultiLoc directory needs all 11 files "
                                    f"({', '.join(FILE_OF_CLASS.values())})")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != expected[file_name]:
            raise ValueError(f"{path} has SHA-256 {digest}, expected {expected[file_name]}: not the pinned "
                             f"MultiLoc file")
        found[name] = path
    return found


def data_directory() -> pathlib.Path:
    """The directory named by ``PROTLOC_DATA_DIR``.

    Raises:
        RuntimeError: the variable is not set.
    """
    if not os.environ.get(DATA_DIR_VARIABLE):
        raise RuntimeError(f"set {DATA_DIR_VARIABLE} to the directory of the 11 MultiLoc FASTA files "
                           f"({', '.join(FILE_OF_CLASS.values())})")
    return pathlib.Path(os.environ[DATA_DIR_VARIABLE])


def read_split(split: str, folds=None, directory=None) -> tuple[list, list[int]]:
    """Tokens and labels of a split, read from the FASTA files, in file order (class by class).

    Args:
        split: "train" or "test".
        folds: keep only these training folds; None keeps all.
        directory: the FASTA files' directory (default: :func:`data_directory`).

    Returns:
        ``(tokens, labels)``: int32 arrays of shape ``(min(length, 1000),)``, middle-truncated as in the TFDS
        builder, and class indices.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    paths = local_files(pathlib.Path(directory or data_directory()), read_checksums())
    records = {name: list(sequences.read_fasta(path)) for name, path in paths.items()}
    wanted = None if folds is None else {int(fold) for fold in folds}
    tokens, labels = [], []
    for name, record, fold, residues in split_members(records, split):
        if wanted is None or fold in wanted:
            tokens.append(sequences.encode_sequence(residues, record_id=record.id))
            labels.append(CLASS_NAMES.index(name))
    return tokens, labels


def split_members(records_by_class: dict[str, list], split: str):
    """The proteins of one split, class by class in file order, as the TFDS builder and :func:`read_split` take
    them.

    Args:
        records_by_class: class name -> its :class:`protloc.sequences.ProteinRecord` list.
        split: "train" or "test".

    Yields:
        ``(class name, record, fold, residues)``: fold 0-4 (train) or -1 (test); residues without a trailing
        stop ``*``.
    """
    assignment = assign_splits({name: [record.id for record in recs] for name, recs in records_by_class.items()})
    for name, recs in records_by_class.items():
        for record in recs:
            record_split, fold = assignment[record.id]
            if record_split == split:
                yield name, record, fold, record.sequence.rstrip("*")


def batches(split: str, folds=None, batch_size: int | None = None, shuffle_seed: int | None = None, data_dir=None):
    """Length-bucketed batches ``(tokens int32 (batch, length), labels int32 (batch,))`` of a split, for
    ``model.fit``, ``evaluate`` and :func:`protloc.evaluation.predict_probabilities`.

    On Keras's TensorFlow backend: a tf.data pipeline over the TFDS ``multiloc`` data set (built in the TFDS
    ``data_dir`` if missing). On other backends: :class:`protloc.batching.BucketedBatches` over the FASTA files
    of ``PROTLOC_DATA_DIR``.

    Args:
        split, folds: as in :func:`read_split`.
        batch_size: proteins per batch (default: ``protloc.batching.DEFAULT_BATCH_SIZE``).
        shuffle_seed: reshuffle every epoch with this seed; None keeps a fixed order.
        data_dir: TFDS data directory (TensorFlow backend only).
    """
    import keras

    from protloc import batching  # imports Keras: kept out of the TFDS builder's imports

    batch_size = batch_size or batching.DEFAULT_BATCH_SIZE
    if keras.backend.backend() == "tensorflow":
        from protloc import data

        return data.batch(data.load_multiloc(split, data_dir, folds), batch_size, shuffle_seed=shuffle_seed)
    tokens, labels = read_split(split, folds)
    return batching.BucketedBatches(tokens, labels, batch_size, shuffle_seed)
