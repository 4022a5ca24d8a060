"""Per-residue sequence profiles (the paper's fourth feature block) from an iterative MMseqs2 search of each protein
against a sequence database the user names.

Database (``--profile-db``): FASTA files (plain or gzipped; a directory stands for every FASTA file under it) or
one MMseqs2 sequence database (the path prefix given to ``mmseqs createdb``, beside its ``.dbtype`` file). FASTA
input is turned into an MMseqs2 database once, in the cache directory (``PROTLOC_CACHE_DIR``, default
``~/.cache/protloc``), named by the SHA-256 of the files' contents and built atomically.

Profile: ``mmseqs search`` with ``--num-iterations 3`` (as the paper's 3 PSI-BLAST iterations; sensitivity
``-s 4``, hits with E < 1e-3 enter the profile), then ``mmseqs result2profile --profile-output-mode 1``. Each row
is the position-specific amino-acid distribution at one residue of the query: 20 frequencies, columns in the
order of :data:`protloc.data.sequences.STANDARD_RESIDUES`, each row summing to 1 (so the block has the scale of the
one-hot block, itself a distribution on one residue). It is computed on the whole sequence and middle-truncated
with the tokens, so row i belongs to token i.

No hits: MMseqs2 builds the profile from the query alone, with its substitution-matrix pseudocounts (BLOSUM62):
each row is then the BLOSUM62-derived distribution of the residue at that position, the same for every occurrence
of a residue (its largest entry the residue itself), i.e. the profile of the protein's own sequence under
BLOSUM62. :attr:`Profile.hits` tells the two cases apart.

Cache: one file per protein, named by the SHA-256 of the sequence and of every setting that changes the profile
(database fingerprint, iterations, sensitivity, E-value), written atomically (a temporary file renamed), so
training epochs, CV folds and re-runs never recompute a profile, and an interrupted run leaves no partial entry.
"""
from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import os
import pathlib
import tempfile
from typing import Sequence

import numpy as np

from protloc.data import sequences
from protloc.data.datasets import Example
from protloc.data.features import PROFILE, PROFILE_WIDTH as WIDTH
from protloc.evidence import mmseqs
from protloc.utils import files, runtime

DEFAULT_ITERATIONS = 3
DEFAULT_SENSITIVITY = 4.0
DEFAULT_EVALUE = 1e-3
FASTA_SUFFIXES = (".fasta", ".fa", ".faa", ".fas", ".fasta.gz", ".fa.gz", ".faa.gz", ".fas.gz")
"""File names taken as FASTA inside a directory given as database."""
_BATCH = 2000
"""Queries per MMseqs2 run (bounds the size of its text output)."""


class ProfileError(RuntimeError):
    """Profiles could not be computed: MMseqs2 is missing or failed, or its output cannot be read; the message says
    which and why."""


@dataclasses.dataclass(frozen=True)
class Profile:
    """One protein's profile.

    Attributes:
        values: float32 ``(length, 20)``: per residue, amino-acid frequencies (sum 1), STANDARD_RESIDUES order.
        hits: database proteins that entered the profile in the last iteration (0: the no-hit rule applied).
    """

    values: np.ndarray
    hits: int


