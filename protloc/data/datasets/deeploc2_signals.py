"""DeepLoc 2.0's sorting signals: which of nine targeting signals 1,874 of its proteins carry and, per residue, which
signal each residue belongs to (Thumuluri et al. 2022, the annotations that supervised its attention).

This is the only module that names the signal file. ``signals.csv.gz`` (or ``signals.csv``) lies in the directory
named by ``PROTLOC_DEEPLOC2_SIGNALS_DIR``; its uncompressed content is checked against :data:`PINNED_SHA256`.
Columns ``accession,partition,kingdom,signals,annotation,sequence``: ``signals`` joins the protein's signal types
(:data:`SIGNAL_TYPES`) with ``|`` (empty for none); ``annotation`` holds one digit per residue, an index into
:data:`RESIDUE_CLASSES` (0: no signal), and is empty where the per-residue annotation was lost (129 long proteins:
their types are known, their residues are not).

The proteins are DeepLoc 2.0's own (same accessions, sequences and partitions): :func:`attach` puts each one's
:class:`SignalLabels` on its :class:`~protloc.data.datasets.spec.Example` and checks that the two files agree.
Terms: the annotations derive from UniProtKB/Swiss-Prot (CC BY 4.0) and the DeepLoc 2.0 authors' curation, whose
repository is released under CC BY-NC-ND 2.0.
"""
from __future__ import annotations

import csv
import dataclasses
import functools
import io
import os
import pathlib

import numpy as np

from protloc.data import sequences
from protloc.data.datasets.spec import DataNotFoundError, Example, pinned_content
from protloc.data.features import RESIDUE_SIGNAL_CLASSES, SIGNAL_TYPES

RESIDUE_CLASSES = RESIDUE_SIGNAL_CLASSES
"""A residue's signal: code ``k`` is ``RESIDUE_CLASSES[k]`` (0: in no signal; :data:`SIGNAL_TYPES` after it)."""
UNKNOWN = -1
"""The code of a residue whose signal is not known (a protein without per-residue annotation)."""
DATA_DIR_VARIABLE = "PROTLOC_DEEPLOC2_SIGNALS_DIR"
"""Environment variable naming the directory of ``signals.csv.gz``."""
FILE_NAME = "signals.csv"
PINNED_SHA256 = "ed8484c92dbb7ef5288de1f32ac53314e3af3ace02830b4f5f9b6ccd63e94bdc"
"""SHA-256 of the uncompressed ``signals.csv``."""
COLUMNS = ("accession", "partition", "kingdom", "signals", "annotation", "sequence")
TERMS = ("DeepLoc 2.0's sorting-signal annotations (Thumuluri et al. 2022): from UniProtKB/Swiss-Prot (CC BY 4.0) and "
         "the DeepLoc 2.0 authors' curation, whose repository is released under CC BY-NC-ND 2.0 (non-commercial, no "
         "derivatives); cite DeepLoc 2.0 and UniProt")
"""The terms of the signal data, written into the card of every model trained on it."""


class SignalDataError(ValueError):
    """A signal file that is not the pinned one, a row that cannot be read, or a row that disagrees with the
    DeepLoc 2.0 partitions (file, row and accession named)."""


@dataclasses.dataclass(frozen=True)
class SignalLabels:
    """One protein's sorting signals.

    Attributes:
        types: the signal types it carries, indices into :data:`SIGNAL_TYPES`, ascending.
        residues: int8 ``(length,)`` residue codes (indices into :data:`RESIDUE_CLASSES`), or None where the
            per-residue annotation is not known.
    """

    types: tuple
    residues: np.ndarray | None = None

    def truncated(self, max_length: int) -> "SignalLabels":
        """The labels of the protein cut as :func:`protloc.data.sequences.truncate_middle` cuts it."""
        if self.residues is None:
            return self
        return dataclasses.replace(self, residues=sequences.truncate_middle(self.residues, max_length))

    def multi_hot(self) -> np.ndarray:
        """float32 ``(9,)``: 1 for each type the protein carries."""
        found = np.zeros(len(SIGNAL_TYPES), np.float32)
        found[list(self.types)] = 1.0
        return found


def data_directory() -> pathlib.Path | None:
    """The directory named by ``PROTLOC_DEEPLOC2_SIGNALS_DIR``, or None when it is not set (no signal labels)."""
    value = os.environ.get(DATA_DIR_VARIABLE)
    return pathlib.Path(value) if value else None


