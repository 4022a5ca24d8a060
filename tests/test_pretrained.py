"""The shipped model: loads, carries the class names, is small, and its card matches the benchmark results."""
import json
import pathlib

import keras
import numpy as np
import pytest

import protloc
from protloc import datasets, demo, evaluation, fusion, homology, models, pretrained, sequences
from protloc.cli import main

REPO = pathlib.Path(__file__).resolve().parents[1]
CLASS_NAMES = datasets.get("multiloc").class_names


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_shipped_models_load_and_are_small(name):
    model = protloc.load_pretrained(name)
    card = pretrained.model_card(name)
    assert models.member_count(model) == card["members"]
    assert pretrained.model_path(name).stat().st_size < 1_500_000 * card["members"]
    assert models.class_names_of(model) == card["class_names"] == list(CLASS_NAMES)


def test_the_default_is_one_model_and_the_ensemble_has_several():
    assert pretrained.model_card()["members"] == 1 and pretrained.model_card("pretrained-ensemble")["members"] > 1
    with pytest.raises(ValueError, match="no shipped model is called 'best'"):
        protloc.load_pretrained("best")


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_card_numbers_come_from_the_benchmark(name):
    card = pretrained.model_card(name)
    results = json.loads((REPO / card["benchmark_results"]).read_text())
    assert results["command"] == card["benchmark_command"]
    if card["members"] == 1:
        measured = results["models"][card["name"]]["report"]
    else:
        measured = next(p for p in results["ensemble_curve"] if p["members"] == card["members"])
    assert card["test_accuracy"] == measured["accuracy"] and card["test_proteins"] == 1193


def test_demo_shows_known_and_predicted_compartments_of_the_example_proteins(capsys):
    found = demo.rows()
    records = list(sequences.read_fasta(pretrained.EXAMPLES))
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


def test_the_ensemble_predicts_the_example_proteins_as_its_members_average(tmp_path):
    out = tmp_path / "ensemble.tsv"
    assert main(["predict", str(pretrained.EXAMPLES), "-o", str(out), "--model", "pretrained-ensemble", "--no-homology"]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()[1:]]
    ensemble = protloc.load_pretrained("pretrained-ensemble")
    first = next(iter(sequences.read_fasta(pretrained.EXAMPLES)))
    tokens = {"tokens": sequences.encode_sequence(first.sequence)[None]}
    members = [layer for layer in ensemble.layers if isinstance(layer, keras.Model)]
    expected = np.mean([member.predict(tokens, verbose=0)[0] for member in members], axis=0)
    assert len(members) == pretrained.model_card("pretrained-ensemble")["members"]
    assert len(rows) == 11 and rows[0][0] == first.id
    np.testing.assert_allclose(np.array(rows[0][5:], dtype=float), expected, atol=2e-6)


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_shipped_models_predict_the_examples_as_before_the_dict_inputs(name, tmp_path):
    """tests/data/NAME-examples.tsv: `protloc predict examples/proteins.fasta --model NAME` with protloc 0.1's
    files (token-tensor input), before benchmarks/resave_pretrained.py re-saved them with dict inputs."""
    out = tmp_path / "now.tsv"
    assert main(["predict", str(pretrained.EXAMPLES), "-o", str(out), "--model", name, "--no-homology"]) == 0
    before = [line.split("\t") for line in (REPO / "tests" / "data" / f"{name}-examples.tsv").read_text().splitlines()]
    now = [line.split("\t") for line in out.read_text().splitlines()]
    assert now[0][4] == "flags" and {row[4] for row in now[1:]} == {""}  # full-length, unambiguous proteins
    now = [row[:4] + row[5:] for row in now]
    assert [row[:3] for row in now] == [row[:3] for row in before]
    np.testing.assert_allclose(np.array([row[3:] for row in now[1:]], dtype=float),
                               np.array([row[3:] for row in before[1:]], dtype=float), atol=1e-6)
    assert models.input_names(protloc.load_pretrained(name)) == ["tokens"]


def test_the_default_models_test_split_accuracy_is_its_cards(multiloc_dir):
    report = evaluation.evaluate_examples(protloc.load_pretrained(), datasets.get("multiloc").examples(
        "test", directory=multiloc_dir))
    assert report["n"] == 1193 and report["accuracy"] == pretrained.model_card()["test_accuracy"]


def test_the_shipped_reference_is_the_training_split_and_never_the_test_split(multiloc_dir):
    spec = datasets.get("multiloc")
    reference = homology.ReferenceSet.read(pretrained.REFERENCE, CLASS_NAMES)
    train = spec.examples("train", directory=multiloc_dir)
    assert reference.ids == tuple(e.id for e in train) and reference.labels == tuple(e.label for e in train)
    assert reference.sequences == tuple(e.sequence for e in train)
    assert not set(reference.ids) & {e.id for e in spec.examples("test", directory=multiloc_dir)}


@pytest.mark.parametrize("name", sorted(pretrained.SHIPPED))
def test_shipped_fusion_parameters_were_fitted_on_a_training_fold(name):
    rule = fusion.Fusion.load(pretrained.fusion_path(name))
    provenance = rule.provenance
    assert all(config["fold"] is not None for config in provenance["fold_run_configs"])
    assert "training fold" in provenance["data"]
    assert provenance["fit"]["accuracy_fused"] > provenance["fit"]["accuracy_network"]
    results = json.loads((REPO / "benchmarks" / "results" / "homology.json").read_text())
    members = models.member_count(models.load_pretrained(name))
    fitted = results["fusions"][min(members, len(results["fusions"])) - 1]
    assert fusion.Fusion(**fitted) == rule


def test_the_shipped_models_use_homology_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out.tsv"
    assert main(["predict", str(pretrained.EXAMPLES), "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0][4:8] == ["evidence", "neighbour", "neighbour_identity", "neighbour_class"]
    assert len(rows) == 12 and {row[4] for row in rows[1:]} <= {"both", "homology", "network"}
    shipped = homology.ReferenceSet.read(pretrained.REFERENCE, CLASS_NAMES)
    label_of = dict(zip(shipped.ids, shipped.labels))
    for row in rows[1:]:
        if row[5]:  # a neighbour: a training protein, with its class
            assert CLASS_NAMES[label_of[row[5]]] == row[7] and 0 < float(row[6]) <= 1
        np.testing.assert_allclose(sum(map(float, row[9:])), 1, atol=1e-4)
