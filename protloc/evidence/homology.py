"""Homology evidence: MMseqs2 searches of proteins against a labelled reference set, and the class evidence of
their hits (:class:`protloc.evidence.class_evidence.ClassEvidence`).

MMseqs2 runs through :mod:`protloc.evidence.mmseqs`; a missing binary, a failing run or unreadable output is a
:class:`HomologyError` naming what failed.

A reference set is a labelled FASTA file: ``>ID CLASS [anything]``, the class one of the model's class names, as the
second word of the header, or several joined with ``|`` (``>ID cytoplasm|nucleus``) for a multi-label model (gzipped
files are read too). The MMseqs2 database of a reference set is built on first
use in a cache directory (``PROTLOC_CACHE_DIR``, default ``~/.cache/protloc``), named by the SHA-256 of the set (with
a precomputed k-mer index for a large set: :data:`INDEX_MIN_PROTEINS`), and written atomically (built beside, then
renamed), so concurrent or interrupted runs never see half a database; one
that cannot be read is rebuilt once (:func:`protloc.evidence.mmseqs.healing`).

Searches: ``mmseqs easy-search`` with sensitivity ``-s 4``, E-value cut-off 1e-3 and 20 prefilter candidates
per query; the ``max_hits`` best hits of each query (by bit score) are kept. Class evidence (:func:`class_evidence`):
for each class, the highest identity and the highest bit score (over the best hit's) among the hits of that class.
"""
from __future__ import annotations

import dataclasses
import gzip
import hashlib
import lzma
import pathlib
import tempfile
from typing import Iterable, Sequence

import numpy as np

from protloc.data import sequences
from protloc.evidence import mmseqs
from protloc.evidence.class_evidence import ClassEvidence
from protloc.utils import files, runtime

DEFAULT_SENSITIVITY = 4.0
DEFAULT_EVALUE = 1e-3
DEFAULT_MAX_HITS = 10
INDEX_MIN_PROTEINS = 2000
"""A reference set of at least this many proteins gets a precomputed MMseqs2 k-mer index in its cached database
(``mmseqs createindex``, once: some 0.9 GB on disk and a few seconds): every later search then skips building that
index, which costs a search 2 s (MultiLoc's 4,766 proteins) to 4 s (DeepLoc 2.0's 28,303) on 2 CPU cores, whatever
the number of queries. Smaller sets (a toy reference) are searched without one."""
DEFAULT_PREFILTER_HITS = 20
"""MMseqs2 ``--max-seqs``: candidates per query that pass the k-mer prefilter to alignment (MMseqs2's own default
is 300; 20 is enough for the 10 best hits kept, and faster)."""
_COLUMNS = "query,target,fident,evalue,bits,qcov,tcov"


class HomologyError(RuntimeError):
    """The homology search failed: MMseqs2 is missing, failed, or wrote output that cannot be read; the message
    says which and why."""


