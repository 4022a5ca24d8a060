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

from protloc.data import sequences
from protloc.data.datasets.spec import TEST_FOLD, DataNotFoundError, DatasetSpec, Example

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
SOURCE_URL = ("https://raw.githubusercontent.com/KohlbacherLab/MultiLoc2/8c4b6f4cc5f43093787f87a04b6edfc4044e307b/"
              "MultiLoc2/data/datasets/multiloc/")
"""Where the pinned files are published (KohlbacherLab/MultiLoc2 at a fixed commit); file URLs are this + name."""
PINNED_FILES = {
    "ER.fasta": (100953, "fc18cb9acaee46bd7706c4c2e613a43486f1450b3c3e94b265e8b84f2cedee06"),
    "Golgi.fasta": (72171, "b2212ab516c14b31b73ed2142048b749c404aa6236b1bfd4dae6a0d4163f3287"),
    "chloroplast.fasta": (168304, "7d5cd40b494e764549afdb438fd706bc9f21c7c2571b6785569dba9c19b8ce02"),
    "cytoplasmic.fasta": (754700, "e5ea8fd4d23ed283c29bbb42a187011955be58b0ffe7b4c9fbf7bb8650e890d3"),
    "extracellular.fasta": (260666, "3206687b2765d3f520b09cea72e7d29f885aea86ccd51960a38a3c07922ba750"),
    "lysosomal.fasta": (51123, "8e47090270ae7d109f624e0f4b62ac58d2b24ccc941dab2bbf83fccba0978cb6"),
    "mitochondrial.fasta": (205184, "b2eb51a178e4eff310443ec2ab7ec3a8ff911e6479a667cb753c2708c0934f93"),
    "nuclear.fasta": (441745, "b35316170d1afe7977d11cc79c5c911f465e1edd87be3b03623fdc5c9e2903bd"),
    "peroxisomal.fasta": (76217, "502deef9860319d1ccbde1fc13d7c46cd36aa414a06737947f2d4d428b8fc818"),
    "plasma_membrane.fasta": (893714, "bf60ba8b52831ebf8367124ec871373632b889fb381e7190021ec70fb4a707b5"),
    "vacuolar.fasta": (29450, "3ccb4e2de4d726dff53e693dd4cd1123cd774867cfd2647845afd5e5b467ce26"),
}
"""File name -> (size in bytes, SHA-256) of the pinned MultiLoc files; the TFDS builder's checksums.tsv is
:func:`checksums_tsv`."""


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


def checksums() -> dict[str, str]:
    """File name -> expected SHA-256 of the pinned files."""
    return {name: digest for name, (_, digest) in PINNED_FILES.items()}


def checksums_tsv() -> str:
    """The pinned files in the form of a TFDS ``checksums.tsv`` (url, size, SHA-256, file name per line)."""
    return "".join(f"{SOURCE_URL}{name}\t{size}\t{digest}\t{name}\n" for name, (size, digest) in PINNED_FILES.items())


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
        records_by_class: class name -> its :class:`protloc.data.sequences.ProteinRecord` list.
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
    paths = local_files(pathlib.Path(directory), checksums())
    records = {name: list(sequences.read_fasta(path)) for name, path in paths.items()}
    return tuple(
        Example(record.id, {"tokens": sequences.encode_sequence(residues, record_id=record.id)},
                CLASS_NAMES.index(name), fold, residues)
        for name, record, fold, residues in split_members(records, split))


SPEC = DatasetSpec("multiloc", CLASS_NAMES, NUM_FOLDS, read_examples,
                   "MultiLoc: 5,959 eukaryotic proteins in 11 compartments (4/5 train in 5 folds, 1/5 test)",
                   terms="The MultiLoc data set (Höglund et al., Bioinformatics 2006), as published in "
                         "KohlbacherLab/MultiLoc2 (no licence stated there); Swiss-Prot proteins; cite Höglund et al. "
                         "2006")
