"""The deeploc2 data set spec: the real files (counts as their README gives them), the pinned checksums, bad rows
named with file, row and accession, and its protocol (cross-validation; no test split)."""
import gzip
import hashlib

import numpy as np
import pytest

from protloc.data import datasets
from protloc.data.datasets import deeploc2

HEADER = "accession,sequence,label,partition,kingdom,membrane\n"


def test_the_real_partitions_hold_what_the_data_readme_says(deeploc2_dir):
    spec = datasets.get("deeploc2")
    examples = spec.examples("train", directory=deeploc2_dir)
    assert len(examples) == 28303 and spec.label_scheme == "multi" and spec.membrane
    assert np.bincount([e.fold for e in examples]).tolist() == [5963, 5451, 5731, 5696, 5462]
    per_location = datasets.labels_of(examples, len(spec.class_names)).sum(axis=0)
    assert dict(zip(spec.class_names, per_location.tolist())) == {
        "cytoplasm": 9870, "nucleus": 9720, "extracellular": 3301, "plasma_membrane": 4187, "mitochondrion": 2590,
        "plastid": 1047, "er": 2180, "lysosome_vacuole": 1496, "golgi": 1279, "peroxisome": 304}
    assert sum(e.membrane for e in examples) == 8593 and {e.kingdom for e in examples} == set(deeploc2.KINGDOMS)
    assert np.bincount([len(e.label) for e in examples]).tolist() == [0, 21619, 5868, 672, 117, 27]
    with pytest.raises(ValueError, match="has no test split .*cross-validation over its 5 folds"):
        spec.examples("test", directory=deeploc2_dir)
    assert len(spec.examples("train", folds=[2], directory=deeploc2_dir)) == 5731


def test_plain_and_gzipped_files_are_read_and_an_altered_one_is_refused(tmp_path):
    text = HEADER + "P1,MKVLA,Cytoplasm|Nucleus,0,Metazoa,0.0\nP2,MKW,Cell membrane,0,Fungi,1.0\n"
    expected = {f"partition{k}.csv": hashlib.sha256(text.replace(",0,", f",{k},").encode()).hexdigest()
                for k in range(5)}
    (tmp_path / "partition0.csv").write_text(text)
    (tmp_path / "partition1.csv.gz").write_bytes(gzip.compress(text.replace(",0,", ",1,").encode()))
    path, read = deeploc2.partition_text(tmp_path, 0, expected)
    examples = deeploc2.parse_rows(read, 0, str(path))
    assert [(e.id, e.label, e.membrane, e.kingdom) for e in examples] == [
        ("P1", (0, 1), 0.0, "Metazoa"), ("P2", (3,), 1.0, "Fungi")]
    assert deeploc2.partition_text(tmp_path, 1, expected)[0].name == "partition1.csv.gz"
    (tmp_path / "partition0.csv").write_text(text + "P3,MKV,Nucleus,0,Metazoa,0.0\n")
    with pytest.raises(deeploc2.DataError, match=r"partition0\.csv has SHA-256 .* not the pinned DeepLoc 2\.0"):
        deeploc2.partition_text(tmp_path, 0, expected)
    with pytest.raises(datasets.DataNotFoundError, match="partition2.csv is missing"):
        deeploc2.partition_text(tmp_path, 2, expected)


@pytest.mark.parametrize("row, problem", [
    ("P1,MKV,Cytosol,0,Metazoa,0.0", "row 2 ('P1'): unknown location 'Cytosol'"),
    ("P1,MKV,Nucleus,3,Metazoa,0.0", "row 2 ('P1'): partition '3' in the file of partition 0"),
    ("P1,MKV,Nucleus,0,Bacteria,0.0", "row 2 ('P1'): unknown kingdom 'Bacteria'"),
    ("P1,MKV,Nucleus,0,Metazoa,0.5", "row 2 ('P1'): membrane must be 0.0 or 1.0"),
    ("P1,MK1V,Nucleus,0,Metazoa,0.0", "row 2 ('P1'): invalid character '1'"),
    ("P1,MKV,Nucleus,0", "row 2 ('P1'): 4 columns, expected 6"),
    (",MKV,Nucleus,0,Metazoa,0.0", "row 2 (''): no accession"),
])
def test_bad_rows_are_named_with_file_row_and_accession(row, problem):
    with pytest.raises(deeploc2.DataError, match="partition0.csv, " + problem.replace("(", r"\(").replace(")", r"\)")):
        deeploc2.parse_rows(HEADER + row + "\n", 0, "partition0.csv")


def test_without_its_directory_the_error_names_the_variable(monkeypatch):
    monkeypatch.delenv(deeploc2.DATA_DIR_VARIABLE, raising=False)
    with pytest.raises(datasets.DataNotFoundError, match=deeploc2.DATA_DIR_VARIABLE):
        datasets.get("deeploc2").examples("train")
