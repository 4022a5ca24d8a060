"""The shipped model: loads, carries the class names, is small, and its card matches the benchmark results."""
import json
import pathlib

import pytest

import protloc
from protloc import demo, pretrained
from protloc.classes import CLASS_NAMES

RESULTS = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "table1.json"


def test_shipped_model_loads_and_is_small():
    model = protloc.load_pretrained()
    assert pretrained.MODEL_PATH.stat().st_size < 5_000_000
    from protloc import models

    assert models.class_names_of(model) == list(CLASS_NAMES)


def test_card_numbers_come_from_the_benchmark():
    card = pretrained.model_card()
    entry = json.loads(RESULTS.read_text())["models"][card["name"]]["report"]
    assert card["test_accuracy"] == entry["accuracy"] and card["test_proteins"] == 1193
    assert card["class_names"] == list(CLASS_NAMES)


def test_demo_predicts_the_example_proteins(capsys):
    assert demo.main() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split("\t")[:4] == ["id", "length", "prediction", "confidence"]
    assert len(lines) == 12
    predicted = {line.split("\t")[2] for line in lines[1:]}
    assert predicted <= set(CLASS_NAMES)
