"""Sequence profiles on tiny synthetic databases: the profile's scale and alignment, the no-hit rule, the cache
(reused, never half-written), profile models through save/load, training, prediction and export, and bad
databases."""
import gzip
import json
import os

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import datasets, sequences
from protloc.evidence import mmseqs, profiles
from protloc.models import zoo
from protloc.training import loop
from tests.helpers import SMALL

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

RNG = np.random.default_rng(5)
RESIDUES = np.array(list(sequences.STANDARD_RESIDUES))


def random_protein(length):
    return "".join(RNG.choice(RESIDUES, length))


def mutated(sequence, rate=0.2):
    residues = np.array(list(sequence))
    changed = RNG.random(len(residues)) < rate
    residues[changed] = RNG.choice(RESIDUES, changed.sum())
    return "".join(residues)


FAMILIES = [random_protein(160) for _ in range(3)]
DATABASE = [mutated(family) for family in FAMILIES for _ in range(6)] + [random_protein(120) for _ in range(20)]
UNRELATED = random_protein(90)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def database_file(tmp_path):
    path = tmp_path / "db.fasta.gz"
    path.write_bytes(gzip.compress("".join(f">d{i} some protein\n{s}\n" for i, s in enumerate(DATABASE)).encode()))
    return path


@pytest.fixture
def search(database_file, cache):
    return profiles.ProfileSearch(profiles.ProfileDatabase([database_file]))


def test_a_profile_has_a_distribution_per_residue_and_sees_the_family(search):
    query = mutated(FAMILIES[0])
    found, = search.profiles([query])
    assert found.values.shape == (len(query), 20) and found.values.dtype == np.float32
    np.testing.assert_allclose(found.values.sum(axis=1), 1, atol=1e-5)
    assert found.values.min() >= 0 and found.hits >= 3
    # the family's consensus residue is the most likely one at most positions, even where the query differs from it
    consensus = np.array([sequences.STANDARD_RESIDUES.index(c) for c in FAMILIES[0]])
    differs = np.array(list(query)) != np.array(list(FAMILIES[0]))
    assert (found.values.argmax(axis=1)[differs] == consensus[differs]).mean() > 0.5


def test_a_query_without_hits_gets_its_own_sequence_under_blosum(search):
    found, = search.profiles([UNRELATED])
    assert found.hits == 0
    np.testing.assert_allclose(found.values.sum(axis=1), 1, atol=1e-5)
    own = np.array([sequences.STANDARD_RESIDUES.index(c) for c in UNRELATED])
    assert (found.values.argmax(axis=1) == own).all()
    for residue in set(own):  # the same row wherever a residue occurs: no position-specific information
        rows = found.values[own == residue]
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-3)


def test_profiles_are_cached_and_not_searched_again(search, database_file, cache, monkeypatch):
    first = search.profiles([UNRELATED, FAMILIES[1], UNRELATED])
    assert search.searched == 2 and len(list(cache.rglob("*.npz"))) == 2
    monkeypatch.setattr(mmseqs, "run", lambda *a, **k: pytest.fail("searched again"))
    again = profiles.ProfileSearch(profiles.ProfileDatabase([database_file]))
    second = again.profiles([FAMILIES[1], UNRELATED])
    assert again.searched == 0
    np.testing.assert_array_equal(second[0].values, first[1].values)
    assert second[1].hits == first[0].hits