def read_signals(directory, expected: str = PINNED_SHA256) -> dict[str, tuple[int, str, SignalLabels]]:
    """Accession -> (partition, sequence, :class:`SignalLabels`) of every protein in ``directory``'s signal file.

    Raises:
        DataNotFoundError: no ``signals.csv.gz`` or ``signals.csv`` there.
        SignalDataError: the content is not the pinned file's (``expected`` SHA-256, uncompressed), or a bad row.
    """
    return dict(_read_signals(str(pathlib.Path(directory).resolve()), expected))


@functools.lru_cache(maxsize=2)
def _read_signals(directory: str, expected: str) -> tuple:
    path = next((pathlib.Path(directory) / name for name in (f"{FILE_NAME}.gz", FILE_NAME)
                 if (pathlib.Path(directory) / name).is_file()), None)
    if path is None:
        raise DataNotFoundError(f"{pathlib.Path(directory) / FILE_NAME}.gz is missing (or {FILE_NAME}): "
                                f"{DATA_DIR_VARIABLE} must name the directory of DeepLoc 2.0's signal file")
    data = pinned_content(path, expected, "DeepLoc 2.0 signal file", SignalDataError)
    return tuple(parse_rows(data.decode("utf-8"), str(path)).items())


def parse_rows(text: str, source: str) -> dict[str, tuple[int, str, SignalLabels]]:
    """The rows of a signal file's text, by accession (see :func:`read_signals`).

    Raises:
        SignalDataError: a bad header or row, naming ``source``, the row number (1 = the header), the accession and
            the problem.
    """
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if tuple(header or ()) != COLUMNS:
        raise SignalDataError(f"{source}: the header must be {','.join(COLUMNS)}, got {','.join(header or [])!r}")
    found = {}
    for number, row in enumerate(reader, 2):
        accession = row[0] if row else ""

        def fail(problem: str):
            raise SignalDataError(f"{source}, row {number} ({sequences.printable(accession)}): {problem}")

        if len(row) != len(COLUMNS):
            fail(f"{len(row)} columns, expected {len(COLUMNS)}")
        _, partition, _, names, annotation, residues = row
        if not accession or accession in found:
            fail("no accession" if not accession else "the accession is in an earlier row too")
        if not partition.isdigit():
            fail(f"partition must be a number, got {partition!r}")
        unknown = [name for name in names.split("|") if name and name not in SIGNAL_TYPES]
        if unknown:
            fail(f"unknown signal type {unknown[0]!r} (known: {', '.join(SIGNAL_TYPES)})")
        types = tuple(sorted({SIGNAL_TYPES.index(name) for name in names.split("|") if name}))
        codes = None
        if annotation:
            if len(annotation) != len(residues):
                fail(f"the annotation has {len(annotation)} codes for {len(residues)} residues")
            if not annotation.isdigit():
                fail("the annotation must be digits 0-9, one per residue")
            codes = np.frombuffer(annotation.encode("ascii"), np.uint8).astype(np.int8) - ord("0")
            marked = {int(code) - 1 for code in np.unique(codes) if code}
            if not marked <= set(types):
                fail(f"residues are marked {', '.join(SIGNAL_TYPES[t] for t in sorted(marked - set(types)))}, "
                     f"which the signals column does not list")
        found[accession] = (int(partition), residues, SignalLabels(types, codes))
    return found


def attach(examples: list[Example], signals: dict) -> list[Example]:
    """``examples`` (DeepLoc 2.0's, in order) with the signal labels of those in ``signals`` (from
    :func:`read_signals`); the others keep ``signals`` None (unlabelled for signals).

    Raises:
        SignalDataError: a protein of the signal file that is not among the examples, or whose partition or sequence
            differs from the example's.
    """
    by_id = {example.id: example for example in examples}
    for accession, (partition, residues, _) in signals.items():
        example = by_id.get(accession)
        if example is None:
            raise SignalDataError(f"signal file: {accession} is not a DeepLoc 2.0 protein")
        differs = "partition" if example.fold != partition else "sequence"
        if example.fold != partition or example.sequence != residues.rstrip("*").upper():
            raise SignalDataError(f"signal file: {accession} has another {differs} than in the DeepLoc 2.0 partitions")
    return [dataclasses.replace(example, signals=signals[example.id][2]) if example.id in signals else example
            for example in examples]
