"""The shipped presets: directories whose cards say what they hold, small, carrying their class names; the tables of
the older MultiLoc presets on the example proteins unchanged by the move into preset directories; every card's
figures reproduced."""
import json
import pathlib
import re

import keras
import numpy as np
import pytest

from protloc.apps import demo
from protloc.apps.cli import main
from protloc.data import datasets, sequences
from protloc.evidence import fusion, homology
from protloc.models import zoo
from protloc.prediction import preset, presets
from protloc.prediction.predictor import Localizer
from protloc.training import evaluation

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

REPO = pathlib.Path(__file__).resolve().parents[1]
CLASS_NAMES = datasets.get("multiloc").class_names
SHIPPED = presets.names()
MULTILOC = ["multiloc", "multiloc-ensemble", "multiloc-paper"]
"""The single-label presets of MultiLoc's 11 compartments."""
LEGACY = ["multiloc-paper"]
"""The presets shipped before presets had directories, whose network-alone figure comes from the Table 1 benchmark."""


def card_accuracy(name: str, homology_evidence: bool = False) -> float:
    """A MultiLoc preset's test-split accuracy, as its card records it."""
    figures = preset.load(name).card["figures"]
    if name in LEGACY and not homology_evidence:
        return figures["test_accuracy"]
    return figures["evaluation-test-homology" if homology_evidence else "evaluation-test"]["accuracy"]


def test_the_shipped_presets_are_the_documented_ones():
    assert SHIPPED == ["deeploc2", *MULTILOC] and presets.DEFAULT in SHIPPED and demo.PRESET == presets.DEFAULT


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_presets_load_are_small_and_their_cards_match_their_networks(name):
    found = preset.load(name)
    localizer = Localizer.from_preset(name)
    classes = list(datasets.get(found.card["dataset"]).class_names)
    assert localizer.uses_homology and localizer.class_names == found.class_names == classes
    assert localizer.multi_label == (found.card["dataset"] == "deeploc2")
    assert zoo.member_count(localizer.network) == found.card["members"]
    assert found.file("model").stat().st_size < 1_500_000 * found.card["members"]
    for key in preset.FILE_KEYS:  # every file the card names is there, relative to the preset
        assert found.file(key) is None or found.file(key).is_file()


def test_names_of_earlier_versions_still_load_the_presets_they_stand_for():
    for old, new in presets.ALIASES.items():
        assert old not in SHIPPED and new in SHIPPED
        assert preset.load(old).directory == preset.load(new).directory
    assert preset.load("pretrained").name == "multiloc-paper"


def test_the_default_is_one_model_and_the_ensemble_has_several():
    assert preset.load(presets.DEFAULT).card["members"] == 1 and preset.load("multiloc-ensemble").card["members"] == 10


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_card_numbers_come_from_the_benchmark(name):
    figures = preset.load(name).card["figures"]
    results = json.loads((REPO / figures["results"]).read_text())
    assert results["command"] == figures["command"]
    if preset.load(name).card["members"] == 1:
        measured = results["models"]["rlstm"]["report"]
    else:
        measured = next(p for p in results["ensemble_curve"] if p["members"] == preset.load(name).card["members"])
    assert figures["test_accuracy"] == measured["accuracy"] and figures["test_proteins"] == 1193
    fused = figures["evaluation-test-homology"]  # with homology: its own evaluation report
    assert fused["accuracy"] == json.loads((REPO / fused["results"]).read_text())["accuracy"]
    assert fused["command"].startswith(f"protloc evaluate protloc/prediction/presets/{name} --split test --homology")


@pytest.mark.parametrize("name", ["multiloc", "multiloc-ensemble"])
def test_card_numbers_are_the_evaluation_reports_they_name(name):
    figures = preset.load(name).card["figures"]
    for stem in ("evaluation-test", "evaluation-test-homology"):
        report = json.loads((REPO / figures[stem]["results"]).read_text())
        assert figures[stem]["accuracy"] == report["accuracy"] and figures[stem]["n"] == report["n"] == 1193
        assert re.match(rf"protloc evaluate protloc/(prediction/)?presets/{name} --split test", figures[stem]["command"])
    assert ("--homology" in figures["evaluation-test-homology"]["command"]) and (
        "--homology" not in figures["evaluation-test"]["command"])


