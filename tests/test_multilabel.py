"""Multi-label presets on a tiny synthetic data set: thresholds and the at-least-one rule, per-location fusion,
metrics against hand-computed values, the preset's save/load round trip with its thresholds, and the table."""
import json

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.evidence import fusion, homology, thresholds
from protloc.evidence.class_evidence import ClassEvidence
from protloc.models import zoo
from protloc.prediction import preset
from protloc.prediction.predictor import Localizer
from protloc.training import evaluation
from tests.helpers import MULTI_CLASSES, multi_label_spec, trained_run

SPEC = multi_label_spec(f"{__name__}:SPEC")


def test_thresholds_maximise_each_locations_mcc_and_every_protein_gets_a_location():
    probabilities = np.array([[0.9, 0.2], [0.7, 0.6], [0.4, 0.55], [0.2, 0.1], [0.35, 0.9]])
    labels = np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 1]])
    from sklearn.metrics import matthews_corrcoef

    found = thresholds.fit(probabilities, labels, objective="mcc")
    for column in range(2):  # no threshold at all separates them better than the one chosen
        best = max(matthews_corrcoef(labels[:, column], probabilities[:, column] >= t)
                   for t in [*probabilities[:, column], 1.0])
        assert matthews_corrcoef(labels[:, column], probabilities[:, column] >= found[column]) == pytest.approx(best)
    decided = thresholds.decide(probabilities, found)
    np.testing.assert_array_equal(decided[[0, 1, 2, 4]], probabilities[[0, 1, 2, 4]] >= found)
    assert decided[3].sum() == 1 and decided[3, np.argmax(probabilities[3] - found)]  # nothing reached: one location
    decided = thresholds.decide(np.array([[0.1, 0.3], [0.6, 0.45], [0.2, 0.2]]), np.array([0.5, 0.4]))
    np.testing.assert_array_equal(decided, [[0, 1], [1, 1], [0, 1]])  # none reached: the least below (-0.2 vs -0.4)
    assert decided.any(axis=1).all()


def test_f1_thresholds_maximise_each_locations_own_f1():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(5)
    labels = (rng.random((300, 3)) < [0.4, 0.15, 0.05]).astype(int)
    probabilities = np.clip(labels * rng.uniform(0.1, 0.5, (300, 3)) + rng.uniform(0, 0.6, (300, 3)), 0, 1)
    found = thresholds.fit(probabilities, labels, objective="f1")
    for column in range(3):  # no threshold at all gives the location a better F1 than the one chosen, within the grid
        best = max(f1_score(labels[:, column], probabilities[:, column] >= t, zero_division=0)
                   for t in probabilities[:, column])
        assert f1_score(labels[:, column], probabilities[:, column] >= found[column]) >= best - 0.02
    for other in (np.full(3, 0.5), thresholds.fit(probabilities, labels)):  # macro F1 before the at-least-one rule
        assert f1_score(labels, probabilities >= found, average="macro") >= f1_score(
            labels, probabilities >= other, average="macro")


def test_the_default_thresholds_maximise_micro_f1_over_all_locations():
    from sklearn.metrics import f1_score

    rng = np.random.default_rng(3)
    labels = (rng.random((400, 4)) < [0.5, 0.3, 0.1, 0.05]).astype(int)
    probabilities = np.clip(labels * rng.uniform(0.1, 0.6, (400, 4)) + rng.uniform(0, 0.5, (400, 4)), 0, 1)
    found = thresholds.fit(probabilities, labels)
    best = thresholds.micro_f1(thresholds.decide(probabilities, found), labels)
    assert best == pytest.approx(f1_score(labels, thresholds.decide(probabilities, found), average="micro"))
    for other in (np.full(4, 0.5), thresholds.fit(probabilities, labels, objective="mcc")):
        assert best >= thresholds.micro_f1(thresholds.decide(probabilities, other), labels)
    for c in range(4):  # no single threshold changed alone does better: a coordinate-wise optimum
        for nudge in (-0.05, 0.05):
            moved = found.copy()
            moved[c] += nudge
            assert thresholds.micro_f1(thresholds.decide(probabilities, moved), labels) <= best + 1e-12
    with pytest.raises(ValueError, match="objective must be one of"):
        thresholds.fit(probabilities, labels, objective="accuracy")


