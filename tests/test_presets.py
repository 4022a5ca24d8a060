"""A preset is a directory that says what it needs: a toy preset made by `protloc train` predicts with its own
reference and fitted fusion; evidence options that do not fit a preset are refused; cards are checked."""
import json

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.evidence import fusion
from protloc.prediction import preset
from protloc.prediction.predictor import Localizer
from tests.helpers import SMALL, family_spec, trained_run

FAMILIES = family_spec(f"{__name__}:FAMILIES")
SMALL_OPTIONS = ["--lstm-units", str(SMALL["lstm_units"]), "--dense-units", str(SMALL["dense_units"]),
                 "--conv-filters", *map(str, SMALL["conv_filters"])]


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    """`protloc train` on the family data set with fold 0 held out: a run directory that is a preset."""
    yield from trained_run(tmp_path_factory.mktemp("preset"), "--dataset", FAMILIES.name, "--fold", "0", "--epochs",
                           "2", "--batch-size", "8", *SMALL_OPTIONS)


def test_a_trained_run_is_a_preset_with_its_own_reference_and_fitted_fusion(toy_run, tmp_path, capsys):
    card = json.loads((toy_run / "preset.json").read_text())
    assert (card["reference"], card["fusion"], card["label_scheme"]) == ("reference.fasta.gz", "fusion.json", "single")
    assert card["dataset"] == FAMILIES.name and card["inputs"] == ["tokens"]
    assert card["training"]["command"].startswith("protloc train --dataset")
    rule = fusion.Fusion.load(toy_run / "fusion.json")
    assert rule.identity_weight > 0 and "training fold 0" in rule.provenance["data"]
    assert card["figures"]["fusion_fit"]["with_hit"] > 0

    train = FAMILIES.examples("train")
    query = train[7]  # fold 1: a training protein; its identical copy must find it and take its class
    unrelated = "".join(np.random.default_rng(1).choice(list("ACDEFGHIKLMNPQRSTVWY"), 100))
    fasta = tmp_path / "queries.fasta"
    fasta.write_text(f">copy\n{query.sequence}\n>unrelated\n{unrelated}\n")
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta), "--model", str(toy_run), "-o", str(out)]) == 0
    header, *rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert header[4:8] == ["evidence", "neighbour", "neighbour_identity", "neighbour_class"]
    copy, other = (dict(zip(header, row)) for row in rows)
    assert copy["neighbour"] == query.id and copy["neighbour_identity"] == "1.000"
    assert copy["prediction"] == copy["neighbour_class"] == FAMILIES.class_names[query.label]
    assert other["evidence"] == "network" and other["neighbour"] == ""


def test_reference_alone_on_a_user_model_is_refused_naming_fusion(toy_run, tmp_path, capsys):
    bare = tmp_path / "bare.keras"
    bare.write_bytes((toy_run / "model.keras").read_bytes())
    fasta = tmp_path / "q.fasta"
    fasta.write_text(">q\nMKVLA\n")
    assert main(["predict", str(fasta), "--model", str(bare), "--reference", str(toy_run / "reference.fasta.gz")]) == 2
    assert "--reference: bare has no fusion fitted for it (fusion.json); give --fusion" in capsys.readouterr().err
    assert main(["predict", str(fasta), "--model", str(bare), "--reference", str(toy_run / "reference.fasta.gz"),
                 "--fusion", str(toy_run / "fusion.json")]) == 0
    assert "\tevidence\t" in capsys.readouterr().out
    assert main(["predict", str(fasta), "--model", str(bare), "--fusion", str(toy_run / "fusion.json")]) == 2
    assert "--fusion: bare has no labelled reference to fuse with; give --reference" in capsys.readouterr().err


def test_a_whole_split_run_has_a_reference_and_protloc_fuse_fits_its_fusion_from_fold_runs(toy_run, tmp_path):
    whole = tmp_path / "whole"
    assert main(["train", "--dataset", FAMILIES.name, "--epochs", "1", "--batch-size", "8", "--out", str(whole),
                 *SMALL_OPTIONS]) == 0
    card = json.loads((whole / "preset.json").read_text())
    assert card["reference"] == "reference.fasta.gz" and card["fusion"] is None and "protloc fuse" in card[
        "evidence_note"]
    assert not Localizer.from_preset(whole).uses_homology  # nothing fitted: the network alone
    assert main(["fuse", str(whole), "--fold-run", str(toy_run)]) == 0
    card = json.loads((whole / "preset.json").read_text())
    assert card["fusion"] == "fusion.json" and card["figures"]["fusion_fit"]["proteins"] == 24  # fold 0 of 72
    assert Localizer.from_preset(whole).uses_homology
    assert main(["fuse", str(whole), "--fold-run", str(whole)]) == 2  # not a fold run