def test_the_deeploc2_card_holds_the_cross_validation_it_names():
    figures = preset.load("deeploc2").card["figures"]["cross-validation"]
    results = json.loads((REPO / figures["results"]).read_text())
    assert figures["command"] == results["command"] and re.search(r"--card \S*presets/deeploc2", figures["command"])
    for row in ("network alone", "fused with homology"):
        pooled = results["rows"][row]["pooled"]
        assert figures[row.replace(" ", "_")] == {key: pooled[key] for key in figures[row.replace(" ", "_")]}
        assert pooled["n"] == 28303


def test_the_deeploc2_preset_holds_all_the_data_its_thresholds_and_a_rule_per_location(deeploc2_dir):
    found = preset.load("deeploc2")
    spec = datasets.get("deeploc2")
    examples = spec.examples("train", None, deeploc2_dir)
    reference = homology.ReferenceSet.read(found.file("reference"), spec.class_names)
    assert reference.ids == tuple(e.id for e in examples) and len(reference) == 28303
    assert reference.labels == tuple(tuple(e.label) for e in examples)
    localizer = Localizer.from_preset("deeploc2")
    assert localizer.multi_label and isinstance(localizer.fusion, fusion.MultiLabelFusion)
    assert len(set(localizer.thresholds["network"])) > 1 and len(set(localizer.thresholds["fused"])) > 1
    assert "--fold-run benchmarks/weights/deeploc2-fold4" in localizer.fusion.provenance["command"]


def test_the_deeploc2_preset_answers_with_locations_and_membrane(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out), "--model", "deeploc2"]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    classes = datasets.get("deeploc2").class_names
    assert rows[0][:5] == ["id", "length", "locations", "membrane", "evidence"] and rows[0][-len(classes):] == list(classes)
    for row in rows[1:]:
        assert row[2] and set(row[2].split("|")) <= set(classes) and 0 <= float(row[3]) <= 1


@pytest.mark.parametrize("name", LEGACY)
@pytest.mark.parametrize("evidence", ["homology", "network"])
def test_shipped_presets_predict_the_examples_as_before_the_move_into_preset_directories(name, evidence, tmp_path):
    """tests/data/NAME-examples-EVIDENCE.tsv: `protloc predict protloc/prediction/presets/examples.fasta --model NAME
    [--no-homology]` by protloc 0.1 at commit 1fb155d, when the shipped files lay flat in protloc/pretrained/ (the
    multiloc-paper preset was then `pretrained`)."""
    out = tmp_path / "now.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out), "--model", name,
                 *(["--no-homology"] if evidence == "network" else [])]) == 0
    before = [line.split("\t") for line in (REPO / "tests" / "data" / f"{name}-examples-{evidence}.tsv")
              .read_text().splitlines()]
    now = [line.split("\t") for line in out.read_text().splitlines()]
    assert now[0] == before[0]
    # words exactly; numbers within the file's last digit and one more, as float results differ between CPUs
    numeric = [index for index, column in enumerate(before[0]) if column == "confidence"
               or column in preset.load(name).card["class_names"]]
    words = [index for index in range(len(before[0])) if index not in numeric]
    assert [[row[i] for i in words] for row in now[1:]] == [[row[i] for i in words] for row in before[1:]]
    np.testing.assert_allclose(np.array([[row[i] for i in numeric] for row in now[1:]], dtype=float),
                               np.array([[row[i] for i in numeric] for row in before[1:]], dtype=float), atol=2e-6)


def test_demo_shows_known_and_predicted_locations_of_the_example_proteins_with_the_default_preset(capsys):
    found = demo.rows()  # demo.PRESET, the default
    records = list(sequences.read_fasta(presets.EXAMPLES))
    locations = preset.load(presets.DEFAULT).card["class_names"]
    assert [r["id"] for r in found] == [r.id for r in records] and len(found) == 11
    # one protein per MultiLoc compartment, in class order, read as DeepLoc 2.0's locations
    assert [r["known"] for r in found] == [demo.MULTILOC_TO_DEEPLOC2.get(name, name) for name in CLASS_NAMES]
    assert all(r["predicted"] and set(r["predicted"]) <= set(locations) for r in found)
    assert all(r["right"] == (r["known"] in r["predicted"]) and 0 <= r["membrane"] <= 1 for r in found)
    assert {r["evidence"] for r in found} <= {"both", "homology", "network"} and sum(r["right"] for r in found) >= 8
    # the proteins that are among the preset's own training proteins are the ones its reference holds
    reference = set(homology.ReferenceSet.read(preset.load(presets.DEFAULT).file("reference"), locations).ids)
    assert [r["in_reference"] for r in found] == [r["id"] in reference for r in found] and any(
        r["in_reference"] for r in found)
    assert demo.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:5] == ["protein", "length", "known", "predicted", "membrane"] and len(lines) == 16
    assert sum(line.endswith(" *") for line in lines) == sum(r["in_reference"] for r in found)