@dataclasses.dataclass(frozen=True)
class Hit:
    """One reference protein found for a query.

    Attributes:
        accession: the reference protein's identifier.
        labels: its class indices (one for a single-label reference).
        identity: fraction of identical aligned residues, 0-1.
        evalue: E-value of the alignment.
        bits: bit score.
        query_coverage, target_coverage: fraction of the query / reference covered by the alignment, 0-1.
    """

    accession: str
    labels: tuple
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
        sequences: whole amino-acid sequences (validated by :func:`protloc.data.sequences.tokenize`).
        labels: class indices of each protein, a tuple each (one index for a single-label set).
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
        """The set as labelled FASTA: ``>ID CLASS[|CLASS...]`` then the sequence, one line each."""
        return "".join(f">{i} {'|'.join(self.class_names[label] for label in labels)}\n{seq}\n"
                       for i, seq, labels in zip(self.ids, self.sequences, self.labels))

    def write(self, path) -> None:
        """Writes the set as labelled FASTA (gzipped when ``path`` ends in ``.gz``, xz-compressed, about a sixth
        smaller, in ``.xz``), atomically."""
        data = self.fasta_text().encode()
        if str(path).endswith(".gz"):
            data = gzip.compress(data, mtime=0)
        elif str(path).endswith(".xz"):
            data = lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
        with files.atomic_path(path) as temporary:
            temporary.write_bytes(data)

    @classmethod
    def from_examples(cls, examples: Iterable, class_names) -> "ReferenceSet":
        """A set from :class:`protloc.data.datasets.Example` s that carry their whole ``sequence`` (``label`` a class
        index, or a tuple of them)."""
        examples = list(examples)
        missing = [e.id for e in examples if not e.sequence]
        if missing:
            raise ValueError(f"examples without their sequence cannot be a reference set (e.g. {missing[0]!r})")
        return cls._checked([e.id for e in examples], [e.sequence for e in examples], [e.label for e in examples],
                            class_names, "examples")

    @classmethod
    def read(cls, path, class_names, cache_dir=None) -> "ReferenceSet":
        """Reads a labelled FASTA file (plain, gzipped or xz-compressed).

        A file is parsed and checked once: the set is then kept in the cache directory (``cache_dir``, default
        :func:`protloc.utils.runtime.cache_directory`) under the SHA-256 of the file's bytes and the class names, as
        arrays that load in milliseconds (a 28,303-protein xz file takes some 2 s to decompress, parse and check
        on 2 CPU cores: most of a small prediction's start-up). A damaged cache file is parsed again and rewritten.

        Raises:
            protloc.data.sequences.SequenceError: the file is empty or not FASTA, a header has no class or an unknown
                one, an identifier repeats, or a sequence is invalid; the message names the file and the record.
            FileNotFoundError: no file at ``path``.
        """
        path = pathlib.Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no reference file at {path}")
        names = tuple(class_names)
        key = hashlib.sha256(path.read_bytes() + "\n".join(names).encode()).hexdigest()[:32]
        cached = pathlib.Path(cache_dir or runtime.cache_directory()) / "references" / f"{key}.npz"
        found = cls._from_arrays(files.read_arrays(cached), names)
        if found is not None:
            return found
        found = cls._parsed(path, names)
        try:
            found._save_arrays(cached)
        except OSError:  # a cache that cannot be written: parsed again next time
            pass
        return found

    @classmethod
    def _parsed(cls, path: pathlib.Path, names: tuple) -> "ReferenceSet":
        ids, seqs, labels = [], [], []
        for record in sequences.read_fasta(path, validate=True):
            words = record.description.split()
            found = words[1].split("|") if len(words) > 1 else []
            if not found or any(name not in names for name in found):
                raise sequences.SequenceError(
                    f"the second word of the header must be a class name ({', '.join(names)}), or several joined "
                    f"with '|'; found {sequences.printable(words[1]) if len(words) > 1 else 'none'}",
                    str(path), record.id)
            ids.append(record.id)
            seqs.append(record.sequence.rstrip("*"))
            labels.append(tuple(names.index(name) for name in found))
        return cls._checked(ids, seqs, labels, names, str(path))

    def _save_arrays(self, path: pathlib.Path) -> None:
        """The set as arrays in an ``.npz`` file: identifiers and sequences each joined into one ASCII byte string
        with their ends, labels flattened with theirs."""
        files.write_arrays(path, ids=np.frombuffer("".join(self.ids).encode(), np.uint8),
                           id_ends=np.cumsum([len(i) for i in self.ids]),
                           sequences=np.frombuffer("".join(self.sequences).encode(), np.uint8),
                           sequence_ends=np.cumsum([len(s) for s in self.sequences]),
                           labels=np.array([c for label in self.labels for c in label], np.int64),
                           label_ends=np.cumsum([len(label) for label in self.labels]))

    @classmethod
    def _from_arrays(cls, arrays: dict | None, names: tuple) -> "ReferenceSet | None":
        """The set :meth:`_save_arrays` wrote (checked when it was parsed), or None for no arrays or arrays that do
        not hold one."""
        def split(joined, ends) -> list:
            starts = np.concatenate([[0], ends[:-1]])
            return [joined[start:end] for start, end in zip(starts.tolist(), ends.tolist())]

        keys = {"ids", "id_ends", "sequences", "sequence_ends", "labels", "label_ends"}
        if arrays is None or not keys <= arrays.keys() or not arrays["ids"].size:
            return None
        try:
            ids = split(arrays["ids"].tobytes().decode(), arrays["id_ends"])
            seqs = split(arrays["sequences"].tobytes().decode(), arrays["sequence_ends"])
        except UnicodeDecodeError:
            return None
        labels = [tuple(label) for label in split(arrays["labels"].tolist(), arrays["label_ends"])]
        whole = arrays["sequence_ends"][-1] == arrays["sequences"].size and arrays["id_ends"][-1] == arrays["ids"].size
        if not whole or not len(ids) == len(seqs) == len(labels) or any(
                not 0 <= c < len(names) for label in labels for c in label):
            return None
        return cls(tuple(ids), tuple(seqs), tuple(labels), names)

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
        labels = tuple(tuple(int(i) for i in ((label,) if np.ndim(label) == 0 else label)) for label in labels)
        return cls(tuple(ids), tuple(seqs), labels, tuple(class_names))


