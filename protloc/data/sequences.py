"""Amino-acid alphabet, tokenization, middle truncation and FASTA reading.

This module is the single definition of how raw protein text becomes integer tokens. Training, the TFDS
builder, ``protloc predict`` and the exported SavedModel all follow it.

Tokens
    ``0`` is padding. The 20 standard residues ``ACDEFGHIKLMNPQRSTVWY`` are tokens 1-20 in that order.
    Ambiguity codes get their own tokens so that they are neither dropped nor guessed:
    ``B`` (Asp or Asn) = 21, ``Z`` (Glu or Gln) = 22, ``J`` (Leu or Ile) = 23, ``X`` (any) = 24.
    Their feature rows (see :mod:`protloc.data.encoding`) are the average of the rows of the residues they
    stand for, i.e. the expected encoding under the ambiguity.

Non-standard letters (the documented policy)
    * Lower case is accepted and read as upper case.
    * One trailing ``*`` (stop codon, as written by translation tools) is stripped.
    * ``U`` (selenocysteine) is read as ``C`` (cysteine), its sulfur analogue.
    * ``O`` (pyrrolysine) is read as ``K`` (lysine), from which it is derived.
    * ``B``, ``Z``, ``J`` and ``X`` are the ambiguity tokens above.
    * Anything else (digits, gaps ``-`` or ``.``, ``*`` inside the sequence, other symbols) is an
      :class:`InvalidResidueError` naming the record and the 1-based position.

Truncation
    Sorting signals sit at both termini, so proteins longer than ``max_length`` (default 1000) are cut
    in the middle: the first ``ceil(max_length / 2)`` and the last ``floor(max_length / 2)`` residues are
    kept (500 + 500 by default).
"""
from __future__ import annotations

import dataclasses
import gzip
import io
import itertools
import lzma
import os
import sys
import zlib
from typing import BinaryIO, Iterator, TextIO, Union

import numpy as np

STANDARD_RESIDUES = "ACDEFGHIKLMNPQRSTVWY"
"""The 20 standard amino acids, in token order (tokens 1-20)."""

AMBIGUITY_CODES = {"B": "DN", "Z": "EQ", "J": "IL", "X": STANDARD_RESIDUES}
"""Ambiguity letter -> the standard residues it may stand for (tokens 21-24, in this order)."""

SUBSTITUTED_RESIDUES = {"U": "C", "O": "K"}
"""Rare genetically encoded residues read as their closest standard residue."""

PAD_TOKEN = 0
VOCABULARY = STANDARD_RESIDUES + "".join(AMBIGUITY_CODES)
"""Letter of each token 1..len(VOCABULARY); token 0 is padding."""
VOCABULARY_SIZE = len(VOCABULARY) + 1
"""Number of token ids including padding (25)."""
DEFAULT_MAX_LENGTH = 1000

_TOKEN_OF_LETTER = {letter: index + 1 for index, letter in enumerate(VOCABULARY)}
_TOKEN_OF_LETTER.update({rare: _TOKEN_OF_LETTER[std] for rare, std in SUBSTITUTED_RESIDUES.items()})
_LOOKUP = np.full(256, -1, dtype=np.int32)
for _letter, _token in _TOKEN_OF_LETTER.items():
    _LOOKUP[ord(_letter)] = _token
    _LOOKUP[ord(_letter.lower())] = _token


def token_lookup() -> np.ndarray:
    """int32 array of shape (256,): byte value -> token, -1 for bytes outside the policy (for in-graph use)."""
    return _LOOKUP.copy()


def printable(text) -> str:
    """``text`` for a one-line message: quoted, with control and other non-printable characters escaped
    (``'caf\\x1b[31m'``), so that nothing a file holds can reach the terminal as a control sequence."""
    return repr(str(text))


class SequenceError(ValueError):
    """A protein record or file that cannot be used; the message names the source and the record (non-printable
    characters escaped, see :func:`printable`)."""

    def __init__(self, problem: str, source: str | None = None, record_id: str | None = None,
                 position: int | None = None):
        self.problem = problem
        self.source = source
        self.record_id = record_id
        self.position = position
        where = []
        if source:
            where.append(str(source) if str(source).isprintable() else printable(source))
        if record_id is not None:
            where.append(f"record {printable(record_id)}")
        if position is not None:
            where.append(f"position {position}")
        super().__init__(f"{', '.join(where)}: {problem}" if where else problem)


