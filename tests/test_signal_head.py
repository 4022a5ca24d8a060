"""The sorting-signal head: per-residue signal classes and per-protein types derived from them, trained beside the
locations with proteins and residues without signal labels left out of the loss, on both backends, saved and loaded
in safe mode; on a tiny synthetic set a planted N-terminal motif is found where it is."""
import dataclasses
import json
import os
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

from protloc.data import datasets, pipeline
from protloc.data.datasets.deeploc2_signals import SignalLabels
from protloc.data.features import RESIDUE_SIGNAL_CLASSES, SIGNAL_NAMES, SIGNAL_TYPES
from protloc.models import losses, zoo
from protloc.models.layers import SignalTypes
from protloc.models.run_config import RunConfig
from protloc.training import loop
from tests.helpers import REPO, letters

MOTIF = [19, 19, 9, 9, 19, 19, 9, 9]
"""Tokens of the planted signal (W W K K W W K K), labelled a signal peptide (SP) residue by residue."""
SP = SIGNAL_TYPES.index("SP")
TINY = {"lstm_units": 8, "dense_units": 8, "conv_filters": [4, 4, 4, 0, 0, 0], "dropout": 0.0, "signals": True}


def make_examples(count: int = 48, seed: int = 3) -> list:
    """Proteins of 30-60 residues; every other one starts with :data:`MOTIF` (an SP, located in location 1, the
    others in location 0); every sixth protein has no signal labels, every fifth only its types."""
    rng = np.random.default_rng(seed)
    found = []
    for index in range(count):
        tokens = rng.integers(1, 18, int(rng.integers(30, 61))).astype(np.int32)  # no W or K outside the motif
        codes = np.zeros(len(tokens), np.int8)
        planted = index % 2 == 0
        if planted:
            tokens[:len(MOTIF)] = MOTIF
            codes[:len(MOTIF)] = SP + 1
        signals = SignalLabels((SP,) if planted else (), None if index % 5 == 4 else codes)
        found.append(datasets.Example(f"p{index}", {"tokens": tokens}, (1,) if planted else (0,), index % 3,
                                      letters(tokens), membrane=float(planted),
                                      signals=None if index % 6 == 5 else signals))
    return found


def read(split, directory=None):
    return make_examples()


SIGNALS = datasets.DatasetSpec("tests.test_signal_head:SIGNALS", ("cytoplasm", "extracellular"), 3, read,
                               label_scheme=datasets.MULTI_LABEL, splits=("train",), membrane=True)