def test_an_interrupted_write_leaves_no_entry_and_a_corrupt_entry_is_recomputed(search, monkeypatch):
    def dies_half_way(out, **arrays):
        out.write(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt  # as a kill during the write

    with monkeypatch.context() as patched:
        patched.setattr(np, "savez", dies_half_way)
        with pytest.raises(KeyboardInterrupt):
            search.profiles([UNRELATED])
    entry = search.entry(UNRELATED)
    assert not entry.exists() and list(entry.parent.iterdir()) == []
    entry.write_bytes(b"PK\x03\x04 not a whole npz")  # a broken file where an entry belongs
    found, = search.profiles([UNRELATED])
    assert search.searched == 1 and found.values.shape == (len(UNRELATED), 20)  # the interrupted run counted none
    assert profiles.ProfileSearch(search.database).profiles([UNRELATED])[0].hits == found.hits


KILLED_WHILE_WRITING = """
import pathlib, sys, time
import numpy as np
from protloc.evidence import profiles


def half_then_hang(out, **arrays):
    out.write(b"PK\\x03\\x04 half of an entry")
    out.flush()
    pathlib.Path(sys.argv[2]).write_text("writing")
    time.sleep(60)

np.savez = half_then_hang
profiles.ProfileSearch(profiles.ProfileDatabase([sys.argv[1]])).profiles([sys.argv[3]])
"""


def test_a_run_killed_while_writing_leaves_no_entry(search, database_file, cache, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    signal_file = tmp_path / "writing"
    child = subprocess.Popen([sys.executable, "-c", KILLED_WHILE_WRITING, str(database_file), str(signal_file),
                              UNRELATED], env={**os.environ, "PROTLOC_CACHE_DIR": str(cache)})
    deadline = time.time() + 120
    while not signal_file.exists() and child.poll() is None and time.time() < deadline:
        time.sleep(0.2)
    assert signal_file.exists(), "the child never reached the write"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert not search.entry(UNRELATED).exists()  # only the temporary file it was writing is left
    found, = search.profiles([UNRELATED])
    assert search.searched == 1 and found.values.shape == (len(UNRELATED), 20)


def test_profiles_are_truncated_with_the_tokens():
    long_protein = random_protein(1300)
    example = datasets.Example("long", {"tokens": sequences.encode_sequence(long_protein)}, 0, 0, long_protein)

    class Fixed:
        def profiles(self, queries):
            return [profiles.Profile(np.arange(len(q) * 20, dtype=np.float32).reshape(len(q), 20), 0) for q in queries]

    profile = profiles.with_profiles([example], Fixed())[0].features["profile"]
    assert profile.shape == (1000, 20)
    np.testing.assert_array_equal(profile[:, 0], np.r_[0:500, 800:1300] * 20)
    with pytest.raises(ValueError, match="'bare' has none"):
        profiles.with_profiles([datasets.Example("bare", {"tokens": example.features["tokens"]}, 0, 0)], Fixed())


def test_an_mmseqs2_database_can_be_given_directly(search, cache):
    prefix = search.database.path()
    direct = profiles.ProfileSearch(profiles.ProfileDatabase(prefix))
    assert direct.profiles([UNRELATED])[0].hits == 0 and direct.folder != search.folder


@pytest.mark.parametrize("make, error, message", [
    (lambda tmp: tmp / "missing.fasta", FileNotFoundError, "no such file, directory or MMseqs2 database"),
    (lambda tmp: (tmp / "notes.txt").write_text("hello\n") and tmp / "notes.txt", ValueError,
     "neither FASTA (plain or gzipped) nor an MMseqs2 database"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", ValueError, "the directory holds no FASTA file"),
    (lambda tmp: (tmp / "bad.gz").write_bytes(gzip.compress(b">a\nMKV\n")[:15]) and tmp / "bad.gz", ValueError,
     "not readable"),
])
def test_bad_databases_are_clear_errors(tmp_path, make, error, message):
    path = make(tmp_path)
    with pytest.raises(error, match="--profile-db") as raised:
        profiles.ProfileDatabase([path])
    assert message in str(raised.value) and str(path) in str(raised.value)


def test_a_failing_search_is_a_profile_error_and_a_users_database_is_never_removed(search, monkeypatch):
    bad = search.database.path().parent / "missing-db"
    search.database.mmseqs_database = bad
    with pytest.raises(profiles.ProfileError, match="profiles: mmseqs search"):
        search.profiles([FAMILIES[2]])
    assert search.database.path().parent.exists()  # its folder is the user's: nothing was deleted


def test_a_profile_model_round_trips_through_save_and_load(tmp_path):
    model = zoo.build_model("rlstm", ("a", "b"), profile=True, **SMALL)
    assert sorted(zoo.input_names(model)) == ["profile", "tokens"]
    assert zoo.resolve_hparams(residue_inputs={"profile": 20})["profile"] is True
    with pytest.raises(ValueError, match="'profile' input has 20 columns"):
        zoo.resolve_hparams(residue_inputs={"profile": 3})
    features = {"tokens": np.array([[3, 4, 5, 0]], dtype=np.int32),
                "profile": np.full((1, 4, 20), 0.05, dtype=np.float32)}
    model.save(tmp_path / "m.keras")
    loaded = zoo.load_model(tmp_path / "m.keras")
    np.testing.assert_allclose(loaded.predict_on_batch(features), model.predict_on_batch(features), atol=1e-6)
    assert loaded.get_layer("residue_features") is not None


# A data set whose examples carry their sequences: each class is one family of DATABASE.
def _read_families(split, directory=None):
    for index in range(12 if split == "train" else 6):
        label = index % 3
        sequence = mutated(FAMILIES[label], 0.3)
        yield datasets.Example(f"{split}{index}", {"tokens": sequences.encode_sequence(sequence)}, label,
                               index % 2 if split == "train" else datasets.TEST_FOLD, sequence)


FAMILY_SPEC = datasets.DatasetSpec(f"{__name__}:FAMILY_SPEC", ("f0", "f1", "f2"), 2, _read_families)
FAMILY_SET = FAMILY_SPEC.name


def test_a_profile_model_needs_its_database():
    with pytest.raises(ValueError, match="give --profile-db"):
        loop.RunConfig.resolve(dataset=FAMILY_SET, hparams={"profile": True})


def test_train_predict_evaluate_and_export_a_profile_model(tmp_path, database_file, cache, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--dataset", FAMILY_SET, "--epochs", "1", "--fold", "0",
                 "--profile-db", str(database_file), "--lstm-units", "4", "--dense-units", "4"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["hparams"]["profile"] is True  # the database relative to the run, so the two can move together
    assert config["profile_db"] == [os.path.relpath(database_file.resolve(), run.resolve())]
    assert "computed" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--split", "test"]) == 0  # the run's own database
    assert json.loads((run / "evaluation-test.json").read_text())["n"] == 6

    fasta = tmp_path / "q.fasta"
    fasta.write_text(f">fam\n{FAMILIES[0]}\n>other\n{UNRELATED}\n")
    fused = tmp_path / "fused.tsv"
    assert main(["predict", str(fasta), "--model", str(run), "-o", str(fused)]) == 0
    assert "\tevidence\t" in fused.read_text().splitlines()[0]  # the run's own reference and fusion
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta), "--model", str(run), "--no-homology", "-o", str(out)]) == 0
    assert [row.split("\t")[0] for row in out.read_text().splitlines()[1:]] == ["fam", "other"]
    capsys.readouterr()
    assert main(["predict", str(fasta), "--model", str(run / "model.keras"), "-o", str(tmp_path / "x.tsv")]) == 2
    assert "is a profile model: give --profile-db" in capsys.readouterr().err
    assert main(["predict", str(fasta), "--model", str(run / "model.keras"), "--profile-db", str(database_file),
                 "-o", str(tmp_path / "same.tsv")]) == 0
    assert (tmp_path / "same.tsv").read_text() == out.read_text()

    from protloc.apps import beam

    handler = beam.ProtlocModelHandler(str(run), homology=False)
    records = list(sequences.read_fasta(fasta))
    rows = [result.inference for result in handler.run_inference(records, handler.load_model())]
    assert rows == out.read_text().splitlines()[1:]

    import tensorflow as tf

    saved = tmp_path / "served" / "1"
    assert main(["export", str(run), "--out", str(saved)]) == 0
    assert "its signatures take tokens and profiles" in capsys.readouterr().err
    signature = tf.saved_model.load(str(saved)).signatures
    assert sorted(signature) == ["serve_tokens", "serving_default"]
    assert sorted(signature["serving_default"].structured_input_signature[1]) == ["profile", "tokens"]
    model = zoo.load_model(run / "model.keras")
    tokens = sequences.encode_sequence(FAMILIES[0])[None]
    profile = profiles.ProfileSearch(profiles.ProfileDatabase([database_file])).profiles([FAMILIES[0]])[0].values[None]
    served = signature["serve_tokens"](tokens=tf.constant(tokens), profile=tf.constant(profile))
    np.testing.assert_allclose(served["probabilities"].numpy(),
                               model.predict_on_batch({"tokens": tokens, "profile": profile}), atol=1e-5)


def test_profile_db_for_a_model_without_profiles_is_an_error(tmp_path, database_file, capsys):
    path = tmp_path / "plain.keras"
    zoo.build_model("rlstm", ("a", "b"), **SMALL).save(path)
    fasta = tmp_path / "q.fasta"
    fasta.write_text(f">q\n{UNRELATED}\n")
    assert main(["predict", str(fasta), "--model", str(path), "--profile-db", str(database_file)]) == 2
    assert "takes no sequence profiles" in capsys.readouterr().err
