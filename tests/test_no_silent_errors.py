"""No silently wrong call: nucleotides refused as proteins, a diverging training stopped with its last good
checkpoint kept, a network giving NaN refused, strict JSON, the exclusion of a fold respected, a Beam input that
matches nothing refused."""
import json
import math

import keras
import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.models import run_config, zoo
from protloc.prediction import presets
from protloc.training import loop
from tests.helpers import SMALL, multi_label_spec, toy_spec

SPEC = toy_spec(f"{__name__}:SPEC", n_per_class=12)
MULTI = multi_label_spec(f"{__name__}:MULTI", families=8, per_family=4, num_folds=4)
SMALL_OPTIONS = ["--lstm-units", str(SMALL["lstm_units"]), "--dense-units", str(SMALL["dense_units"]),
                 "--conv-filters", *map(str, SMALL["conv_filters"])]


def one_line(capsys, *fragments):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and all(fragment in lines[0] for fragment in fragments), lines
    return lines[0]


def test_a_nucleotide_record_is_refused_or_skipped_with_a_line(tmp_path, capsys):
    fasta = tmp_path / "mixed.fasta"
    fasta.write_text(">dna\nATGGCTAGCTAGCTAGGATCGATCGATCGTAGC\n" + presets.EXAMPLES.read_text())
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta), "--model", "multiloc", "--no-homology", "-o", str(out)]) == 2
    one_line(capsys, "record 'dna'", "looks like a nucleotide sequence")
    assert not out.exists()
    assert main(["predict", str(fasta), "--model", "multiloc", "--no-homology", "--skip-invalid", "-o", str(out)]) == 0
    assert "skipped: " in capsys.readouterr().err and len(out.read_text().splitlines()) == 12


def test_a_diverging_training_stops_with_one_line_keeping_its_last_good_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", SPEC.name, "--fold", "2", "--epochs", "3", "--batch-size", "8",
                 "--learning-rate", "1e30", "--out", str(run), *SMALL_OPTIONS]) == 2
    line = one_line(capsys, "training diverged", "new --out")
    assert not (run / "model.keras").exists() and not (run / "preset.json").exists()
    for checkpoint in loop.checkpoints(run / "checkpoints"):  # what is kept is finite
        weights = keras.saving.load_model(checkpoint, safe_mode=True).get_weights()
        assert all(np.all(np.isfinite(w)) for w in weights), (checkpoint, line)


def test_a_network_giving_nan_is_refused_and_json_is_strict(tmp_path, capsys):
    model = zoo.build_model("rlstm", SPEC.class_names, **SMALL)
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    path = tmp_path / "nan.keras"
    model.save(path)
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">P1\nMKVLAAGIVALLLAAGCSSSKEETPA\n")
    out = tmp_path / "out.json"
    assert main(["predict", str(fasta), "--model", str(path), "--format", "json", "-o", str(out)]) == 2
    one_line(capsys, "non-finite probabilities")
    assert not out.exists()
    from protloc.prediction import table

    with pytest.raises(ValueError):
        table.write_records([{"id": "P1", "x": math.nan}], table.Layout(("x",)), __import__("io").StringIO(), "json")


def test_an_excluded_fold_is_never_read(tmp_path):
    run = tmp_path / "run"
    assert main(["train", "--dataset", MULTI.name, "--fold", "3", "--exclude-fold", "0", "--epochs", "1",
                 "--batch-size", "8", "--out", str(run), *SMALL_OPTIONS]) == 0
    config = run_config.read_config(run)
    assert config.exclude_folds == (0,) and config.training_folds() == [1, 2] and config.seen_folds() == [1, 2, 3]
    from protloc.evidence import homology

    reference = homology.ReferenceSet.read(run / "reference.fasta.gz", MULTI.class_names)
    excluded = {example.id for example in MULTI.examples("train", [0])}
    assert reference.ids and not excluded & set(reference.ids)
    assert set(reference.ids) == {example.id for example in MULTI.examples("train", [1, 2, 3])}
    assert json.loads((run / "config.json").read_text())["exclude_folds"] == [0]
    with pytest.raises(ValueError, match="both held out for validation and excluded"):
        run_config.RunConfig.resolve(dataset=MULTI.name, fold=1, exclude_folds=[1])
    with pytest.raises(ValueError, match="no training fold left"):
        run_config.RunConfig.resolve(dataset=MULTI.name, fold=0, exclude_folds=[1, 2, 3])


def test_the_weighted_loss_trains_resumes_and_weighs_rare_locations_more(tmp_path):
    from protloc.data import datasets
    from protloc.models import losses

    labels = datasets.labels_of(MULTI.examples("train", [1, 2]), len(MULTI.class_names))
    weights = losses.positive_weights(labels)
    positives = labels.sum(axis=0)
    assert np.allclose(weights, np.sqrt((len(labels) - positives) / positives))
    loss = losses.WeightedBinaryCrossentropy([4.0, 1.0, 1.0])
    y_true, y_pred = np.array([[1.0, 0.0, 0.0]]), np.array([[0.5, 0.5, 0.5]])
    expected = -(4 * np.log(0.5) + np.log(0.5) + np.log(0.5)) / 3
    assert float(loss(y_true, y_pred)) == pytest.approx(expected, rel=1e-5)
    assert losses.WeightedBinaryCrossentropy.from_config(loss.get_config()).positive_weights == [4.0, 1.0, 1.0]
    run = tmp_path / "run"
    options = ["train", "--dataset", MULTI.name, "--fold", "3", "--exclude-fold", "0", "--batch-size", "8",
               "--loss", "weighted", "--out", str(run), *SMALL_OPTIONS]
    assert main([*options, "--epochs", "1", "--schedule", "constant"]) == 0
    assert main([*options, "--epochs", "2", "--schedule", "constant"]) == 0  # resumed from the epoch-1 checkpoint
    assert len(loop.read_history(run)) == 2 and run_config.read_config(run).loss == "weighted"
