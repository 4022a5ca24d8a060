"""DeepLoc's own files (--format deeploc2 / deeploc1): byte for byte against fixtures written from the format rules,
read back by the parser pipelines use (predector-utils for DeepLoc 1.0) and by the column rules IsoformSwitchAnalyzeR
enforces for DeepLoc 2.0."""
import csv
import dataclasses
import io
import re

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import sequences
from protloc.prediction import deeploc_formats, presets
from protloc.prediction.predictor import Prediction
from protloc.prediction.table import Layout

DEEPLOC2_CLASSES = ("cytoplasm", "nucleus", "extracellular", "plasma_membrane", "mitochondrion", "plastid", "er",
                    "lysosome_vacuole", "golgi", "peroxisome")
MULTILOC_CLASSES = ("er", "golgi", "chloroplast", "cytoplasm", "extracellular", "lysosome", "mitochondrion",
                    "nucleus", "peroxisome", "plasma_membrane", "vacuole")


def multi_label_predictions():
    first = np.array([0.4495, 0.9, 0, 0, 0, 0, 0, 0, 0, 1.0], np.float32)
    second = np.array([0.00001, 0.25, 0.99995, 0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7], np.float32)
    return [Prediction("sp|P1|ONE", 10, first, first, locations=(9, 1, 0), membrane=0.12345),
            Prediction("P2", 20, second, second, locations=(2,), membrane=0.98765)]


def written(predictions, layout, format):
    out = io.StringIO()
    count = deeploc_formats.write(predictions, layout, out, format)
    return count, out.getvalue()


def test_deeploc2_file_byte_for_byte():
    layout = Layout(DEEPLOC2_CLASSES, multi_label=True, membrane=True)
    count, text = written(multi_label_predictions(), layout, "deeploc2")
    # the rules: header; first header word; locations |-joined in column order; empty Signals; float32 rounded to 4
    # decimals, written as the double it is (0.4495 -> 0.4494999945163727, 0.00001 -> 0.0, 0.99995 -> 1.0)
    assert count == 2 and text == (
        "Protein_ID,Localizations,Signals,Cytoplasm,Nucleus,Extracellular,Cell membrane,Mitochondrion,Plastid,"
        "Endoplasmic reticulum,Lysosome/Vacuole,Golgi apparatus,Peroxisome\n"
        "sp|P1|ONE,Cytoplasm|Nucleus|Peroxisome,,0.4494999945163727,0.8999999761581421,0.0,0.0,0.0,0.0,0.0,0.0,0.0,"
        "1.0\n"
        "P2,Extracellular,,0.0,0.25,1.0,0.5,0.10000000149011612,0.20000000298023224,0.30000001192092896,"
        "0.4000000059604645,0.6000000238418579,0.699999988079071\n")


def test_deeploc2_numbers_are_the_float32_values_rounded_to_4_decimals():
    for value in np.random.default_rng(0).random(200):
        written_value = float(deeploc_formats.deeploc2_number(value))
        assert written_value == float(np.float32(round(float(np.float32(value)), 4))) or abs(
            written_value - float(np.float32(value))) <= 5.0001e-5


def test_single_label_presets_map_onto_deeploc_locations():
    probabilities = np.array([0.05, 0.05, 0.1, 0.1, 0.05, 0.2, 0.05, 0.05, 0.05, 0.05, 0.25], np.float32)
    prediction = Prediction("Q1", 5, probabilities, probabilities, locations=(10,))
    _, text = written([prediction], Layout(MULTILOC_CLASSES), "deeploc2")
    row = text.splitlines()[1].split(",")
    assert row[1] == "Lysosome/Vacuole"  # vacuole, the most probable class
    assert float(row[3 + deeploc_formats.DEEPLOC_LOCATIONS.index("Lysosome/Vacuole")]) == pytest.approx(0.45, abs=1e-6)
    assert float(row[3 + deeploc_formats.DEEPLOC_LOCATIONS.index("Plastid")]) == pytest.approx(0.1, abs=1e-6)


def test_a_class_without_a_deeploc_column_and_deeploc1_without_membrane_are_refused():
    with pytest.raises(ValueError, match="no column for class.*centrosome"):
        written([], Layout(("nucleus", "centrosome"), multi_label=True), "deeploc2")
    with pytest.raises(ValueError, match="needs a preset with a membrane output"):
        written([], Layout(MULTILOC_CLASSES), "deeploc1")


def test_an_identifier_the_format_cannot_hold_is_refused():
    prediction = multi_label_predictions()[1]
    comma = Prediction("a,b", 3, prediction.probabilities, prediction.network, locations=(1,), membrane=0.5)
    with pytest.raises(ValueError, match="'a,b' cannot be written in DeepLoc's format"):
        written([comma], Layout(DEEPLOC2_CLASSES, multi_label=True, membrane=True), "deeploc2")