def test_thresholds_files_round_trip_and_bad_values_are_named(tmp_path):
    path = tmp_path / "thresholds.json"
    thresholds.save(path, {"network": np.array([0.3, 0.6]), "fused": np.array([0.2, 0.7])}, ["a", "b"])
    loaded = thresholds.load(path, ["a", "b"])
    np.testing.assert_array_equal(loaded["fused"], [0.2, 0.7])
    with pytest.raises(ValueError, match="not a thresholds file for the locations x, y"):
        thresholds.load(path, ["x", "y"])
    for bad in ("[0.3, NaN]", "[0.3, 1.5]", "[0.3]", '["0.3", 0.4]'):
        path.write_text(f'{{"class_names": ["a", "b"], "network": {bad}}}')
        with pytest.raises(ValueError, match="must hold 2 finite numbers in"):
            thresholds.load(path, ["a", "b"])


def test_multilabel_metrics_match_hand_computed_values():
    labels = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0]])
    decided = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 1, 0]])
    report = evaluation.multilabel_report(labels, decided, ["a", "b", "c"], [1, 0, 0, 1], [0.9, 0.2, 0.7, 0.4])
    # true positives 4 (a, a, c, b), false positives 1 (b of protein 3), false negatives 1 (b of protein 2)
    assert report["micro_f1"] == pytest.approx(2 * 4 / (2 * 4 + 1 + 1))
    assert report["macro_f1"] == pytest.approx((1.0 + 0.5 + 1.0) / 3)  # a: 1, b: P 1/2 R 1/2, c: 1
    assert report["subset_accuracy"] == pytest.approx(2 / 4)
    assert report["jaccard"] == pytest.approx((1 + 1 / 2 + 1 / 2 + 1) / 4)
    assert report["per_class"]["a"]["mcc"] == pytest.approx(1.0) and report["per_class"]["b"]["mcc"] == 0
    assert report["membrane"] == {"accuracy": 0.5, "mcc": 0.0, "support": 2}
    assert "Micro F1 **0.800**" in evaluation.multilabel_markdown(report, "t")


def test_per_location_fusion_learns_from_hits_and_keeps_proteins_without_hits():
    rng = np.random.default_rng(0)
    n, k = 600, 3
    labels = (rng.random((n, k)) < 0.3).astype(int)
    identity = np.where(labels == 1, rng.uniform(0.5, 1.0, (n, k)), rng.uniform(0.0, 0.3, (n, k)))
    has_hit = rng.random(n) < 0.8
    identity[~has_hit] = 0
    evidence = ClassEvidence(identity, identity, has_hit)
    network = np.clip(labels * 0.3 + rng.uniform(0.2, 0.5, (n, k)), 0.01, 0.99)  # weakly informative
    rule = fusion.fit_multi_label(network, evidence, labels, {"data": "synthetic"})
    fused, _ = rule.apply(network, evidence)
    assert rule.weights.shape == (3, 4) and (rule.weights[:, 1] + rule.weights[:, 2] > 0).all()
    assert rule.provenance["fit"]["log_loss_fused"] < rule.provenance["fit"]["log_loss_network"]
    np.testing.assert_allclose(fused[~has_hit], network[~has_hit], atol=1e-6)
    with pytest.raises(ValueError, match="finite numbers of shape"):
        fusion.MultiLabelFusion(np.full((3, 4), np.nan))


@pytest.fixture(scope="module")
def multi_run(tmp_path_factory):
    yield from trained_run(tmp_path_factory.mktemp("multi"), "--dataset", SPEC.name, "--fold", "0", "--epochs", "3",
                           "--batch-size", "8", "--lstm-units", "8", "--dense-units", "8")


def test_a_multi_label_run_is_a_preset_with_thresholds_and_a_per_location_fusion(multi_run, tmp_path):
    card = json.loads((multi_run / "preset.json").read_text())
    assert (card["label_scheme"], card["thresholds"], card["fusion"]) == ("multi", "thresholds.json", "fusion.json")
    saved = thresholds.load(multi_run / "thresholds.json", MULTI_CLASSES)
    assert set(saved) == {"network", "fused"}
    assert isinstance(fusion.load(multi_run / "fusion.json"), fusion.MultiLabelFusion)
    localizer = Localizer.from_preset(multi_run)
    assert localizer.multi_label and localizer.uses_homology
    np.testing.assert_array_equal(localizer.thresholds["fused"], saved["fused"])

    copy = tmp_path / "copy"  # the preset round trip: its files elsewhere give the same predictions
    copy.mkdir()
    for name in ("model.keras", "preset.json", "thresholds.json", "fusion.json", "reference.fasta.gz"):
        (copy / name).write_bytes((multi_run / name).read_bytes())
    examples = SPEC.examples("train")[:9]
    first, second = (Localizer.from_preset(path).predict_examples(examples) for path in (multi_run, copy))
    np.testing.assert_array_equal(first.decided, second.decided)
    np.testing.assert_allclose(first.final, second.final, atol=1e-6)
    assert first.decided.any(axis=1).all() and first.membrane.shape == (9,)