class FastaFormatError(SequenceError):
    """The input is not FASTA, or a record header is malformed."""


class InputTooLargeError(FastaFormatError):
    """A record, or the whole input once decompressed, is larger than the limit it is read under."""


MAX_RECORD_RESIDUES = 200_000
"""Letters one record may hold (:func:`read_fasta`), unless raised (``PROTLOC_MAX_RECORD_RESIDUES``, or ``protloc
predict --max-record-length``): the longest known protein (titin) has about 35,000 residues, and a record is held in
memory whole while it is read, so a mistaken input (a genome, a decompression bomb) is refused instead of filling the
memory."""
MAX_RECORD_VARIABLE = "PROTLOC_MAX_RECORD_RESIDUES"
READ_CHUNK = 1 << 20
"""The most characters read at once: a line longer than this (a whole genome on one line) is read in pieces."""


def max_record_residues() -> int:
    """The per-record limit in force: ``$PROTLOC_MAX_RECORD_RESIDUES`` if set, else :data:`MAX_RECORD_RESIDUES`.

    Raises:
        ValueError: the variable is not a positive integer.
    """
    text = os.environ.get(MAX_RECORD_VARIABLE)
    if text is None:
        return MAX_RECORD_RESIDUES
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"${MAX_RECORD_VARIABLE} must be a positive number of residues, got {text!r}")
    return int(text)


class EmptySequenceError(SequenceError):
    """A record has no residues."""


class InvalidResidueError(SequenceError):
    """A sequence holds a character outside the documented alphabet."""


class NucleotideSequenceError(SequenceError):
    """A sequence that reads as nucleotides (:data:`NUCLEOTIDE_SHARE` of A, C, G, T, U, N), not as a protein."""


NUCLEOTIDE_LETTERS = "ACGTUN"
NUCLEOTIDE_SHARE = 0.9
NUCLEOTIDE_MIN_LENGTH = 20
NUCLEOTIDE_MIN_LETTERS = 3
"""A record of at least ``NUCLEOTIDE_MIN_LENGTH`` letters of which at least ``NUCLEOTIDE_SHARE`` are
``NUCLEOTIDE_LETTERS`` (any case), with at least ``NUCLEOTIDE_MIN_LETTERS`` different ones among them, is a nucleotide
sequence given by mistake, refused rather than predicted (every letter is also an amino acid, so it would otherwise be
read as a protein of Ala, Cys, Gly, Thr and Asn). A homopolymer (poly-Ala) or a two-letter repeat stays a protein. No
protein of MultiLoc's or DeepLoc 2.0's data comes near: their highest share (0.69) is checked by
tests/test_sequences.py."""
_NUCLEOTIDE_BYTES = np.frombuffer((NUCLEOTIDE_LETTERS + NUCLEOTIDE_LETTERS.lower()).encode(), dtype=np.uint8)


def tokenize(sequence: str, record_id: str | None = None, source: str | None = None) -> np.ndarray:
    """Turns one protein sequence into tokens, following the module's letter policy.

    Args:
        sequence: amino-acid letters, any case, optionally ending in one ``*``.
        record_id: used in error messages.
        source: file name used in error messages.

    Returns:
        int32 array of shape ``(length,)`` with values in 1..24 (no truncation applied).

    Raises:
        EmptySequenceError: no residues (after stripping a trailing ``*``).
        InvalidResidueError: a character outside the policy; the 1-based position is reported.
        NucleotideSequenceError: a sequence of nucleotides (see :data:`NUCLEOTIDE_MIN_LENGTH`).
    """
    text = sequence[:-1] if sequence.endswith("*") else sequence
    if not text:
        raise EmptySequenceError("empty sequence", source, record_id)
    raw = np.frombuffer(text.encode("utf-8", errors="replace"), dtype=np.uint8)
    if len(raw) != len(text):  # a multi-byte (non-ASCII) character
        position = next(i for i, char in enumerate(text) if ord(char) > 127) + 1
        raise InvalidResidueError(f"invalid character {text[position - 1]!r}", source, record_id, position)
    tokens = _LOOKUP[raw]
    bad = np.flatnonzero(tokens < 0)
    if bad.size:
        position = int(bad[0]) + 1
        raise InvalidResidueError(
            f"invalid character {text[position - 1]!r} (allowed: the 20 standard residues, "
            f"B Z J X U O, any case, one trailing '*')", source, record_id, position)
    if len(raw) >= NUCLEOTIDE_MIN_LENGTH:
        nucleotides = raw[np.isin(raw, _NUCLEOTIDE_BYTES)] | 0x20  # lower case
        share = len(nucleotides) / len(raw)
        if share >= NUCLEOTIDE_SHARE and len(np.unique(nucleotides)) >= NUCLEOTIDE_MIN_LETTERS:
            raise NucleotideSequenceError(f"looks like a nucleotide sequence ({share:.0%} A, C, G, T, U, N): give "
                                          f"protein sequences (translate it first)", source, record_id)
    return tokens