def test_deeploc1_file_byte_for_byte_and_read_by_predector_utils():
    from predectorutils.analyses import DeepLoc

    layout = Layout(DEEPLOC2_CLASSES, multi_label=True, membrane=True)
    count, text = written(multi_label_predictions(), layout, "deeploc1")
    assert count == 2 and text == (
        "ID\tLocation\tMembrane\tNucleus\tCytoplasm\tExtracellular\tMitochondrion\tCell_membrane\t"
        "Endoplasmic_reticulum\tPlastid\tGolgi_apparatus\tLysosome/Vacuole\tPeroxisome\n"
        "sp|P1|ONE\tPeroxisome\t0.1235\t0.9000\t0.4495\t0.0000\t0.0000\t0.0000\t0.0000\t0.0000\t0.0000\t0.0000\t1.0000\n"
        "P2\tExtracellular\t0.9877\t0.2500\t0.0000\t0.9999\t0.1000\t0.5000\t0.3000\t0.2000\t0.6000\t0.4000\t0.7000\n")
    parsed = list(DeepLoc.from_file(io.StringIO(text)))
    assert [(r.name, r.prediction, r.membrane, r.peroxisome) for r in parsed] == [
        ("sp|P1|ONE", "Peroxisome", 0.1235, 1.0), ("P2", "Extracellular", 0.9877, 0.7)]


def isoformswitchanalyzer_rules(text: str) -> list[dict]:
    """The checks analyzeDeepLoc2 applies to a DeepLoc 2.0 file: comma-separated, 13 columns with exactly DeepLoc's
    names, every probability numeric (its probabilityCutoff compares them), Localizations never empty."""
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == deeploc_formats.DEEPLOC2_HEADER and len(rows[0]) == 13
    records = []
    for row in rows[1:]:
        assert len(row) == 13 and row[1]
        assert set(row[1].split("|")) <= set(deeploc_formats.DEEPLOC_LOCATIONS)
        numbers = [float(cell) for cell in row[3:]]
        assert all(0.0 <= number <= 1.0 for number in numbers)
        records.append(dict(zip(rows[0], row)))
    return records


@pytest.mark.slow
def test_predict_writes_deeploc2_into_a_results_directory_as_deeploc_does(tmp_path):
    out = tmp_path / "results"
    assert main(["predict", str(presets.EXAMPLES), "--format", "deeploc2", "-o", f"{out}/", "--no-homology"]) == 0
    written_files = list(out.iterdir())
    assert len(written_files) == 1 and re.fullmatch(r"results_\d{8}-\d{6}\.csv", written_files[0].name)
    records = isoformswitchanalyzer_rules(written_files[0].read_text())
    assert [r["Protein_ID"] for r in records] == [r.id for r in sequences.read_fasta(presets.EXAMPLES)]
    tsv = tmp_path / "same.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(tsv), "--no-homology"]) == 0
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    names = deeploc_formats.CLASS_TO_DEEPLOC
    assert [r["Localizations"] for r in records] == [
        "|".join(sorted((names[name] for name in row[2].split("|")), key=deeploc_formats.DEEPLOC_LOCATIONS.index))
        for row in rows[1:]]
    # an existing directory works the same way, and the written file is all that is in it
    assert main(["predict", str(presets.EXAMPLES), "--format", "deeploc2", "-o", str(out), "--no-homology"]) == 0
    assert all(re.fullmatch(r"results_\d{8}-\d{6}\.csv", path.name) for path in out.iterdir())


@pytest.mark.slow
def test_predict_writes_deeploc1_that_predector_utils_reads_with_the_same_locations(tmp_path):
    from predectorutils.analyses import DeepLoc

    out = tmp_path / "deeploc.txt"
    assert main(["predict", str(presets.EXAMPLES), "--format", "deeploc1", "-o", str(out), "--no-homology"]) == 0
    json_out = tmp_path / "out.json"
    assert main(["predict", str(presets.EXAMPLES), "--format", "json", "-o", str(json_out), "--no-homology"]) == 0
    import json

    rows = json.loads(json_out.read_text())
    with open(out) as handle:
        parsed = list(DeepLoc.from_file(handle))
    assert [r.name for r in parsed] == [row["id"] for row in rows]
    for record, row in zip(parsed, rows):
        best = max(DEEPLOC2_CLASSES, key=lambda name: row[name])
        assert record.prediction == deeploc_formats.DEEPLOC1_NAMES[deeploc_formats.CLASS_TO_DEEPLOC[best]]
        assert record.membrane == pytest.approx(row["membrane"], abs=5.1e-5)
        assert isinstance(row["locations"], list) and row["locations"]


def test_deeploc2_signals_are_written_in_deeploc_order_and_names_and_gpi_is_left_out():
    layout = Layout(DEEPLOC2_CLASSES, multi_label=True, membrane=True, signals=True)
    first, second = multi_label_predictions()
    predictions = [dataclasses.replace(first, signals=("PTS", "SP", "GPI")), dataclasses.replace(second, signals=())]
    _, text = written(predictions, layout, "deeploc2")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["Signals"] for row in rows] == ["Signal peptide|Peroxisomal targeting signal", ""]
    deeploc_names = {"Signal peptide", "Transmembrane domain", "Mitochondrial transit peptide",
                     "Chloroplast transit peptide", "Thylakoid luminal transit peptide", "Nuclear localization signal",
                     "Nuclear export signal", "Peroxisomal targeting signal"}  # the names DeepLoc 2.0's parsers accept
    assert all(name in deeploc_names for row in rows for name in filter(None, row["Signals"].split("|")))
