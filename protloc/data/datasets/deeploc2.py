"""The DeepLoc 2.0 data set (Thumuluri et al. 2022): 28,303 Swiss-Prot proteins in one or more of 10 locations, with
a membrane-association flag and a kingdom, in five homology partitions (at most 30% identity between partitions).

This is the only module that names DeepLoc 2.0's files and locations. Its protocol is cross-validation over the
partitions (train on four, score on the fifth): the data set has a ``train`` split only, whose folds are the
partitions; ``protloc train --fold K`` holds partition K out.

Files: ``partition0.csv`` .. ``partition4.csv`` (or the same gzipped, ``.csv.gz``) in the directory named by
``PROTLOC_DEEPLOC2_DIR`` (or ``--data-dir``), each checked against the SHA-256 of its uncompressed content
(:data:`PINNED_FILES`: the files ``cv_splits_deeploc/Outer_Fold_{1..5}/Inner_Fold_1/valid_manifest.csv`` of the
public repository bivekpok/esm_deeploc at a fixed commit, Outer_Fold_k holding partition k-1). Columns
``accession,sequence,label,partition,kingdom,membrane``; ``label`` joins DeepLoc 2.0's location names with ``|``.
Where ``PROTLOC_DEEPLOC2_SIGNALS_DIR`` names the directory of DeepLoc 2.0's sorting-signal file, the 1,874 proteins
it annotates carry their signals (:mod:`protloc.data.datasets.deeploc2_signals`); the others have none.

Locations (DeepLoc 2.0's name -> protloc's class name, in label order): Cytoplasm -> cytoplasm, Nucleus ->
nucleus, Extracellular -> extracellular, Cell membrane -> plasma_membrane, Mitochondrion -> mitochondrion, Plastid
-> plastid, Endoplasmic reticulum -> er, Lysosome/Vacuole -> lysosome_vacuole, Golgi apparatus -> golgi,
Peroxisome -> peroxisome.
"""
from __future__ import annotations

import csv
import functools
import io
import os
import pathlib

from protloc.data import features, sequences
from protloc.data.datasets import deeploc2_signals
from protloc.data.datasets.spec import MULTI_LABEL, DataNotFoundError, DatasetSpec, Example, pinned_content

LOCATIONS = {"Cytoplasm": "cytoplasm", "Nucleus": "nucleus", "Extracellular": "extracellular",
             "Cell membrane": "plasma_membrane", "Mitochondrion": "mitochondrion", "Plastid": "plastid",
             "Endoplasmic reticulum": "er", "Lysosome/Vacuole": "lysosome_vacuole", "Golgi apparatus": "golgi",
             "Peroxisome": "peroxisome"}
"""DeepLoc 2.0's location name -> protloc's class name, in label order."""
CLASS_NAMES = tuple(LOCATIONS.values())
KINGDOMS = features.KINGDOMS
NUM_PARTITIONS = 5
DATA_DIR_VARIABLE = "PROTLOC_DEEPLOC2_DIR"
"""Environment variable naming the directory of the five partition files."""
SOURCE_COMMIT = "02c829f1d1339767e21336dc44d5e76cc19ecc47"
SOURCE_URL = (f"https://raw.githubusercontent.com/bivekpok/esm_deeploc/{SOURCE_COMMIT}/cv_splits_deeploc/"
              "Outer_Fold_{fold}/Inner_Fold_1/valid_manifest.csv")
"""Where partition k is published: this with ``fold = k + 1``."""
PINNED_FILES = {
    "partition0.csv": (3567190, "d1c228a9629393fa58e49d78a194f0d09ab28b8960e733f4f80e0836f5eac00b"),
    "partition1.csv": (3318782, "2124229774e3f428e54aeaef3daac1185ea829d824be78728786a6859e439f66"),
    "partition2.csv": (3360890, "13ab31712687950e6eedbffc28a2374f35919480a20996837571ece03fe739e9"),
    "partition3.csv": (3338485, "f9bd455a8e6f25af58bbab054d9e27e8077c2b0ff003057d89d3176c6112295f"),
    "partition4.csv": (3243027, "c16c3648b27e9de835b81b68dcf7cda685c532d7286d07d9bec7c1c48183fa3b"),
}
"""Partition file name -> (size in bytes, SHA-256) of its uncompressed content."""


def checksums() -> dict[str, str]:
    """Partition file name -> SHA-256 of its uncompressed content."""
    return {name: digest for name, (_, digest) in PINNED_FILES.items()}


def checksums_tsv() -> str:
    """The pinned files in the form of a TFDS ``checksums.tsv`` (url, size, SHA-256, file name per line)."""
    return "".join(f"{SOURCE_URL.format(fold=k + 1)}\t{size}\t{digest}\tvalid_manifest.csv\n"
                   for k, (size, digest) in enumerate(PINNED_FILES.values()))
COLUMNS = ("accession", "sequence", "label", "partition", "kingdom", "membrane")


class DataError(ValueError):
    """A partition file that is not the pinned one, or a row that cannot be read (file, row, accession named)."""