def truncate_middle(items, max_length: int = DEFAULT_MAX_LENGTH):
    """Keeps both termini of a too-long sequence: the first ceil(n/2) and last floor(n/2) of ``max_length``.

    Works on strings, lists and 1-D arrays; returns the input unchanged when it is short enough.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    if len(items) <= max_length:
        return items
    tail = max_length // 2
    head = max_length - tail
    if isinstance(items, np.ndarray):
        return np.concatenate([items[:head], items[len(items) - tail:]])
    return items[:head] + items[len(items) - tail:]


def encode_sequence(sequence: str, max_length: int = DEFAULT_MAX_LENGTH, record_id: str | None = None,
                    source: str | None = None) -> np.ndarray:
    """Tokenizes and middle-truncates one sequence: int32 array of shape ``(min(length, max_length),)``."""
    return truncate_middle(tokenize(sequence, record_id, source), max_length)


@dataclasses.dataclass(frozen=True)
class ProteinRecord:
    """One FASTA record.

    Attributes:
        id: the first word of the header (for UniProt files, the accession).
        description: the whole header line without ``>``.
        sequence: the residues as written in the file (whitespace removed, case kept).
        index: 0-based position of the record in its file.
    """

    id: str
    description: str
    sequence: str
    index: int


GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of a gzip (or bgzip) stream: FASTA input is read through gzip when it starts with them."""
XZ_MAGIC = b"\xfd7zXZ\x00"
"""The first six bytes of an xz stream (read through lzma)."""


def read_fasta(source: Union[str, os.PathLike, TextIO, BinaryIO], validate: bool = True,
               name: str | None = None, max_bytes: int | None = None,
               max_record: int | None = None) -> Iterator[ProteinRecord]:
    """Streams the records of a FASTA file, one at a time (memory does not grow with the file).

    Plain, gzipped (or bgzipped) and xz-compressed input are told apart by content, not by name. Text must be UTF-8
    (ASCII in
    practice): a byte sequence that is not is an error naming the record and the byte offset, never silently
    replaced. Parsing is done by Biopython's ``SimpleFastaParser``; this function adds the checks it does not make.

    Args:
        source: a path, ``"-"`` for standard input, or an open handle (binary, or text already decoded).
        validate: check every record with :func:`check_record` (identifier, non-empty, letter policy).
            Without it only the file's structure is checked, so a caller can skip bad records and go on;
            a header without identifier then gives ``id == ""``.
        name: how errors name the source (default: the path, or the handle's name).
        max_bytes: the most bytes the input may hold once decompressed (None: no limit), e.g. an upload's limit.
        max_record: the most letters one record may hold (None: :func:`max_record_residues`). Both limits are
            checked while reading, so memory stays bounded whatever the input.

    Yields:
        :class:`ProteinRecord` in file order.

    Raises:
        FastaFormatError: the input is empty, is a damaged gzip stream, is not UTF-8 text, or does not start
            with a ``>`` header; with ``validate``, a header has no identifier.
        EmptySequenceError: (with ``validate``) a record has no sequence.
        InvalidResidueError: (with ``validate``) a sequence holds a character outside the policy.
        InputTooLargeError: a record longer than the per-record limit, or more than ``max_bytes`` decompressed.
    """
    limit = max_record or max_record_residues()
    if isinstance(source, (str, os.PathLike)) and str(source) != "-":
        with open(source, "rb") as handle:
            label = name or str(source)
            yield from _parse(_bounded(_lines(handle, label, max_bytes), label, limit), label, validate)
        return
    handle = sys.stdin if source == "-" else source
    label = name or getattr(handle, "name", None) or "<stream>"
    label = "<stdin>" if handle is sys.stdin and not name else str(label)
    if isinstance(handle, io.TextIOBase) and not hasattr(handle, "buffer"):
        yield from _parse(_bounded(handle, label, limit), label, validate)  # text already decoded (e.g. io.StringIO)
        return
    yield from _parse(_bounded(_lines(getattr(handle, "buffer", handle), label, max_bytes), label, limit), label,
                      validate)


