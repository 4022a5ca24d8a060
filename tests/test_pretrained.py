"""The shipped presets: directories whose cards say what they hold, small, carrying their class names; their tables
on the example proteins unchanged by the move into preset directories; their cards' figures reproduced."""
import json
import pathlib

import keras
import numpy as np
import pytest

from protloc import datasets, demo, evaluation, fusion, homology, models, preset, presets, sequences
from protloc.cli import main
from protloc.predictor import Localizer

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

REPO = pathlib.Path(__file__).resolve().parents[1]
CLASS_NAMES = datasets.get("multiloc").class_names
SHIPPED = presets.names()


def test_the_shipped_presets_are_the_documented_ones():
    assert SHIPPED == ["multiloc-paper", "pretrained-ensemble"] and presets.DEFAULT in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_presets_load_are_small_and_their_cards_match_their_networks(name):
    found = preset.load(name)
    localizer = Localizer.from_preset(name)
    assert localizer.uses_homology and localizer.class_names == found.class_names == list(CLASS_NAMES)
    assert models.member_count(localizer.network) == found.card["members"]
    assert found.file("model").stat().st_size < 1_500_000 * found.card["members"]
    for key in preset.FILE_KEYS:  # every file the card names is there, relative to the preset
        assert found.file(key) is None or found.file(key).is_file()


def test_names_of_earlier_versions_still_load_the_presets_they_stand_for():
    for old, new in presets.ALIASES.items():
        assert old not in SHIPPED and new in SHIPPED
        assert preset.load(old).directory == preset.load(new).directory
    assert preset.load("pretrained").name == "multiloc-paper"


def test_the_default_is_one_model_and_the_ensemble_has_several():
    assert preset.load("multiloc-paper").card["members"] == 1 and preset.load("pretrained-ensemble").card["members"] > 1


@pytest.mark.parametrize("name", SHIPPED)
def test_card_numbers_come_from_the_benchmark(name):
    figures = preset.load(name).card["figures"]
    results = json.loads((REPO / figures["results"]).read_text())
    assert results["command"] == figures["command"]
    if preset.load(name).card["members"] == 1:
        measured = results["models"]["rlstm"]["report"]
    else:
        measured = next(p for p in results["ensemble_curve"] if p["members"] == preset.load(name).card["members"])
    assert figures["test_accuracy"] == measured["accuracy"] and figures["test_proteins"] == 1193


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("evidence", ["homology", "network"])
def test_shipped_presets_predict_the_examples_as_before_the_move_into_preset_directories(name, evidence, tmp_path):
    """tests/data/NAME-examples-EVIDENCE.tsv: `protloc predict protloc/presets/examples.fasta --model NAME
    [--no-homology]` by protloc 0.1 at commit 1fb155d, when the shipped files lay flat in protloc/pretrained/ (the
    multiloc-paper preset was then `pretrained`)."""
    out = tmp_path / "now.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out), "--model", name,
                 *(["--no-homology"] if evidence == "network" else [])]) == 0
    before = [line.split("\t") for line in (REPO / "tests" / "data" / f"{name}-examples-{evidence}.tsv")
              .read_text().splitlines()]
    now = [line.split("\t") for line in out.read_text().splitlines()]
    first = before[0].index("flags") + 1
    assert now[0] == before[0] and [row[:first] for row in now[1:]] == [row[:first] for row in before[1:]]
    np.testing.assert_allclose(np.array([row[first:] for row in now[1:]], dtype=float),
                               np.array([row[first:] for row in before[1:]], dtype=float), atol=1e-6)


def test_demo_shows_known_and_predicted_compartments_of_the_example_proteins(capsys):
    found = demo.rows()
    records = list(sequences.read_fasta(presets.EXAMPLES))
    assert [r["id"] for r in found] == [r.id for r in records] and len(found) == 11
    assert [r["known"] for r in found] == list(CLASS_NAMES)  # one protein per compartment, in class order
    assert {r["predicted"] for r in found} <= set(CLASS_NAMES) and {r["evidence"] for r in found} <= {
        "both", "homology", "network"}
    assert sum(r["known"] == r["predicted"] for r in found) >= 8
    assert demo.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["protein", "length", "known", "predicted"] and len(lines) == 14
    right = sum(r["known"] == r["predicted"] for r in found)
    assert lines[-1].startswith(f"{right} of 11 right")