def test_the_head_gives_residue_classes_and_types_that_follow_from_them():
    model = zoo.build_model("rlstm", SIGNALS.class_names, datasets.MULTI_LABEL, True, **TINY)
    assert set(model.output) == {"locations", "membrane", "signal_residues", "signal_types"}
    tokens = np.zeros((2, 40), np.int32)
    tokens[0, :40], tokens[1, :25] = 5, 7  # the second protein is padded
    outputs = model.predict_on_batch({"tokens": tokens})
    residues, types = np.asarray(outputs["signal_residues"]), np.asarray(outputs["signal_types"])
    assert residues.shape == (2, 40, len(RESIDUE_SIGNAL_CLASSES)) and types.shape == (2, len(SIGNAL_TYPES))
    np.testing.assert_allclose(residues.sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(types[0], residues[0, :, 1:].max(0), rtol=1e-6)
    np.testing.assert_allclose(types[1], residues[1, :25, 1:].max(0), rtol=1e-6)  # padding never counts
    assert SignalTypes().compute_output_shape([(None, None, 10), (None, None)]) == (None, 9)


def test_models_without_the_head_are_as_before_and_the_head_needs_multi_label():
    assert set(zoo.build_model("rlstm", SIGNALS.class_names, datasets.MULTI_LABEL, True, **{**TINY, "signals": False})
               .output) == {"locations", "membrane"}
    with pytest.raises(ValueError, match="for multi-label models"):
        zoo.build_model("rlstm", ("a", "b"), **TINY)
    with pytest.raises(ValueError, match="for multi-label data sets"):
        RunConfig.resolve(hparams={"signals": True}, dataset="tests.toy_data:TINY")


def test_batches_carry_signal_targets_with_unknowns_marked():
    examples = make_examples(12)
    batches = pipeline.BucketedBatches(examples, 12, boundaries=(), num_classes=2, signals=True)
    features, labels = batches[0]
    order = batches.order
    residues, types = labels["signal_residues"], labels["signal_types"]
    assert residues.shape == features["tokens"].shape and types.shape == (12, len(SIGNAL_TYPES))
    for row, index in enumerate(order):
        example, length = examples[index], len(examples[index].features["tokens"])
        assert (residues[row, length:] == -1).all()  # padding
        if example.signals is None:
            assert (types[row] == -1).all() and (residues[row] == -1).all()
        elif example.signals.residues is None:
            assert (residues[row, :length] == -1).all() and types[row, SP] == (SP in example.signals.types)
        else:
            np.testing.assert_array_equal(residues[row, :length], example.signals.residues)
    assert "signal_residues" not in pipeline.BucketedBatches(examples, 12, num_classes=2)[0][1]
    with pytest.raises(ValueError, match="for labelled multi-label examples"):
        pipeline.BucketedBatches([dataclasses.replace(e, label=None) for e in examples], 12, signals=True)


def test_the_masked_loss_counts_only_known_entries():
    loss = losses.MaskedBinaryCrossentropy()
    predicted = np.array([[0.9, 0.2], [0.5, 0.5]], np.float32)
    assert float(loss(np.full((2, 2), -1.0, np.float32), predicted)) == 0.0
    known = np.array([[1.0, 0.0], [-1.0, -1.0]], np.float32)
    expected = -(np.log(0.9) + np.log(0.8)) / 2
    np.testing.assert_allclose(float(loss(known, predicted)), expected, rtol=1e-5)
    assert losses.MaskedBinaryCrossentropy.from_config(loss.get_config()).name == loss.name


def test_training_without_signal_labels_is_refused_with_what_to_set(tmp_path):
    config = RunConfig.resolve(hparams={**TINY}, dataset="tests.test_multilabel:SPEC", epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="needs signal labels.*PROTLOC_DEEPLOC2_SIGNALS_DIR"):
        loop.train(tmp_path / "run", config, verbose=0)


def test_a_planted_n_terminal_signal_is_found_where_it_is_and_the_model_round_trips(tmp_path):
    keras.utils.set_random_seed(0)
    examples = make_examples()
    model = zoo.build_model("rlstm", SIGNALS.class_names, datasets.MULTI_LABEL, True, **TINY)
    loop.compile_model(model, 3e-3)
    model.fit(pipeline.batches(examples, 8, shuffle_seed=0, num_classes=2, signals=True), epochs=25, verbose=0, shuffle=False)
    fresh = make_examples(6, seed=11)
    tokens = fresh[0].features["tokens"][None]  # planted
    found = model.predict_on_batch({"tokens": tokens})
    calls = np.asarray(found["signal_residues"])[0].argmax(-1)
    assert (calls[:len(MOTIF)] == SP + 1).all() and (calls[len(MOTIF) + 2:] == 0).all()
    assert np.asarray(found["signal_types"])[0, SP] > 0.5
    plain = model.predict_on_batch({"tokens": fresh[1].features["tokens"][None]})
    assert np.asarray(plain["signal_types"])[0, SP] < 0.5 and (np.asarray(plain["signal_residues"])[0].argmax(-1)
                                                                == 0).all()
    path = tmp_path / "signals.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    again = loaded.predict_on_batch({"tokens": tokens})
    for name in ("locations", "signal_residues", "signal_types"):
        np.testing.assert_allclose(np.asarray(again[name]), np.asarray(found[name]), rtol=1e-5, atol=1e-6)


JAX_TRAINING = """
import json, sys
import keras
from protloc.data import pipeline
from protloc.models import zoo
from protloc.training import loop
from tests.test_signal_head import SIGNALS, TINY, make_examples
model = zoo.build_model("rlstm", SIGNALS.class_names, "multi", True, **TINY)
loop.compile_model(model, 3e-3)
history = model.fit(pipeline.batches(make_examples(), 8, shuffle_seed=0, num_classes=2, signals=True), epochs=2,
                    verbose=0)
model.save(sys.argv[1])
print(json.dumps({"backend": keras.backend.backend(), "losses": history.history["signal_residues_loss"]}))
"""


@pytest.mark.slow
def test_the_head_trains_on_jax_and_tensorflow_loads_what_it_saved(tmp_path):
    path = tmp_path / "jax.keras"
    done = subprocess.run([sys.executable, "-c", JAX_TRAINING, str(path)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(REPO)}, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["backend"] == "jax" and all(np.isfinite(report["losses"])) and report["losses"][-1] > 0
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert {"signal_residues", "signal_types"} <= set(loaded.output)


def test_region_scores_count_residues_per_type_and_cleavage_sites_within_three_residues():
    from protloc.training import signal_evaluation

    sp, mt, pts = (SIGNAL_TYPES.index(name) + 1 for name in ("SP", "MT", "PTS"))
    true = [np.array([sp] * 20 + [0] * 30), np.array([mt] * 30 + [0] * 20), np.array([0] * 47 + [pts] * 3),
            np.array([0] * 50)]
    predicted = [np.array([sp] * 22 + [0] * 28),   # site 2 residues late: found
                 np.array([mt] * 20 + [0] * 30),   # site 10 residues early: missed
                 np.array([0] * 47 + [pts] * 3),   # C-terminal PTS1: residues only
                 np.array([sp] * 5 + [0] * 45)]    # an SP called where there is none
    report = signal_evaluation.region_report(true, predicted)
    assert report["cleavage_sites"]["SP"] == {"proteins": 1, "found": 1, "recall": 1.0, "predicted": 2,
                                              "precision": 0.5}
    assert report["cleavage_sites"]["MT"]["recall"] == 0.0 and report["cleavage_sites"]["CH"]["proteins"] == 0
    residues = report["residues"]
    np.testing.assert_allclose([residues["SP"]["precision"], residues["SP"]["recall"]], [20 / 27, 1.0])
    np.testing.assert_allclose([residues["MT"]["precision"], residues["MT"]["recall"]], [1.0, 20 / 30])
    assert residues["PTS"]["f1"] == 1.0 and residues["GPI"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0,
                                                                "support": 0}
    assert signal_evaluation.first_region_end(np.array([0, 2, 2, 0, 2]), 2) == 2
    assert signal_evaluation.first_region_end(np.array([0, 0]), 2) is None
    types = signal_evaluation.type_report(np.eye(9, dtype=int)[[0, 2]], np.eye(9, dtype=int)[[0, 3]])
    assert types["per_class"]["SP"]["mcc"] == 1.0 and types["micro_f1"] == 0.5


def test_signal_regions_are_numbered_on_the_input_sequence_even_after_the_middle_cut():
    from protloc.prediction.predictor import signal_calls

    types = np.zeros(len(SIGNAL_TYPES))
    types[[SIGNAL_TYPES.index("SP"), SIGNAL_TYPES.index("PTS")]] = 0.9
    seen = np.zeros(10, int)
    seen[:3] = SIGNAL_TYPES.index("SP") + 1
    seen[-3:] = SIGNAL_TYPES.index("PTS") + 1
    seen[5] = SIGNAL_TYPES.index("MT") + 1  # a residue of a type not called: no region
    assert signal_calls(types, seen, 10, 10) == (("SP", "PTS"), (("SP", 1, 3), ("PTS", 8, 10)))
    # a 30-residue protein read as its first 5 and last 5 residues: the last three are residues 28-30
    assert signal_calls(types, seen, 30, 10) == (("SP", "PTS"), (("SP", 1, 3), ("PTS", 28, 30)))
    assert signal_calls(np.zeros(len(SIGNAL_TYPES)), seen, 10, 10) == ((), ())


@pytest.mark.slow
def test_predict_writes_the_signals_a_signal_preset_calls_in_every_format(tmp_path):
    from protloc.apps.cli import main

    run = tmp_path / "run"
    assert main(["train", "--dataset", SIGNALS.name, "--signals", "--epochs", "2", "--batch-size", "8",
                 "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">a\nWWKKWWKKACDEFGHILMNPQRSTACDEFGH\n>b\nACDEFGHILMNPQRSTVACDEFGHILMNPQRST\n")
    assert main(["predict", str(fasta), "--model", str(run), "--no-homology", "-o", str(tmp_path / "out.tsv")]) == 0
    header, *rows = [line.split("\t") for line in (tmp_path / "out.tsv").read_text().splitlines()]
    assert header[:5] == ["id", "length", "locations", "membrane", "signals"] and len(rows) == 2
    names = set("Signal peptide|Transmembrane domain|Mitochondrial transit peptide|Chloroplast transit peptide|"
                "Thylakoid luminal transit peptide|Nuclear localization signal|Nuclear export signal|"
                "Peroxisomal targeting signal|GPI anchor".split("|"))
    assert all(name in names for row in rows for name in filter(None, row[4].split("|")))
    assert main(["predict", str(fasta), "--model", str(run), "--no-homology", "--format", "json",
                 "-o", str(tmp_path / "out.json")]) == 0
    assert all(isinstance(row["signals"], list) for row in json.loads((tmp_path / "out.json").read_text()))
    assert main(["predict", str(fasta), "--model", str(run), "--no-homology", "--format", "deeploc2",
                 "-o", str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text().startswith("Protein_ID,Localizations,Signals,")
    from protloc.data.datasets import deeploc2_signals

    card = json.loads((run / "preset.json").read_text())  # the signal data's terms travel with the model
    assert card["data_terms"] == [deeploc2_signals.TERMS] and "CC BY-NC-ND 2.0" in deeploc2_signals.TERMS
    assert "CC BY 4.0" in datasets.get("deeploc2").terms and "Höglund" in datasets.get("multiloc").terms


@pytest.mark.slow
def test_the_saved_model_of_a_signal_preset_serves_the_signals_predict_calls(tmp_path):
    import tensorflow as tf

    from protloc.apps.cli import main
    from protloc.data import sequences
    from protloc.prediction.predictor import Localizer

    run = tmp_path / "run"
    assert main(["train", "--dataset", SIGNALS.name, "--signals", "--epochs", "1", "--batch-size", "8",
                 "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "saved" / "1")]) == 0
    served = tf.saved_model.load(str(tmp_path / "saved" / "1")).signatures["serving_default"]
    proteins = ["WWKKWWKKACDEFGHILMNPQRST", "ACDEFGHILMNPQRSTVWACDEFG"]
    out = served(sequences=tf.constant(proteins))
    assert out["signal_types"].shape == (2, len(SIGNAL_TYPES))
    localizer = Localizer.from_preset(run, homology_evidence=False)
    predicted = list(localizer.predict(sequences.ProteinRecord(str(i), str(i), p, i) for i, p in enumerate(proteins)))
    from protloc.data.features import SIGNAL_NAMES

    assert [value.decode() for value in out["signals"].numpy()] == [
        "|".join(SIGNAL_NAMES[code] for code in row.signals) for row in predicted]


@pytest.fixture(scope="module")
def signal_preset(tmp_path_factory):
    """A toy run with a sorting-signal head (a run directory is a preset)."""
    from protloc.apps.cli import main

    run = tmp_path_factory.mktemp("signal-preset") / "run"
    assert main(["train", "--dataset", SIGNALS.name, "--signals", "--epochs", "1", "--batch-size", "8",
                 "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
    return run


@pytest.mark.slow
def test_the_web_api_and_beam_carry_the_signals_column(signal_preset, tmp_path):
    from fastapi.testclient import TestClient

    from protloc.apps import beam
    from protloc.apps.cli import main
    from protloc.apps.serve.app import create_app
    from protloc.prediction.predictor import Localizer

    fasta = tmp_path / "in.fasta"
    fasta.write_text(">a\nWWKKWWKKACDEFGHILMNPQRSTACDEFGH\n>b\nACDEFGHILMNPQRSTVACDEFGHILMNPQRST\n")
    assert main(["predict", str(fasta), "--model", str(signal_preset), "--no-homology", "--format", "json",
                 "-o", str(tmp_path / "out.json")]) == 0
    expected = json.loads((tmp_path / "out.json").read_text())
    localizer = Localizer.from_preset(signal_preset, homology_evidence=False)
    with TestClient(create_app(localizer)) as client:
        job = client.post("/api/jobs", content=fasta.read_bytes()).json()["id"]
        for _ in range(600):
            if client.get(f"/api/jobs/{job}").json()["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        served = client.get(f"/api/jobs/{job}/results").json()
    assert "signals" in served["columns"]
    assert [row["signals"] for row in served["rows"]] == [row["signals"] for row in expected]
    out = tmp_path / "beam" / "pred"
    assert beam.main(["--input", str(fasta), "--output", str(out), "--model", str(signal_preset), "--no-homology",
                      "--worker-threads", "1"]) == 0
    header, *rows = [line.split("\t") for path in sorted(out.parent.glob("pred-0*.tsv"))
                     for line in path.read_text().splitlines()]
    column = header.index("signals")
    assert sorted(row[column] for row in rows) == sorted("|".join(row["signals"]) for row in expected)


@pytest.mark.slow
def test_explanations_and_the_protein_page_show_the_predicted_signal_regions(signal_preset, tmp_path):
    from fastapi.testclient import TestClient

    from protloc.apps.serve.app import create_app
    from protloc.prediction import explain
    from protloc.prediction.predictor import Localizer

    localizer = Localizer.from_preset(signal_preset, homology_evidence=False)
    track = explain.Explainer(localizer).track("WWKKWWKKACDEFGHILMNPQRST")
    assert track.signals is not None and len(track.signals) == len(track.residues) == 24
    assert all(first <= last and name in SIGNAL_TYPES for name, first, last in track.regions)
    forced = dataclasses.replace(track, signals=np.array([1] * 8 + [0] * 13 + [8] * 3))
    assert forced.regions == [("SP", 1, 8), ("PTS", 22, 24)]
    table, figure = explain.write_track(forced, tmp_path, "p", localizer.class_names)
    lines = table.read_text().splitlines()
    assert lines[0] == f"position,residue,{forced.kind},signal" and lines[1].endswith(",SP")
    assert lines[9].endswith(",") and lines[-1].endswith(",PTS") and figure.stat().st_size > 0
    with TestClient(create_app(localizer)) as client:
        job = client.post("/api/jobs", content=b">a\nWWKKWWKKACDEFGHILMNPQRST\n").json()["id"]
        for _ in range(600):
            if client.get(f"/api/jobs/{job}").json()["status"] in ("done", "failed"):
                break
            time.sleep(0.2)
        page = client.get(f"/api/jobs/{job}/proteins/0").json()
    assert page["track"]["regions"] == [{"type": name, "name": SIGNAL_NAMES[name], "first": first, "last": last}
                                        for name, first, last in track.regions]


@pytest.mark.slow
def test_a_run_holding_out_a_fold_fits_each_signal_types_threshold_and_predict_uses_them(tmp_path):
    from protloc.apps.cli import main
    from protloc.evidence import thresholds
    from protloc.prediction.predictor import Localizer

    run = tmp_path / "run"
    assert main(["train", "--dataset", SIGNALS.name, "--signals", "--fold", "0", "--epochs", "1", "--batch-size", "8",
                 "--lstm-units", "4", "--dense-units", "4", "--out", str(run)]) == 0
    saved = thresholds.load(run / "thresholds.json", SIGNALS.class_names)
    assert saved[thresholds.SIGNAL_TYPES_KEY].shape == (len(SIGNAL_TYPES),)
    localizer = Localizer.from_preset(run, homology_evidence=False)
    np.testing.assert_array_equal(localizer.thresholds[thresholds.SIGNAL_TYPES_KEY], saved[thresholds.SIGNAL_TYPES_KEY])
    (run / "bad.json").write_text(json.dumps({"class_names": list(SIGNALS.class_names), "network": [0.5, 0.5],
                                              "signal_types": [2.0]}))
    with pytest.raises(ValueError, match="'signal_types' must hold finite numbers in"):
        thresholds.load(run / "bad.json", SIGNALS.class_names)
