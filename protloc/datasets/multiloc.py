"""The MultiLoc data set (Höglund et al. 2006; 5,959 eukaryotic proteins, 11 compartments): files, split, reader.

This is the only module that names MultiLoc's files and classes. The TFDS builder (:mod:`tfds_multiloc`) imports
its split and file checks from here, so a model sees the same proteins whichever way it reads them.

Split (deterministic, independent of file order and machine): within each class, proteins are ordered by
``sha256("multiloc-v1:" + accession)``; the first ``round(n / 5)`` form ``test``, the rest ``train``, whose
fold (0-4) is the position in that order modulo 5, so folds are stratified too; test proteins have fold -1.
"""
from __future__ import annotations

import functools
import hashlib
import os
import pathlib

from protloc import sequences
from protloc.datasets.spec import TEST_FOLD, DataNotFoundError, DatasetSpec, Example

CLASS_NAMES = ("er", "golgi", "chloroplast", "cytoplasm", "extracellular", "lysosome", "mitochondrion",
               "nucleus", "peroxisome", "plasma_membrane", "vacuole")
"""The 11 compartments, in label order (the TFDS ClassLabel's order too)."""
FILE_OF_CLASS = dict(zip(CLASS_NAMES, (
    "ER.fasta", "Golgi.fasta", "chloroplast.fasta", "cytoplasmic.fasta", "extracellular.fasta",
    "lysosomal.fasta", "mitochondrial.fasta", "nuclear.fasta", "peroxisomal.fasta", "plasma_membrane.fasta",
    "vacuolar.fasta")))
SPLIT_SALT = "multiloc-v1:"
TEST_FRACTION = 0.2
NUM_FOLDS = 5
DATA_DIR_VARIABLE = "PROTLOC_DATA_DIR"
"""Environment variable naming the directory of the 11 FASTA files."""
CHECKSUMS = pathlib.Path(__file__).resolve().parents[2] / "tfds_multiloc" / "multiloc" / "checksums.tsv"
"""The pinned files' SHA-256 sums (the TFDS builder's checksums.tsv, read as data)."""


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
            assignment[accession] = ("test", TEST_FOLD) if position < n_test else (
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
        DataNotFoundError: a file is missing (named).
        ValueError: a file is not the pinned one (its SHA-256 differs).
    """
    found = {}
    for name, file_name in FILE_OF_CLASS.items():
        path = directory / file_name
        if not path.exists():
            raise DataNotFoundError(f"{path} is missing: the MultiLoc directory needs all 11 files "
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
        DataNotFoundError: the variable is not set.
    """
    if not os.environ.get(DATA_DIR_VARIABLE):
        raise DataNotFoundError(
            f"MultiLoc's files were not given: set {DATA_DIR_VARIABLE} (or pass --data-dir) to the directory of "
            f"its 11 FASTA files ({', '.join(FILE_OF_CLASS.values())}); `tfds build` downloads them for TFDS")
    return pathlib.Path(os.environ[DATA_DIR_VARIABLE])


def split_members(records_by_class: dict[str, list], split: str):
    """The proteins of one split, class by class in file order, as the TFDS builder and :func:`read_examples` take
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


def read_examples(split: str, directory=None) -> list[Example]:
    """The examples of a split read from the FASTA files, in file order (class by class).

    Args:
        split: "train" or "test".
        directory: the FASTA files' directory (default: :func:`data_directory`).

    Returns:
        examples whose ``features`` hold ``"tokens"``: int32 ``(min(length, 1000),)``, middle-truncated as in
        the TFDS builder; ``sequence`` is the whole sequence.
    """
    return list(_read_examples(split, str(pathlib.Path(directory or data_directory()).resolve())))


@functools.lru_cache(maxsize=4)
def _read_examples(split: str, directory: str) -> tuple[Example, ...]:
    """Cached per directory: training reads the same split for every fold and epoch."""
    paths = local_files(pathlib.Path(directory), read_checksums())
    records = {name: list(sequences.read_fasta(path)) for name, path in paths.items()}
    return tuple(
        Example(record.id, {"tokens": sequences.encode_sequence(residues, record_id=record.id)},
                CLASS_NAMES.index(name), fold, residues)
        for name, record, fold, residues in split_members(records, split))


SPEC = DatasetSpec("multiloc", CLASS_NAMES, NUM_FOLDS, read_examples,
                   "MultiLoc: 5,959 eukaryotic proteins in 11 compartments (4/5 train in 5 folds, 1/5 test)")