class HomologySearch:
    """Searches proteins against a reference set with MMseqs2.

    Args:
        reference: the labelled proteins.
        cache_dir: where the reference's MMseqs2 database is kept (default
            :func:`protloc.utils.runtime.cache_directory`).
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
        """The reference's MMseqs2 database (its path prefix), built on first use, atomically, with a k-mer index for
        a set of :data:`INDEX_MIN_PROTEINS` or more."""
        def write_fasta(staging: pathlib.Path) -> list[pathlib.Path]:
            fasta = staging / "reference.fasta"
            fasta.write_text("".join(f">{index}\n{seq}\n" for index, seq in enumerate(self.reference.sequences)))
            return [fasta]

        indexed = len(self.reference) >= INDEX_MIN_PROTEINS
        folder = f"reference-{self.reference.fingerprint[:20]}" + ("-indexed" if indexed else "")
        try:
            return mmseqs.cached_database(self.cache_dir / folder, write_fasta, index=indexed)
        except mmseqs.MMseqsError as error:
            raise HomologyError(f"building the reference database: {error}") from None

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
        try:
            return mmseqs.healing(self.database, lambda database: self._search(database, queries, exclude))
        except mmseqs.MMseqsError as error:
            raise HomologyError(f"homology search: {error}") from None

    def easy_search_arguments(self, queries: pathlib.Path, database: pathlib.Path, scratch: pathlib.Path) -> list:
        """The ``mmseqs`` arguments of this search: ``easy-search`` of the FASTA file ``queries`` against
        ``database``, hits written to ``scratch/hits.m8`` (MMseqs2's temporary files in ``scratch/tmp``)."""
        return ["easy-search", str(queries), str(database), str(scratch / "hits.m8"), str(scratch / "tmp"),
                "-s", str(self.sensitivity), "-e", str(self.evalue), "--max-seqs", str(self.prefilter_hits),
                "--format-output", _COLUMNS, "-v", "1"]

    def _search(self, database: pathlib.Path, queries: Sequence[str], exclude) -> list[list[Hit]]:
        with tempfile.TemporaryDirectory(prefix="protloc-homology-") as scratch:
            scratch = pathlib.Path(scratch)
            (scratch / "queries.fasta").write_text("".join(f">{i}\n{seq}\n" for i, seq in enumerate(queries)))
            mmseqs.run(self.easy_search_arguments(scratch / "queries.fasta", database, scratch), self.threads,
                       databases=[database])
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
                labels = self.reference.labels[target]
            except (ValueError, IndexError):
                raise HomologyError(f"unreadable MMseqs2 output, line {number}: {line[:80]!r}") from None
            if exclude is not None and exclude[query] == target:
                continue
            hits[query].append(Hit(self.reference.ids[target], labels, identity, evalue, bits, qcov, tcov))
        return [sorted(found, key=lambda h: -h.bits)[:self.max_hits] for found in hits]


def class_evidence(hits: Sequence[Sequence[Hit]], num_classes: int) -> ClassEvidence:
    """The class evidence of each protein's hits: per class, the highest identity (0-1) among its hits of that
    class, and the highest bit score among them over the protein's best hit's; 0 for a class without a hit (a hit
    of several classes counts for each)."""
    identity, relative_bits = np.zeros((len(hits), num_classes)), np.zeros((len(hits), num_classes))
    for row, found in enumerate(hits):
        best = max((hit.bits for hit in found), default=0.0)
        for hit in found:
            for label in hit.labels:
                identity[row, label] = max(identity[row, label], hit.identity)
                relative_bits[row, label] = max(relative_bits[row, label], hit.bits / best if best > 0 else 0.0)
    return ClassEvidence(identity, relative_bits, np.array([bool(found) for found in hits], dtype=bool))
