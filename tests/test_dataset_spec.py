"""A data set defined only here (3 classes, 3 folds, tiny synthetic proteins) goes through train, evaluate, the
tuner's search and predict, named as MODULE:ATTRIBUTE, with no package module naming it and nothing registered."""
import json

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import sequences
from tests.helpers import SMALL, toy_spec
from tuning import search

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

SPEC = toy_spec(f"{__name__}:SPEC", n_per_class=12)
SMALL_OPTIONS = ["--lstm-units", str(SMALL["lstm_units"]), "--dense-units", str(SMALL["dense_units"]),
                 "--conv-filters", *map(str, SMALL["conv_filters"])]


def test_train_evaluate_search_and_predict_on_a_data_set_defined_in_a_test(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--dataset", SPEC.name, "--fold", "2", "--epochs", "1", "--batch-size", "8",
                 "--out", str(run), *SMALL_OPTIONS]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"] == SPEC.name and config["fold"] == 2
    assert main(["train", "--dataset", SPEC.name, "--fold", "3", "--epochs", "1", "--out", str(tmp_path / "x")]) == 2
    assert f"fold must be 0-2 for data set '{SPEC.name}', got 3" in capsys.readouterr().err

    assert main(["evaluate", str(run), "--split", "validation"]) == 0
    validation = json.loads((run / "evaluation-validation.json").read_text())
    assert validation["class_names"] == list(SPEC.class_names) and validation["n"] == 12  # fold 2 of 36
    assert main(["evaluate", str(run), "--split", "test"]) == 0
    assert json.loads((run / "evaluation-test.json").read_text())["n"] == 36

    assert search.main(["--dataset", SPEC.name, "--tuner", "random", "--max-trials", "1", "--epochs", "1",
                        "--fold", "1", "--fix", "lstm_units=4", "--fix", "dense_units=4",
                        "--out", str(tmp_path / "search")]) == 0
    best = json.loads((tmp_path / "search" / "best_hparams.json").read_text())
    assert best["dataset"] == SPEC.name and best["folds"] == [1]

    test = SPEC.examples("test")
    fasta = tmp_path / "toy.fasta"
    fasta.write_text("".join(f">{e.id}\n{''.join(sequences.VOCABULARY[t - 1] for t in e.features['tokens'])}\n"
                             for e in test))
    out = tmp_path / "predicted.tsv"
    assert main(["predict", str(fasta), "--model", str(run), "-o", str(out)]) == 0
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert rows[0] == ["id", "length", "prediction", "confidence", "evidence", "neighbour", "neighbour_identity",
                       "neighbour_class", "flags", *SPEC.class_names]  # the run's own reference and fusion
    assert [row[0] for row in rows[1:]] == [e.id for e in test]
    assert {row[2] for row in rows[1:]} <= set(SPEC.class_names)
    assert np.allclose([sum(map(float, row[9:])) for row in rows[1:]], 1, atol=1e-4)