class ProfileDatabase:
    """The sequences profiles are built from.

    Args:
        paths: FASTA files (plain or gzipped), directories of them, or one MMseqs2 database prefix.
        cache_dir: where a database built from FASTA is kept (default :func:`protloc.utils.runtime.cache_directory`).

    Raises:
        FileNotFoundError: a path does not exist (named).
        ValueError: a file is neither FASTA nor an MMseqs2 database, a directory holds no FASTA file, or an MMseqs2
            database is given together with other paths.
    """

    def __init__(self, paths, cache_dir=None):
        paths = [pathlib.Path(path) for path in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
        if not paths:
            raise ValueError("no profile database given (--profile-db)")
        self.cache_dir = pathlib.Path(cache_dir or runtime.cache_directory())
        self.mmseqs_database = None
        self.fasta_files: list[pathlib.Path] = []
        for path in paths:
            if pathlib.Path(f"{path}.dbtype").is_file():
                if len(paths) > 1:
                    raise ValueError(f"--profile-db {path} is an MMseqs2 database: give it alone, not with other "
                                     f"paths")
                self.mmseqs_database = path
            elif path.is_dir():
                found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(FASTA_SUFFIXES))
                if not found:
                    raise ValueError(f"--profile-db {path}: the directory holds no FASTA file "
                                     f"({', '.join(FASTA_SUFFIXES)})")
                self.fasta_files += [_checked_fasta(p) for p in found]
            elif path.is_file():
                self.fasta_files.append(_checked_fasta(path))
            else:
                raise FileNotFoundError(f"--profile-db {path}: no such file, directory or MMseqs2 database")

    @functools.cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the database: of the FASTA files' contents in order, or of an MMseqs2 database's path and
        index (read once per object)."""
        digest = hashlib.sha256()
        if self.mmseqs_database is not None:
            digest.update(str(self.mmseqs_database.resolve()).encode())
            digest.update(pathlib.Path(f"{self.mmseqs_database}.index").read_bytes())
        for path in self.fasta_files:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            digest.update(b"\0")
        return digest.hexdigest()

    def path(self) -> pathlib.Path:
        """The MMseqs2 database prefix: the one given, or the one built from the FASTA files on first use."""
        if self.mmseqs_database is not None:
            return self.mmseqs_database
        try:
            return mmseqs.cached_database(self.cache_dir / f"profile-db-{self.fingerprint[:20]}",
                                          lambda staging: self.fasta_files)
        except mmseqs.MMseqsError as error:
            raise ProfileError(f"building the profile database: {error}") from None


def _checked_fasta(path: pathlib.Path) -> pathlib.Path:
    """``path`` if its first non-blank character (after gunzip) is ``>``, else a ``ValueError`` naming it."""
    try:
        with (gzip.open(path, "rb") if _is_gzip(path) else open(path, "rb")) as handle:
            start = handle.read(4096).lstrip()
    except (OSError, EOFError) as error:
        raise ValueError(f"--profile-db {path}: not readable ({error})") from None
    if not start.startswith(b">"):
        raise ValueError(f"--profile-db {path}: neither FASTA (plain or gzipped) nor an MMseqs2 database (a path "
                         f"prefix with a .dbtype file beside it)")
    return path


def _is_gzip(path: pathlib.Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == b"\x1f\x8b"


class ProfileSearch:
    """Computes (or reads from the cache) the profiles of proteins against one database.

    Args:
        database: the sequences to search.
        iterations: MMseqs2 ``--num-iterations``.
        sensitivity: MMseqs2 ``-s``.
        evalue: largest E-value of a hit (in the search and in the profile).
        cache_dir: where profiles are kept (default :func:`protloc.utils.runtime.cache_directory`).
        threads: MMseqs2 threads (default: its own, all cores).
    """

    def __init__(self, database: ProfileDatabase, iterations: int = DEFAULT_ITERATIONS,
                 sensitivity: float = DEFAULT_SENSITIVITY, evalue: float = DEFAULT_EVALUE, cache_dir=None,
                 threads: int | None = None):
        if iterations < 1:
            raise ValueError(f"profile iterations must be >= 1, got {iterations}")
        self.database, self.iterations, self.sensitivity, self.evalue = database, iterations, sensitivity, evalue
        self.threads = threads
        settings = f"{database.fingerprint}:{iterations}:{sensitivity:g}:{evalue:g}:frequencies-v1"
        self.folder = (pathlib.Path(cache_dir or runtime.cache_directory())
                       / f"profiles-{hashlib.sha256(settings.encode()).hexdigest()[:20]}")
        self.searched = 0
        """Proteins this object has sent to MMseqs2 (not read from the cache)."""

    def entry(self, sequence: str) -> pathlib.Path:
        """The cache file of a sequence's profile."""
        key = hashlib.sha256(sequence.encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.npz"

    def profiles(self, queries: Sequence[str]) -> list[Profile]:
        """The profile of each query sequence (whole, validated beforehand), in order; cached ones are read, the
        others computed by MMseqs2 (each distinct sequence once) and cached.

        Raises:
            ProfileError: MMseqs2 is missing or failed, or its output cannot be read.
        """
        found: dict[str, Profile] = {}
        for sequence in dict.fromkeys(queries):
            cached = self._read(sequence)
            if cached is not None:
                found[sequence] = cached
        missing = [sequence for sequence in dict.fromkeys(queries) if sequence not in found]
        for start in range(0, len(missing), _BATCH):
            batch = missing[start:start + _BATCH]
            try:
                if self.database.mmseqs_database is not None:  # the user's own database: never rebuilt here
                    computed = self._search(self.database.path(), batch)
                else:
                    computed = mmseqs.healing(self.database.path, lambda database: self._search(database, batch))
            except mmseqs.MMseqsError as error:
                raise ProfileError(f"profiles: {error}") from None
            for sequence, profile in zip(batch, computed):
                self._write(sequence, profile)
                found[sequence] = self._read(sequence)  # as stored: a fresh and a cached profile are equal
            self.searched += len(batch)
        return [found[sequence] for sequence in queries]

    def _read(self, sequence: str) -> Profile | None:
        stored = files.read_arrays(self.entry(sequence))
        if stored is None or not {"values", "hits"} <= stored.keys():  # absent or broken: compute it again
            return None
        values = stored["values"].astype(np.float32)
        return Profile(_normalised(values), int(stored["hits"])) if values.shape == (len(sequence), WIDTH) else None

    def _write(self, sequence: str, profile: Profile) -> None:
        files.write_arrays(self.entry(sequence), values=profile.values.astype(np.float16), hits=np.int64(profile.hits))

    def _search(self, database: pathlib.Path, queries: list[str]) -> list[Profile]:
        with tempfile.TemporaryDirectory(prefix="protloc-profiles-") as scratch:
            scratch = pathlib.Path(scratch)
            (scratch / "queries.fasta").write_text("".join(f">{i}\n{seq}\n" for i, seq in enumerate(queries)))
            mmseqs.run(["createdb", str(scratch / "queries.fasta"), str(scratch / "queries"), "-v", "1"])
            mmseqs.run(["search", str(scratch / "queries"), str(database), str(scratch / "result"),
                        str(scratch / "tmp"), "--num-iterations", str(self.iterations), "-s", str(self.sensitivity),
                        "-e", str(self.evalue), "--e-profile", str(self.evalue), "-v", "1"], self.threads,
                       databases=[database])
            mmseqs.run(["result2profile", str(scratch / "queries"), str(database), str(scratch / "result"),
                        str(scratch / "profiles.txt"), "--profile-output-mode", "1", "--e-profile", str(self.evalue),
                        "-v", "1"], self.threads, databases=[database])
            mmseqs.run(["convertalis", str(scratch / "queries"), str(database), str(scratch / "result"),
                        str(scratch / "hits.tsv"), "--format-output", "query", "-v", "1"], self.threads,
                       databases=[database])
            names = _lookup(scratch / "queries.lookup")
            values = _parse_profiles(scratch / "profiles.txt", names, [len(q) for q in queries])
            hits = np.zeros(len(queries), dtype=np.int64)
            for line in _read_lines(scratch / "hits.tsv"):
                hits[int(line)] += 1
        return [Profile(v, int(h)) for v, h in zip(values, hits)]


def _normalised(values: np.ndarray) -> np.ndarray:
    """float32 rows scaled to sum to 1 again after their float16 storage."""
    values = values.astype(np.float32)
    return values / values.sum(axis=1, keepdims=True)


def with_profiles(examples: Sequence[Example], search: ProfileSearch) -> list[Example]:
    """``examples`` with a ``"profile"`` feature: float32 ``(tokens' length, 20)``, the profile of each example's
    whole ``sequence`` middle-truncated as its tokens were.

    Raises:
        ValueError: an example does not carry its sequence.
    """
    examples = list(examples)
    missing = [e.id for e in examples if not e.sequence]
    if missing:
        raise ValueError(f"profiles need each protein's sequence; {missing[0]!r} has none")
    found = search.profiles([e.sequence.upper() for e in examples])
    return [dataclasses.replace(e, features={**e.features, PROFILE: sequences.truncate_middle(
        profile.values, len(e.features["tokens"]))}) for e, profile in zip(examples, found)]


def _read_lines(path: pathlib.Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError as error:
        raise ProfileError(f"MMseqs2 wrote no readable result ({error})") from None


def _lookup(path: pathlib.Path) -> dict[int, int]:
    """MMseqs2 key -> query index (the FASTA header written for it), from a database's ``.lookup`` file."""
    rows = (line.split("\t") for line in path.read_text().splitlines())
    return {int(row[0]): int(row[1]) for row in rows}


def _parse_profiles(path: pathlib.Path, names: dict[int, int], lengths: list[int]) -> list[np.ndarray]:
    """Reads ``result2profile --profile-output-mode 1`` text: for each query a line ``Query profile of sequence
    KEY``, a line of the 20 residue letters, then one line of 20 frequencies per residue.

    Raises:
        ProfileError: the text is not of that form, or a profile's rows do not match its query's length.
    """
    found: dict[int, np.ndarray] = {}
    blocks = path.read_text().split("Query profile of sequence ")[1:] if path.exists() else []
    for block in blocks:
        head, letters, *rows = block.rstrip("\n").split("\n")
        try:
            query = names[int(head)]
            columns = [sequences.STANDARD_RESIDUES.index(c) for c in letters.split()]
            values = np.array(" ".join(rows).split(), dtype=np.float32).reshape(len(rows), WIDTH)
        except (KeyError, ValueError):
            raise ProfileError(f"unreadable MMseqs2 profile output near {head[:40]!r}") from None
        if len(columns) != WIDTH or values.shape[0] != lengths[query]:
            raise ProfileError(f"MMseqs2 profile of query {query} has {values.shape[0]} rows of {len(columns)} "
                                f"columns; expected {lengths[query]} of {WIDTH}")
        profile = np.empty_like(values)
        profile[:, columns] = values
        found[query] = profile
    if len(found) != len(lengths):
        raise ProfileError(f"MMseqs2 wrote profiles for {len(found)} of {len(lengths)} queries")
    return [found[i] for i in range(len(lengths))]
