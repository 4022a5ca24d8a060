"""Alphabet, letter policy, middle truncation and FASTA errors of protloc.data.sequences."""
import io

import numpy as np
import pytest

from protloc.data import sequences as seq


def write(tmp_path, text, name="in.fasta"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_standard_residues_are_tokens_1_to_20_and_padding_is_0():
    tokens = seq.tokenize(seq.STANDARD_RESIDUES)
    np.testing.assert_array_equal(tokens, np.arange(1, 21))
    assert seq.PAD_TOKEN == 0 and seq.VOCABULARY_SIZE == 25


def test_lower_case_is_read_as_upper_case():
    np.testing.assert_array_equal(seq.tokenize("mkvl"), seq.tokenize("MKVL"))


def test_one_trailing_stop_is_stripped():
    np.testing.assert_array_equal(seq.tokenize("MKV*"), seq.tokenize("MKV"))


@pytest.mark.parametrize("letter, token", [("B", 21), ("Z", 22), ("J", 23), ("X", 24)])
def test_ambiguity_codes_have_their_own_tokens(letter, token):
    assert seq.tokenize("M" + letter)[1] == token
    assert seq.tokenize(letter.lower())[0] == token


@pytest.mark.parametrize("rare, standard", [("U", "C"), ("O", "K"), ("u", "C"), ("o", "K")])
def test_selenocysteine_and_pyrrolysine_read_as_their_standard_analogues(rare, standard):
    assert seq.tokenize(rare)[0] == seq.tokenize(standard)[0]


@pytest.mark.parametrize("text, bad, position", [("MK1V", "1", 3), ("MK-V", "-", 3), ("M*KV", "*", 2),
                                                ("MKV**", "*", 4), ("MK V", " ", 3), ("MKé", "é", 3)])
def test_invalid_characters_name_record_position_and_character(text, bad, position):
    with pytest.raises(seq.InvalidResidueError) as error:
        seq.tokenize(text, record_id="P1", source="x.fasta")
    message = str(error.value)
    assert "x.fasta" in message and "record 'P1'" in message and f"position {position}" in message
    assert repr(bad) in message
    assert error.value.position == position and isinstance(error.value, ValueError)


@pytest.mark.parametrize("text", ["", "*"])
def test_empty_sequence_is_an_error(text):
    with pytest.raises(seq.EmptySequenceError, match="record 'P9'.*empty sequence"):
        seq.tokenize(text, record_id="P9")


def test_truncation_keeps_first_500_and_last_500():
    tokens = np.arange(1, 1301)
    kept = seq.truncate_middle(tokens)
    assert kept.shape == (1000,)
    np.testing.assert_array_equal(kept[:500], np.arange(1, 501))
    np.testing.assert_array_equal(kept[500:], np.arange(801, 1301))


def test_truncation_leaves_short_sequences_alone_and_works_on_strings():
    assert seq.truncate_middle("ABCDEFGHIJ", 10) == "ABCDEFGHIJ"
    assert seq.truncate_middle("ABCDEFGHIJK", 5) == "ABCJK"
    assert len(seq.encode_sequence("A" * 1001)) == 1000
    assert len(seq.encode_sequence("A" * 30, max_length=7)) == 7


def test_truncation_rejects_a_useless_length():
    with pytest.raises(ValueError, match="max_length"):
        seq.truncate_middle("ABC", 1)


def test_read_fasta_streams_records_in_order(tmp_path):
    path = write(tmp_path, ">P1 first protein\nMKV\nLLA\n\n>P2\nmkw*\n")
    records = list(seq.read_fasta(path))
    assert [(r.id, r.sequence, r.index) for r in records] == [("P1", "MKVLLA", 0), ("P2", "mkw*", 1)]
    assert records[0].description == "P1 first protein"


def test_read_fasta_accepts_a_handle_and_is_lazy():
    handle = io.StringIO(">A\nMK\n>B\nM1\n")
    records = seq.read_fasta(handle)
    assert next(records).id == "A"          # the bad second record is not read yet
    with pytest.raises(seq.InvalidResidueError, match="record 'B', position 2"):
        next(records)


def test_file_that_is_not_fasta_names_the_file(tmp_path):
    path = write(tmp_path, "ID   P12345 Reviewed\nSQ   MKV\n", "swissprot.txt")
    with pytest.raises(seq.FastaFormatError, match=r"swissprot\.txt: not a FASTA file"):
        list(seq.read_fasta(path))


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(seq.FastaFormatError, match=r"empty\.fasta: no FASTA records"):
        list(seq.read_fasta(write(tmp_path, "\n\n", "empty.fasta")))


def test_record_without_sequence_is_an_error(tmp_path):
    path = write(tmp_path, ">P1\nMKV\n>P2 no sequence here\n>P3\nMKV\n")
    with pytest.raises(seq.EmptySequenceError, match=r"in\.fasta, record 'P2': empty sequence"):
        list(seq.read_fasta(path))


def test_without_validation_bad_records_are_yielded_for_check_record(tmp_path):
    path = write(tmp_path, ">P1\nMKV\n>P2\n>\nMKV\n>P4\nM1\n>P5\nMKVL\n")
    records = list(seq.read_fasta(path, validate=False))
    assert [r.id for r in records] == ["P1", "P2", "", "P4", "P5"]
    np.testing.assert_array_equal(seq.check_record(records[0]), seq.tokenize("MKV"))
    with pytest.raises(seq.EmptySequenceError, match="record 'P2'"):
        seq.check_record(records[1], str(path))
    with pytest.raises(seq.FastaFormatError, match="record #3 has a header without an identifier"):
        seq.check_record(records[2], str(path))
    with pytest.raises(seq.InvalidResidueError, match="record 'P4', position 2"):
        seq.check_record(records[3], str(path))
    assert len(seq.check_record(records[4], max_length=2)) == 2


def test_header_without_identifier_is_an_error(tmp_path):
    path = write(tmp_path, ">P1\nMKV\n>\nMKV\n")
    with pytest.raises(seq.FastaFormatError, match="record #2 has a header without an identifier"):
        list(seq.read_fasta(path))


def test_invalid_residue_in_file_names_file_record_and_position(tmp_path):
    path = write(tmp_path, ">P1\nMKV\n>Q9 something\nMKVL\nAA#A\n")
    with pytest.raises(seq.InvalidResidueError, match=r"in\.fasta, record 'Q9', position 7: invalid character '#'"):
        list(seq.read_fasta(path))


def test_gzip_and_xz_are_read_by_content_and_a_damaged_stream_is_named(tmp_path):
    import gzip
    import lzma

    text = b">P1 first\nMKV\nLLA\n>P2\nMKW\n"
    for name, data in (("a.txt", gzip.compress(text)), ("b.fasta", lzma.compress(text))):
        (tmp_path / name).write_bytes(data)
        assert [(r.id, r.sequence) for r in seq.read_fasta(tmp_path / name)] == [("P1", "MKVLLA"), ("P2", "MKW")]
    (tmp_path / "cut.xz").write_bytes(lzma.compress(text * 50)[:40])
    with pytest.raises(seq.FastaFormatError, match=r"cut\.xz: not a readable xz file"):
        list(seq.read_fasta(tmp_path / "cut.xz"))


@pytest.mark.parametrize("text", ["ATGGCTAGCTAGCTAGGATCGATCGATCG", "auggcuagcuagcuaggaucgaucgaucg",
                                  "ATGGCTAGCTAGCTAGGATCNNNNNNNATCGATCGQ"])
def test_a_nucleotide_sequence_is_refused_naming_the_record(text):
    with pytest.raises(seq.NucleotideSequenceError, match=r"file.fa, record 'r1': looks like a nucleotide"):
        seq.tokenize(text, "r1", "file.fa")


def test_short_or_protein_sequences_rich_in_a_c_g_t_are_proteins():
    assert len(seq.tokenize("ACGTACGT")) == 8  # under NUCLEOTIDE_MIN_LENGTH: a peptide
    assert len(seq.tokenize("GAGAGSGAGAGSGAGAGSGAGAGS")) == 24  # silk fibroin's repeat: 75% G, A


@pytest.mark.slow
def test_no_protein_of_the_training_data_reads_as_nucleotides(multiloc_dir, deeploc2_dir):
    from protloc.data import datasets

    for name, directory in (("multiloc", multiloc_dir), ("deeploc2", deeploc2_dir)):
        spec = datasets.get(name)
        shares = [sum(map(e.sequence.upper().count, seq.NUCLEOTIDE_LETTERS)) / len(e.sequence)
                  for split in spec.splits for e in spec.examples(split, None, directory)
                  if len(e.sequence) >= seq.NUCLEOTIDE_MIN_LENGTH]
        assert max(shares) < 0.75 < seq.NUCLEOTIDE_SHARE, (name, max(shares))


def test_homopolymers_and_two_letter_repeats_stay_proteins():
    assert len(seq.tokenize("A" * 50)) == 50 and len(seq.tokenize("GA" * 20)) == 40



def test_one_huge_record_is_refused_while_reading_with_bounded_memory(tmp_path):
    """A gzip of 300 MB of letters in one record, on one line: refused at the per-record limit, never held whole."""
    import gzip
    import tracemalloc

    path = tmp_path / "bomb.fasta.gz"
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(b">genome a whole chromosome\n")
        for _ in range(300):
            handle.write(b"M" * 1_000_000)
        handle.write(b"\n")
    tracemalloc.start()
    try:
        with pytest.raises(seq.InputTooLargeError, match=r"record 'genome' holds more than 200,000 letters"):
            list(seq.read_fasta(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 30 * 2**20, peak


def test_the_decompressed_size_and_record_length_limits_name_how_to_raise_them(monkeypatch):
    import gzip

    packed = gzip.compress(b">P1\nMKV\n" + b">P2\n" + b"A" * 5000 + b"\n")
    with pytest.raises(seq.InputTooLargeError, match="more than 1,000 bytes once decompressed"):
        list(seq.read_fasta(io.BytesIO(packed), max_bytes=1000))
    assert len(list(seq.read_fasta(io.BytesIO(packed), max_bytes=10_000))) == 2
    with pytest.raises(seq.InputTooLargeError, match="--max-record-length or \\$PROTLOC_MAX_RECORD_RESIDUES"):
        list(seq.read_fasta(io.BytesIO(packed), max_record=4000))
    monkeypatch.setenv(seq.MAX_RECORD_VARIABLE, "100")
    with pytest.raises(seq.InputTooLargeError, match="more than 100 letters"):
        list(seq.read_fasta(io.BytesIO(packed)))
    monkeypatch.setenv(seq.MAX_RECORD_VARIABLE, "lots")
    with pytest.raises(ValueError, match="must be a positive number"):
        list(seq.read_fasta(io.BytesIO(packed)))


def test_a_line_longer_than_a_read_chunk_is_read_whole(monkeypatch):
    monkeypatch.setattr(seq, "READ_CHUNK", 64)
    text = b">P1 a description\n" + b"ACDEFGHIKLMNPQRSTVWY" * 30 + b"\n>P2\nMKV\n"
    records = list(seq.read_fasta(io.BytesIO(text)))
    assert [(r.id, len(r.sequence)) for r in records] == [("P1", 600), ("P2", 3)]