def test_the_ensemble_predicts_the_example_proteins_as_its_members_average():
    localizer = Localizer.from_preset("pretrained-ensemble", homology_evidence=False)
    first = next(iter(sequences.read_fasta(presets.EXAMPLES)))
    tokens = {"tokens": sequences.encode_sequence(first.sequence)[None]}
    members = [layer for layer in localizer.network.layers if isinstance(layer, keras.Model)]
    expected = np.mean([member.predict(tokens, verbose=0)[0] for member in members], axis=0)
    assert len(members) == preset.load("pretrained-ensemble").card["members"]
    np.testing.assert_allclose(next(localizer.predict([first])).probabilities, expected, atol=2e-6)


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_presets_test_split_accuracy_is_their_cards(name, multiloc_dir):
    localizer = Localizer.from_preset(name, homology_evidence=False)
    test = datasets.get("multiloc").examples("test", directory=multiloc_dir)
    final = localizer.predict_examples(test).final
    accuracy = float(np.mean(final.argmax(-1) == datasets.labels_of(test)))
    assert len(test) == 1193 and accuracy == preset.load(name).card["figures"]["test_accuracy"]


def test_the_shipped_reference_is_the_training_split_and_never_the_test_split(multiloc_dir):
    spec = datasets.get("multiloc")
    reference = homology.ReferenceSet.read(preset.load("multiloc-paper").file("reference"), CLASS_NAMES)
    train = spec.examples("train", directory=multiloc_dir)
    assert reference.ids == tuple(e.id for e in train) and reference.labels == tuple((e.label,) for e in train)
    assert reference.sequences == tuple(e.sequence for e in train)
    assert not set(reference.ids) & {e.id for e in spec.examples("test", directory=multiloc_dir)}
    assert preset.load("pretrained-ensemble").file("reference").resolve() == preset.load("multiloc-paper").file(
        "reference").resolve()


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_fusion_parameters_were_fitted_on_a_training_fold(name):
    rule = fusion.Fusion.load(preset.load(name).file("fusion"))
    provenance = rule.provenance
    assert all(config["fold"] is not None for config in provenance["fold_run_configs"])
    assert "training fold" in provenance["data"]
    assert provenance["fit"]["accuracy_fused"] > provenance["fit"]["accuracy_network"]
    results = json.loads((REPO / "benchmarks" / "results" / "homology.json").read_text())
    members = preset.load(name).card["members"]
    fitted = results["fusions"][min(members, len(results["fusions"])) - 1]
    assert fusion.Fusion(**fitted) == rule


def test_the_shipped_presets_use_homology_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0][4:8] == ["evidence", "neighbour", "neighbour_identity", "neighbour_class"]
    assert len(rows) == 12 and {row[4] for row in rows[1:]} <= {"both", "homology", "network"}
    shipped = homology.ReferenceSet.read(preset.load("multiloc-paper").file("reference"), CLASS_NAMES)
    label_of = dict(zip(shipped.ids, shipped.labels))
    for row in rows[1:]:
        if row[5]:  # a neighbour: a training protein, with its class
            assert CLASS_NAMES[label_of[row[5]][0]] == row[7] and 0 < float(row[6]) <= 1
        np.testing.assert_allclose(sum(map(float, row[9:])), 1, atol=1e-4)


def test_the_shipped_test_accuracy_with_homology_is_the_benchmarks(multiloc_dir, tmp_path, monkeypatch):
    """protloc evaluate --homology reproduces homology.md's fused row of the default preset."""
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    assert main(["evaluate", "multiloc-paper", "--homology", "--out", str(tmp_path), "--data-dir", str(multiloc_dir)]) == 0
    report = json.loads((tmp_path / "evaluation-test-homology.json").read_text())
    results = json.loads((REPO / "benchmarks" / "results" / "homology.json").read_text())
    assert report["accuracy"] == pytest.approx(results["rows"]["pretrained: fused with homology"]["accuracy"],
                                               abs=1 / 1193)
    assert evaluation.wilson_interval(round(report["accuracy"] * 1193), 1193)[0] > 0.88