def data_directory() -> pathlib.Path:
    """The directory named by ``PROTLOC_DEEPLOC2_DIR``.

    Raises:
        DataNotFoundError: the variable is not set.
    """
    if not os.environ.get(DATA_DIR_VARIABLE):
        raise DataNotFoundError(f"DeepLoc 2.0's files were not given: set {DATA_DIR_VARIABLE} (or pass --data-dir) to "
                                f"the directory of partition0.csv .. partition4.csv (or .csv.gz); `tfds build "
                                f"deeploc2` downloads them for TFDS")
    return pathlib.Path(os.environ[DATA_DIR_VARIABLE])


def partition_text(directory, partition: int, expected: dict | None = None) -> tuple[pathlib.Path, str]:
    """The path and decoded content of partition ``partition``'s file in ``directory`` (``.csv`` or ``.csv.gz``),
    checked against ``expected`` (file name -> SHA-256 of the uncompressed content; default :func:`checksums`).

    Raises:
        DataNotFoundError: neither file is there.
        DataError: the content is not the pinned file's, or not readable.
    """
    name = f"partition{partition}.csv"
    for path in (pathlib.Path(directory) / name, pathlib.Path(directory) / f"{name}.gz"):
        if path.is_file():
            break
    else:
        raise DataNotFoundError(f"{pathlib.Path(directory) / name} is missing (or {name}.gz): the DeepLoc 2.0 directory "
                                f"needs partition0.csv .. partition{NUM_PARTITIONS - 1}.csv")
    expected = expected or checksums()
    data = pinned_content(path, expected[name], f"DeepLoc 2.0 partition {partition}", DataError)
    return path, data.decode("utf-8")


def parse_rows(text: str, partition: int, source: str) -> list[Example]:
    """The examples of one partition file's text (header ``accession,sequence,label,partition,kingdom,membrane``).

    Raises:
        DataError: a bad header or row, naming ``source``, the row number (1 = the header), the accession and the
            problem.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if tuple(header or ()) != COLUMNS:
        raise DataError(f"{source}: the header must be {','.join(COLUMNS)}, got {','.join(header or [])!r}")
    found = []
    for number, row in enumerate(reader, 2):
        accession = row[0] if row else ""

        def fail(problem: str):
            raise DataError(f"{source}, row {number} ({sequences.printable(accession)}): {problem}")

        if len(row) != len(COLUMNS):
            fail(f"{len(row)} columns, expected {len(COLUMNS)}")
        _, residues, label, row_partition, kingdom, membrane = row
        if not accession:
            fail("no accession")
        names = label.split("|")
        unknown = [name for name in names if name not in LOCATIONS]
        if unknown or not names:
            fail(f"unknown location {unknown[0] if unknown else label!r} (known: {', '.join(LOCATIONS)})")
        if row_partition != str(partition):
            fail(f"partition {row_partition!r} in the file of partition {partition}")
        if kingdom not in KINGDOMS:
            fail(f"unknown kingdom {kingdom!r} (known: {', '.join(KINGDOMS)})")
        if membrane not in ("0.0", "1.0"):
            fail(f"membrane must be 0.0 or 1.0, got {membrane!r}")
        try:
            tokens = sequences.encode_sequence(residues, record_id=accession, source=source)
        except sequences.SequenceError as error:
            fail(error.problem + (f" at position {error.position}" if error.position else ""))
        labels = tuple(sorted({CLASS_NAMES.index(LOCATIONS[name]) for name in names}))
        found.append(Example(accession, {"tokens": tokens}, labels, partition, residues.rstrip("*").upper(),
                             float(membrane), kingdom))
    return found


def read_examples(split: str, directory=None) -> list[Example]:
    """Every protein of the five partitions (the ``train`` split, fold = partition), in file order.

    With ``PROTLOC_DEEPLOC2_SIGNALS_DIR`` set, the proteins of its signal file carry their signals.

    Raises:
        DataNotFoundError, DataError: see :func:`partition_text` and :func:`parse_rows`; an accession in two
            partitions is a DataError too.
        protloc.data.datasets.deeploc2_signals.SignalDataError: a signal file that is not the pinned one or
            disagrees with the partitions.
    """
    signals = deeploc2_signals.data_directory()
    return list(_read_examples(str(pathlib.Path(directory or data_directory()).resolve()),
                               str(signals.resolve()) if signals else None))


@functools.lru_cache(maxsize=2)
def _read_examples(directory: str, signals_directory: str | None = None) -> tuple[Example, ...]:
    found, seen = [], {}
    for partition in range(NUM_PARTITIONS):
        path, text = partition_text(directory, partition)
        for example in parse_rows(text, partition, str(path)):
            if example.id in seen:
                raise DataError(f"{path}: accession {example.id!r} is in partition {seen[example.id]} too")
            seen[example.id] = partition
            found.append(example)
    if signals_directory is not None:
        found = deeploc2_signals.attach(found, deeploc2_signals.read_signals(signals_directory))
    return tuple(found)


SPEC = DatasetSpec("deeploc2", CLASS_NAMES, NUM_PARTITIONS, read_examples,
                   "DeepLoc 2.0: 28,303 Swiss-Prot proteins in one or more of 10 locations, membrane flag, 5 homology "
                   "partitions (cross-validation)", label_scheme=MULTI_LABEL, splits=("train",), membrane=True,
                   terms="DeepLoc 2.0's data (Thumuluri et al., Nucleic Acids Research 2022; partitions as published in "
                         "bivekpok/esm_deeploc): annotations from UniProtKB/Swiss-Prot, CC BY 4.0; cite DeepLoc 2.0 and "
                         "UniProt")