@pytest.mark.parametrize("change, message", [
    ({"format": 7}, "card format 7"),
    ({"label_scheme": "fuzzy"}, "label_scheme must be one of"),
    ({"class_names": ["a", "a"]}, "at least two distinct names"),
    ({"class_names": ["a", "b\tc"]}, "cannot name a class"),
    ({"inputs": ["profile"]}, "'tokens' among them"),
    ({"fusion": "/etc/passwd"}, "must be a path relative"),
    ({"fusion": "gone.json"}, "names gone.json, which is not in"),
    ({"figures": {"test_accuracy": float("nan")}}, "figures.test_accuracy: nan is not a finite number"),
    ({"members": 0}, "'members' must be a positive integer"),
])
def test_bad_cards_are_named_with_the_problem(toy_run, tmp_path, change, message):
    directory = tmp_path / "copy"
    directory.mkdir()
    for name in ("model.keras", "fusion.json", "reference.fasta.gz"):
        (directory / name).write_bytes((toy_run / name).read_bytes())
    card = {**json.loads((toy_run / "preset.json").read_text()), **change}
    (directory / "preset.json").write_text(json.dumps(card))
    with pytest.raises(preset.PresetError, match=message):
        Localizer.from_preset(directory)


def test_a_card_that_disagrees_with_its_network_is_refused(toy_run, tmp_path):
    directory = tmp_path / "copy"
    directory.mkdir()
    (directory / "model.keras").write_bytes((toy_run / "model.keras").read_bytes())
    card = {**json.loads((toy_run / "preset.json").read_text()), "class_names": ["x", "y", "z"], "reference": None,
            "fusion": None}
    (directory / "preset.json").write_text(json.dumps(card))
    with pytest.raises(preset.PresetError, match=r"the card's class names \(x, y, z\) are not the network's"):
        Localizer.from_preset(directory)


def test_protloc_preset_makes_an_ensemble_of_runs_that_protloc_fuse_and_evaluate_complete(toy_run, tmp_path):
    runs = []
    for seed in (0, 1):
        run = tmp_path / f"seed{seed}"
        assert main(["train", "--dataset", FAMILIES.name, "--epochs", "1", "--batch-size", "8", "--seed", str(seed),
                     "--out", str(run), *SMALL_OPTIONS]) == 0
        runs.append(str(run))
    out = tmp_path / "ensemble"
    assert main(["preset", *runs, "--out", str(out), "--name", "toy-ensemble", "--description", "two seeds"]) == 0
    card = json.loads((out / "preset.json").read_text())
    assert (card["name"], card["members"], card["fusion"]) == ("toy-ensemble", 2, None)
    assert card["training"]["runs"] == runs and len(card["training"]["run_configs"]) == 2
    assert not Localizer.from_preset(out).uses_homology
    assert main(["fuse", str(out), "--fold-run", str(toy_run)]) == 0
    assert main(["evaluate", str(out), "--split", "test", "--homology", "--card"]) == 0
    figures = json.loads((out / "preset.json").read_text())["figures"]
    report = json.loads((out / "evaluation-test-homology.json").read_text())
    assert figures["evaluation-test-homology"]["accuracy"] == report["accuracy"]
    assert "protloc evaluate" in figures["evaluation-test-homology"]["command"]
    shared = tmp_path / "shared"
    assert main(["preset", runs[0], "--out", str(tmp_path / "xz"), "--xz"]) == 0
    from protloc.evidence import homology

    read = lambda path: homology.ReferenceSet.read(path, FAMILIES.class_names)  # noqa: E731
    assert read(tmp_path / "xz" / "reference.fasta.xz") == read(out / "reference.fasta.gz")
    assert main(["preset", runs[0], "--out", str(shared), "--reference", "../ensemble/reference.fasta.gz"]) == 0
    assert Localizer.from_preset(shared).card["reference"] == "../ensemble/reference.fasta.gz"


def test_a_preset_stored_at_half_precision_is_half_the_size_and_predicts_as_its_run(toy_run, tmp_path):
    big = dict(lstm_units=96, dense_units=64, conv_filters=[8, 8, 8, 0, 0, 0])  # mostly weights, little config
    from protloc.data import sequences
    from protloc.models import zoo
    from protloc.training import packaging

    network = zoo.build_model("rlstm", FAMILIES.class_names, **big)
    full, half = tmp_path / "full.keras", tmp_path / "half.keras"
    from protloc.utils import files

    files.save_model(network, full)
    packaging.save_half(network, half)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = zoo.load_model(half)  # safe mode, float32 variables
    assert all(weight.dtype == "float32" for weight in loaded.weights)
    records = [sequences.ProteinRecord(e.id, e.id, e.sequence, i)
               for i, e in enumerate(FAMILIES.examples("train")[:12])]
    first, second = (np.array([p.probabilities for p in Localizer(model, {}).predict(records)])
                     for model in (network, loaded))
    np.testing.assert_allclose(first, second, atol=5e-3)
    assert main(["preset", str(toy_run), "--out", str(tmp_path / "preset"), "--half"]) == 0
    card = json.loads((tmp_path / "preset" / "preset.json").read_text())
    assert card["weights_dtype"] == "float16" and Localizer.from_preset(tmp_path / "preset").class_names == list(
        FAMILIES.class_names)
