"""DeepLoc 2.0's sorting signals: the signal file is read and checked (SHA-256, rows, agreement with the
partitions), proteins without a per-residue annotation keep their types with residues unknown, labels follow the
middle cut, and the real file gives the counts its README states."""
import collections
import gzip
import hashlib
import os

import numpy as np
import pytest

from protloc.data import datasets
from protloc.data.datasets import deeploc2_signals as signals
from protloc.data.datasets.spec import DataNotFoundError, Example
from protloc.training import loop

HEADER = "accession,partition,kingdom,signals,annotation,sequence\n"
ROWS = ["P1,0,Metazoa,SP,1111000000,MKLLAVLLAG\n",        # a signal peptide at the N-terminus
        "P2,1,Fungi,MT|PTS,33300000088,MSRLSVPAPSK\n",     # a transit peptide and a C-terminal PTS1
        "P3,1,Metazoa,TM,,MAAAAAAAAAAA\n",                 # a long protein whose residues were not annotated
        "P4,0,Metazoa,,0000,MKKK\n"]                       # no signal


def write(directory, rows=ROWS, header=HEADER, compressed=True) -> str:
    """Writes a signal file into ``directory``; returns the SHA-256 of its text."""
    text = header + "".join(rows)
    if compressed:
        (directory / "signals.csv.gz").write_bytes(gzip.compress(text.encode()))
    else:
        (directory / "signals.csv").write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def test_types_and_residue_codes_are_read_and_a_missing_annotation_leaves_residues_unknown(tmp_path):
    found = signals.read_signals(tmp_path, write(tmp_path))
    assert list(found) == ["P1", "P2", "P3", "P4"]
    partition, sequence, p1 = found["P1"]
    assert (partition, sequence, p1.types) == (0, "MKLLAVLLAG", (signals.SIGNAL_TYPES.index("SP"),))
    np.testing.assert_array_equal(p1.residues, [1, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    p2 = found["P2"][2]
    assert [signals.SIGNAL_TYPES[t] for t in p2.types] == ["MT", "PTS"]
    assert [signals.RESIDUE_CLASSES[c] for c in p2.residues[[0, -1]]] == ["MT", "PTS"]
    np.testing.assert_array_equal(p2.multi_hot(), [0, 0, 1, 0, 0, 0, 0, 1, 0])
    p3 = found["P3"][2]
    assert p3.residues is None and [signals.SIGNAL_TYPES[t] for t in p3.types] == ["TM"]  # types kept, residues not
    assert found["P4"][2].types == () and not found["P4"][2].multi_hot().any()


def test_the_plain_file_reads_the_same_and_a_missing_file_says_where_to_put_it(tmp_path):
    digest = write(tmp_path, compressed=False)
    assert list(signals.read_signals(tmp_path, digest)) == ["P1", "P2", "P3", "P4"]
    with pytest.raises(DataNotFoundError, match="PROTLOC_DEEPLOC2_SIGNALS_DIR"):
        signals.read_signals(tmp_path / "nowhere")


@pytest.mark.parametrize("rows, problem", [
    (["P1,0,Metazoa,SP,111,MKLLAVLLAG\n"], r"row 2 \('P1'\): the annotation has 3 codes for 10 residues"),
    (["P1,0,Metazoa,XX,,MKLL\n"], r"row 2 \('P1'\): unknown signal type 'XX'"),
    (["P1,0,Metazoa,SP,1100,MKLL\n", "P1,0,Metazoa,SP,1100,MKLL\n"], r"row 3 \('P1'\): the accession is in an earlier"),
    (["P1,0,Metazoa,SP,1133,MKLL\n"], r"row 2 \('P1'\): residues are marked MT, which the signals column does not list"),
    (["P1,0,Metazoa,SP,11a0,MKLL\n"], r"row 2 \('P1'\): the annotation must be digits"),
    (["P1,x,Metazoa,SP,1100,MKLL\n"], r"row 2 \('P1'\): partition must be a number"),
])
def test_a_bad_row_is_named_by_file_row_accession_and_problem(tmp_path, rows, problem):
    digest = write(tmp_path, rows)
    with pytest.raises(signals.SignalDataError, match=problem) as raised:
        signals.read_signals(tmp_path, digest)
    assert "signals.csv.gz" in str(raised.value) and "\n" not in str(raised.value)


def test_a_file_other_than_the_pinned_one_is_refused(tmp_path):
    write(tmp_path)
    with pytest.raises(signals.SignalDataError, match="not the pinned DeepLoc 2.0 signal file"):
        signals.read_signals(tmp_path)
    write(tmp_path, header="accession,signals\n", rows=[])
    with pytest.raises(signals.SignalDataError, match="the header must be"):
        signals.read_signals(tmp_path, hashlib.sha256(b"accession,signals\n").hexdigest())


def test_signals_attach_to_their_proteins_and_must_agree_with_the_partitions(tmp_path):
    found = signals.read_signals(tmp_path, write(tmp_path))
    examples = [Example(accession, {"tokens": np.ones(len(sequence), np.int32)}, (0,), partition, sequence)
                for accession, (partition, sequence, _) in found.items()]
    extra = Example("Q9", {"tokens": np.ones(3, np.int32)}, (1,), 2, "MKL")
    attached = signals.attach([extra, *examples], found)
    assert attached[0].signals is None and [e.signals for e in attached[1:]] == [found[e.id][2] for e in examples]
    moved = [Example("P1", {}, (0,), 3, "MKLLAVLLAG")]
    with pytest.raises(signals.SignalDataError, match="P1 has another partition"):
        signals.attach(moved, {"P1": found["P1"]})
    with pytest.raises(signals.SignalDataError, match="P2 is not a DeepLoc 2.0 protein"):
        signals.attach(examples[:1], found)


def test_the_middle_cut_cuts_the_residue_labels_as_it_cuts_the_tokens(tmp_path):
    found = signals.read_signals(tmp_path, write(tmp_path))
    partition, sequence, labels = found["P2"]
    example = Example("P2", {"tokens": np.arange(len(sequence), dtype=np.int32)}, (0,), partition, sequence,
                      signals=labels)
    cut = loop.truncated(example, 6)
    np.testing.assert_array_equal(cut.signals.residues, [3, 3, 3, 0, 8, 8])  # MT at the start, PTS at the end kept
    assert cut.signals.types == labels.types and len(cut.features["tokens"]) == 6
    unknown = loop.truncated(Example("P3", {"tokens": np.ones(12, np.int32)}, (0,), 1, signals=found["P3"][2]), 6)
    assert unknown.signals.residues is None


@pytest.mark.slow
def test_the_real_signal_file_matches_the_partitions_and_its_readme(deeploc2_dir, monkeypatch):
    directory = os.environ.get(signals.DATA_DIR_VARIABLE) or str(deeploc2_dir.parent / "deeploc2-signals")
    monkeypatch.setenv(signals.DATA_DIR_VARIABLE, directory)
    examples = datasets.get("deeploc2").examples("train", None, deeploc2_dir)
    labelled = [e for e in examples if e.signals is not None]
    assert len(examples) == 28303 and len(labelled) == 1874
    assert sum(e.signals.residues is None for e in labelled) == 129
    assert collections.Counter(e.fold for e in labelled) == {0: 424, 1: 313, 2: 375, 3: 359, 4: 403}
    counts = collections.Counter(signals.SIGNAL_TYPES[t] for e in labelled for t in e.signals.types)
    assert counts == {"SP": 1011, "TM": 258, "MT": 242, "NLS": 148, "PTS": 127, "GPI": 117, "NES": 100, "CH": 90,
                      "TH": 42}
    assert all(len(e.signals.residues) == len(e.sequence) for e in labelled if e.signals.residues is not None)
    monkeypatch.delenv(signals.DATA_DIR_VARIABLE)
    assert all(e.signals is None for e in datasets.get("deeploc2").examples("train", None, deeploc2_dir))