def test_the_ensemble_predicts_the_example_proteins_as_its_members_average():
    localizer = Localizer.from_preset("multiloc-ensemble", homology_evidence=False)
    first = next(iter(sequences.read_fasta(presets.EXAMPLES)))
    tokens = {"tokens": sequences.encode_sequence(first.sequence)[None]}
    members = [layer for layer in localizer.network.layers if isinstance(layer, keras.Model)]
    expected = np.mean([member.predict(tokens, verbose=0)[0] for member in members], axis=0)
    assert len(members) == preset.load("multiloc-ensemble").card["members"]
    np.testing.assert_allclose(next(localizer.predict([first])).probabilities, expected, atol=2e-6)


@pytest.mark.parametrize("name", MULTILOC)
def test_the_shipped_presets_test_split_accuracy_is_their_cards(name, multiloc_dir):
    localizer = Localizer.from_preset(name, homology_evidence=False)
    test = datasets.get("multiloc").examples("test", directory=multiloc_dir)
    final = localizer.predict_examples(test).final
    accuracy = float(np.mean(final.argmax(-1) == datasets.labels_of(test)))
    assert len(test) == 1193 and accuracy == card_accuracy(name)


def test_the_shipped_reference_is_the_training_split_and_never_the_test_split(multiloc_dir):
    spec = datasets.get("multiloc")
    reference = homology.ReferenceSet.read(preset.load("multiloc-paper").file("reference"), CLASS_NAMES)
    train = spec.examples("train", directory=multiloc_dir)
    assert reference.ids == tuple(e.id for e in train) and reference.labels == tuple((e.label,) for e in train)
    assert reference.sequences == tuple(e.sequence for e in train)
    assert not set(reference.ids) & {e.id for e in spec.examples("test", directory=multiloc_dir)}
    for name in MULTILOC:
        assert preset.load(name).file("reference").resolve() == preset.load("multiloc-paper").file("reference").resolve()


@pytest.mark.parametrize("name", MULTILOC)
def test_shipped_fusion_parameters_were_fitted_on_a_training_fold(name):
    rule = fusion.Fusion.load(preset.load(name).file("fusion"))
    provenance = rule.provenance
    assert all(config["fold"] is not None for config in provenance["fold_run_configs"])
    assert "training fold" in provenance["data"]
    assert provenance["fit"]["accuracy_fused"] > provenance["fit"]["accuracy_network"]


def test_the_default_preset_uses_homology_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0][4:8] == ["evidence", "neighbour", "neighbour_identity", "neighbour_class"]
    assert len(rows) == 12 and {row[4] for row in rows[1:]} <= {"both", "homology", "network"}
    found = preset.load(presets.DEFAULT)
    shipped = homology.ReferenceSet.read(found.file("reference"), found.class_names)
    label_of = dict(zip(shipped.ids, shipped.labels))
    assert any(row[5] for row in rows[1:])
    for row in rows[1:]:
        if row[5]:  # a neighbour: a training protein, with its classes
            assert "|".join(found.class_names[i] for i in label_of[row[5]]) == row[7] and 0 < float(row[6]) <= 1


@pytest.mark.parametrize("name", MULTILOC)
def test_the_shipped_test_accuracy_with_homology_is_the_cards(name, multiloc_dir, tmp_path, monkeypatch):
    """protloc evaluate --homology reproduces the card's fused figure (for multiloc-paper, homology.md's row)."""
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["evaluate", name, "--homology", "--out", str(tmp_path), "--data-dir", str(multiloc_dir)]) == 0
    report = json.loads((tmp_path / "evaluation-test-homology.json").read_text())
    assert report["accuracy"] == pytest.approx(card_accuracy(name, homology_evidence=True), abs=1 / 1193)
    assert evaluation.wilson_interval(round(report["accuracy"] * 1193), 1193)[0] > 0.88