def _bounded(lines, name: str, limit: int) -> Iterator[str]:
    """``lines`` passed on, while no record holds more than ``limit`` letters (an :class:`InputTooLargeError` naming
    the record and the limit)."""
    letters, record, title = 0, 0, ""
    for line in lines:
        if line.startswith(">"):
            letters, record, title = 0, record + 1, line[1:].split(None, 1)[0] if line[1:].split() else ""
        else:
            letters += len(line.strip())
            if letters > limit:
                what = f"record {printable(title)}" if title else f"record #{record}"
                raise InputTooLargeError(
                    f"{what} holds more than {limit:,} letters, the limit of one record (the longest known protein "
                    f"has about 35,000); not a protein? To raise it: --max-record-length or ${MAX_RECORD_VARIABLE}",
                    name)
        yield line


def _lines(raw: BinaryIO, name: str, max_bytes: int | None = None) -> Iterator[str]:
    """The decoded lines of a binary FASTA stream, decompressed when it starts with gzip's or xz's magic bytes; a
    line longer than :data:`READ_CHUNK` bytes comes in pieces; more than ``max_bytes`` decompressed bytes is an
    :class:`InputTooLargeError`."""
    buffered = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    start = buffered.peek(6)[:6]
    kind = "gzip" if start[:2] == GZIP_MAGIC else "xz" if start == XZ_MAGIC else None
    compressed = kind is not None
    stream = (gzip.GzipFile(fileobj=buffered, mode="rb") if kind == "gzip"
              else lzma.LZMAFile(buffered, mode="rb") if kind == "xz" else buffered)
    offset, records, ended = 0, 0, True
    try:
        for line in iter(lambda: stream.readline(READ_CHUNK), b""):
            records += ended and line.startswith(b">")
            ended = line.endswith(b"\n")
            if max_bytes is not None and offset + len(line) > max_bytes:
                raise InputTooLargeError(f"more than {max_bytes:,} bytes{' once decompressed' if compressed else ''}, "
                                         f"the limit of this input", name)
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError as error:
                where = f"record #{records}" if records else "before the first record"
                raise FastaFormatError(f"not UTF-8 text: byte {line[error.start:error.start + 1]!r} at byte offset "
                                       f"{offset + error.start}{' of the uncompressed data' if compressed else ''} "
                                       f"({where})", name) from None
            offset += len(line)
            yield text
    except (OSError, EOFError, zlib.error, lzma.LZMAError) as error:
        if not compressed:
            raise
        raise FastaFormatError(f"not a readable {kind} file ({error})", name) from None


def _parse(lines, name: str, validate: bool) -> Iterator[ProteinRecord]:
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    lines = iter(lines)
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise FastaFormatError("no FASTA records (the input is empty)", name)
    if not first.startswith(">"):
        raise FastaFormatError(
            f"not a FASTA file: the first line should start with '>' but is {printable(first.rstrip()[:40])}", name)
    for index, (title, sequence) in enumerate(SimpleFastaParser(itertools.chain([first], lines))):
        words = title.split(None, 1)
        record = ProteinRecord(words[0] if words else "", title, sequence, index)
        if validate:
            check_record(record, name)
        yield record


def check_record(record: ProteinRecord, source: str | None = None,
                 max_length: int = DEFAULT_MAX_LENGTH) -> np.ndarray:
    """Validates one record and returns its tokens, middle-truncated to ``max_length``.

    Raises:
        FastaFormatError: the header has no identifier.
        EmptySequenceError, InvalidResidueError: see :func:`tokenize`.
    """
    if not record.id:
        raise FastaFormatError(f"record #{record.index + 1} has a header without an identifier", source)
    return encode_sequence(record.sequence, max_length, record.id, source)