def test_predict_writes_locations_membrane_and_evidence_for_a_multi_label_preset(multi_run, tmp_path):
    examples = SPEC.examples("train")[:4]
    fasta = tmp_path / "q.fasta"
    fasta.write_text("".join(f">{e.id}\n{e.sequence}\n" for e in examples))
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta), "--model", str(multi_run), "-o", str(out)]) == 0
    header, *rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert header == ["id", "length", "locations", "membrane", "evidence", "neighbour", "neighbour_identity",
                      "neighbour_class", "flags", *MULTI_CLASSES]
    for row, example in zip(rows, examples):
        assert row[0] == example.id and set(row[2].split("|")) <= set(MULTI_CLASSES) and row[2]
        assert 0 <= float(row[3]) <= 1 and row[5] == example.id and row[6] == "1.000"  # itself, in the reference
        assert row[7] == "|".join(MULTI_CLASSES[i] for i in example.label)
    alone = tmp_path / "alone.tsv"
    assert main(["predict", str(fasta), "--model", str(multi_run), "--no-homology", "-o", str(alone)]) == 0
    assert alone.read_text().splitlines()[0].split("\t")[:5] == ["id", "length", "locations", "membrane", "flags"]


def test_evaluate_reports_multi_label_scores_of_the_held_out_fold(multi_run, capsys):
    assert main(["evaluate", str(multi_run), "--split", "validation"]) == 0
    report = json.loads((multi_run / "evaluation-validation.json").read_text())
    assert report["n"] == 24 and {"micro_f1", "macro_f1", "subset_accuracy", "jaccard", "membrane"} <= set(report)
    assert "Micro F1" in capsys.readouterr().out


def test_a_multi_label_ensemble_averages_each_output():
    members = [zoo.build_model("rlstm", MULTI_CLASSES, "multi", True, lstm_units=4, dense_units=4)
               for _ in range(2)]
    ensemble = zoo.build_ensemble(members)
    tokens = {"tokens": SPEC.examples("train")[0].features["tokens"][None]}
    outputs = [member.predict_on_batch(tokens) for member in members]
    together = ensemble.predict_on_batch(tokens)
    for name in ("locations", "membrane"):
        np.testing.assert_allclose(together[name], np.mean([o[name] for o in outputs], axis=0), atol=1e-6)
    assert zoo.label_scheme_of(ensemble) == "multi"


def test_a_multi_label_card_without_thresholds_is_refused(multi_run, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "model.keras").write_bytes((multi_run / "model.keras").read_bytes())
    card = {**json.loads((multi_run / "preset.json").read_text()), "thresholds": None, "fusion": None,
            "reference": None}
    (copy / "preset.json").write_text(json.dumps(card))
    with pytest.raises(preset.PresetError, match="multi-label preset needs its 'thresholds' file"):
        preset.load(copy)


def test_the_reference_of_a_multi_label_preset_holds_every_location_of_a_protein(multi_run):
    reference = homology.ReferenceSet.read(multi_run / "reference.fasta.gz", MULTI_CLASSES)
    by_id = dict(zip(reference.ids, reference.labels))
    assert all(by_id[e.id] == e.label for e in SPEC.examples("train"))


def test_the_saved_model_of_a_multi_label_preset_returns_probabilities_decisions_locations_and_membrane(multi_run, tmp_path):
    import tensorflow as tf

    from protloc.apps import export

    localizer = Localizer.from_preset(multi_run, homology_evidence=False)
    signature = tf.saved_model.load(str(export.export_saved_model(localizer, tmp_path / "1"))).signatures
    examples = SPEC.examples("train")[:5]
    served = signature["serving_default"](sequences=tf.constant([e.sequence for e in examples]))
    expected = localizer.predict_examples(examples)
    assert sorted(served) == ["decisions", "locations", "membrane", "probabilities"]
    np.testing.assert_allclose(served["probabilities"].numpy(), expected.final, atol=1e-5)
    np.testing.assert_array_equal(served["decisions"].numpy().astype(bool), expected.decided)
    assert [value.decode() for value in served["locations"].numpy()] == [
        "|".join(name for name, chosen in zip(localizer.class_names, row) if chosen) for row in expected.decided]
    np.testing.assert_allclose(served["membrane"].numpy(), expected.membrane, atol=1e-5)
