"""Homology evidence on tiny synthetic sets: reference files and their errors, MMseqs2 searches and their failures,
the cached database, the fusion rule, and `protloc predict` with and without homology."""
import gzip
import stat

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import sequences
from protloc.evidence import fusion, homology, mmseqs
from protloc.models import zoo

CLASSES = ("alpha", "beta", "gamma")
RNG = np.random.default_rng(11)
RESIDUES = np.array(list(sequences.STANDARD_RESIDUES))
REFERENCE = [(f"R{i}", CLASSES[i % 3], "".join(RNG.choice(RESIDUES, 180))) for i in range(9)]
UNRELATED = "".join(RNG.choice(RESIDUES, 150))


def write_reference(path, records=REFERENCE):
    path.write_text("".join(f">{rid} {label} some words\n{seq}\n" for rid, label, seq in records))
    return path


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROTLOC_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_reference_files_are_read_plain_or_gzipped(tmp_path):
    plain = homology.ReferenceSet.read(write_reference(tmp_path / "ref.fasta"), CLASSES)
    assert plain.ids[:2] == ("R0", "R1") and plain.labels[:3] == ((0,), (1,), (2,)) and len(plain) == 9
    packed = tmp_path / "ref.fasta.gz"
    plain.write(packed)
    assert gzip.decompress(packed.read_bytes()).decode().startswith(">R0 alpha\n")
    assert homology.ReferenceSet.read(packed, CLASSES) == plain and plain.fingerprint == \
        homology.ReferenceSet.read(packed, CLASSES).fingerprint


@pytest.mark.parametrize("text, message", [
    (">R1 alpha\nMKV\n>R2 delta\nMKV\n", "record 'R2': the second word of the header must be a class name "
                                         "(alpha, beta, gamma), or several joined with '|'; found 'delta'"),
    (">R1\nMKV\n", "record 'R1': the second word of the header must be a class name"),
    (">R1 alpha\nMKV\n>R1 beta\nMKW\n", "record 'R1': identifier occurs twice in the reference set"),
    (">R1 alpha\nMK1V\n", "record 'R1', position 3: invalid character '1'"),
    ("", "no FASTA records"),
    ("MKV\n", "not a FASTA file"),
])
def test_bad_reference_files_name_the_file_and_record(tmp_path, text, message):
    path = tmp_path / "bad.fasta"
    path.write_text(text)
    with pytest.raises(sequences.SequenceError) as error:
        homology.ReferenceSet.read(path, CLASSES)
    assert str(error.value).startswith(str(path)) and message in str(error.value)


def test_a_reference_file_is_parsed_once_then_read_from_the_cache_and_a_damaged_cache_is_rebuilt(tmp_path,
                                                                                                   monkeypatch):
    path = write_reference(tmp_path / "ref.fasta")
    first = homology.ReferenceSet.read(path, CLASSES, tmp_path / "cache")
    [cached] = (tmp_path / "cache" / "references").iterdir()
    parsed = []
    original = homology.ReferenceSet._parsed.__func__
    monkeypatch.setattr(homology.ReferenceSet, "_parsed",
                        classmethod(lambda cls, *args: parsed.append(args) or original(cls, *args)))
    assert homology.ReferenceSet.read(path, CLASSES, tmp_path / "cache") == first and parsed == []
    cached.write_bytes(cached.read_bytes()[:100])  # damaged: parsed again, and the cache rewritten
    assert homology.ReferenceSet.read(path, CLASSES, tmp_path / "cache") == first and len(parsed) == 1
    assert homology.ReferenceSet.read(path, CLASSES, tmp_path / "cache") == first and len(parsed) == 1
    # other class names or other content are other sets, never an earlier one's cache
    renamed = homology.ReferenceSet.read(path, ("alpha", "beta", "gamma", "delta"), tmp_path / "cache")
    assert renamed.class_names[-1] == "delta" and len(parsed) == 2
    write_reference(path, REFERENCE[:4])
    assert homology.ReferenceSet.read(path, CLASSES, tmp_path / "cache").ids == first.ids[:4]
    bad = write_reference(tmp_path / "bad.fasta", [("R1", "delta", "MKV")])
    for _ in range(2):  # a bad file is refused each time: nothing of it is cached
        with pytest.raises(sequences.SequenceError, match="found 'delta'"):
            homology.ReferenceSet.read(bad, CLASSES, tmp_path / "cache")
    assert len(list((tmp_path / "cache" / "references").iterdir())) == 3


def test_a_missing_or_corrupt_reference_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no reference file at"):
        homology.ReferenceSet.read(tmp_path / "missing.fasta", CLASSES)
    (tmp_path / "broken.gz").write_bytes(gzip.compress(b">R1 alpha\nMKV\n")[:12])
    with pytest.raises(sequences.FastaFormatError, match="not a readable gzip file"):
        homology.ReferenceSet.read(tmp_path / "broken.gz", CLASSES)


def test_identical_query_finds_its_reference_and_a_random_one_finds_nothing(tmp_path, cache):
    reference = homology.ReferenceSet.read(write_reference(tmp_path / "ref.fasta"), CLASSES)
    search = homology.HomologySearch(reference)
    hits = search.search([REFERENCE[4][2], UNRELATED, REFERENCE[4][2][20:160]])
    assert hits[0][0].accession == "R4" and hits[0][0].labels == (1,) and hits[0][0].identity == pytest.approx(1.0)
    assert hits[0][0].query_coverage == pytest.approx(1.0) and hits[0][0].evalue < 1e-30
    assert hits[1] == []
    assert hits[2][0].accession == "R4" and hits[2][0].target_coverage < 0.9
    evidence = homology.class_evidence(hits[:2], 3)
    np.testing.assert_allclose(evidence.identity, [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_allclose(evidence.relative_bits, [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(evidence.has_hit, [True, False])
    mixed = [homology.Hit("A", (0,), 0.9, 1e-50, 200.0, 1, 1), homology.Hit("B", (1,), 0.3, 1e-5, 100.0, 1, 1),
             homology.Hit("C", (1, 2), 0.4, 1e-3, 50.0, 1, 1)]
    evidence = homology.class_evidence([mixed], 3)
    np.testing.assert_allclose(evidence.identity, [[0.9, 0.4, 0.4]])  # a hit of two classes counts for both
    np.testing.assert_allclose(evidence.relative_bits, [[1, 0.5, 0.25]])
    left_out = search.search([REFERENCE[4][2]], exclude=[4])
    assert all(hit.accession != "R4" for hit in left_out[0])


def test_the_database_is_built_once_and_a_failed_build_leaves_nothing(tmp_path, cache, monkeypatch):
    reference = homology.ReferenceSet.read(write_reference(tmp_path / "ref.fasta"), CLASSES)
    database = homology.HomologySearch(reference).database()
    assert (database.parent / "done").exists() and database.parent.parent == cache
    calls = []
    monkeypatch.setattr(mmseqs, "run", lambda arguments, *rest, **options: calls.append(arguments[0]))
    assert homology.HomologySearch(reference).database() == database and calls == []  # reused, not rebuilt

    other = homology.ReferenceSet.read(write_reference(tmp_path / "other.fasta", REFERENCE[:4]), CLASSES)

    def killed(arguments, *rest, **options):
        raise mmseqs.MMseqsError("mmseqs createdb failed (exit 137): killed")

    monkeypatch.setattr(mmseqs, "run", killed)
    with pytest.raises(homology.HomologyError, match="killed"):
        homology.HomologySearch(other).database()
    assert sorted(p.name for p in cache.iterdir()) == [database.parent.name, "references"]  # no half-built database


def test_a_large_reference_gets_a_k_mer_index_that_changes_no_hit(tmp_path, cache, monkeypatch):
    reference = homology.ReferenceSet.read(write_reference(tmp_path / "ref.fasta"), CLASSES)
    queries = [REFERENCE[4][2], UNRELATED, REFERENCE[7][2][10:150]]
    plain = homology.HomologySearch(reference)
    unindexed, found = plain.database(), plain.search(queries)
    assert not list(unindexed.parent.glob("db.idx*"))  # 9 proteins: below the size that pays for an index
    monkeypatch.setattr(homology, "INDEX_MIN_PROTEINS", len(reference))
    indexed = homology.HomologySearch(reference)
    assert (indexed.database().parent / "db.idx").is_file() and indexed.database() != unindexed
    assert indexed.search(queries) == found


def fake_mmseqs(tmp_path, script):
    path = tmp_path / "mmseqs"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


def test_missing_failing_or_garbled_mmseqs_is_a_homology_error(tmp_path, cache, monkeypatch):
    reference = homology.ReferenceSet.read(write_reference(tmp_path / "ref.fasta"), CLASSES)
    monkeypatch.setenv("PROTLOC_MMSEQS", str(tmp_path / "nowhere"))
    with pytest.raises(homology.HomologyError, match="is not an executable file"):
        homology.HomologySearch(reference).search(["MKV"])
    monkeypatch.setenv("PROTLOC_MMSEQS", str(fake_mmseqs(tmp_path, "echo 'Segmentation fault' >&2; exit 3\n")))
    with pytest.raises(homology.HomologyError, match=r"mmseqs createdb failed \(exit 3\): Segmentation fault"):
        homology.HomologySearch(reference).search(["MKV"])
    garbling = ('case "$1" in createdb) touch "$3";; easy-search) echo "not a table" > "$4";; esac\n')
    monkeypatch.setenv("PROTLOC_MMSEQS", str(fake_mmseqs(tmp_path, garbling)))
    with pytest.raises(homology.HomologyError, match="unreadable MMseqs2 output, line 1: 'not a table'"):
        homology.HomologySearch(reference, cache_dir=tmp_path / "other-cache").search(["MKV"])


def test_fusion_scores_fit_and_saved_parameters(tmp_path):
    rule = fusion.Fusion(network_weight=0.5, identity_weight=4.0, bits_weight=1.0)
    hits = [[homology.Hit("R", (1,), 0.9, 1e-50, 200.0, 1, 1), homology.Hit("S", (0,), 0.3, 1e-5, 50.0, 1, 1)],
            [homology.Hit("T", (1,), 0.1, 1e-4, 40.0, 1, 1)], []]
    evidence = homology.class_evidence(hits, 2)
    scores, has_hit = rule.homology_scores(evidence), evidence.has_hit
    np.testing.assert_allclose(scores, [[4 * 0.3 + 0.25, 4 * 0.9 + 1], [0, 4 * 0.1 + 1], [0, 0]])
    np.testing.assert_array_equal(has_hit, [True, True, False])
    network = np.array([[0.6, 0.4], [0.95, 0.05], [0.2, 0.8]])
    fused = rule.fuse(network, scores, has_hit)
    expected = np.sqrt(network[0]) * np.exp(scores[0])
    np.testing.assert_allclose(fused[0], expected / expected.sum(), rtol=1e-6)
    assert fused[0].argmax() == 1 and fused[1].argmax() == 0
    np.testing.assert_allclose(fused[2], network[2], atol=1e-7)
    assert fusion.evidence(network, scores, fused, has_hit) == ["homology", "network", "network"]

    rng = np.random.default_rng(0)  # the best hit right when its identity is high, the network right 70% of the time
    labels = rng.integers(0, 2, 400)
    identity = rng.random(400)
    hit_class = np.where(identity > 0.6, labels, 1 - labels)
    hits = [[homology.Hit("R", (int(c),), float(i), 1e-10, 100.0, 1.0, 1.0)] for c, i in zip(hit_class, identity)]
    hits[0] = []
    evidence = homology.class_evidence(hits, 2)
    network = np.where(rng.random((400, 1)) < 0.7, np.eye(2)[labels] * 0.4 + 0.3, np.eye(2)[1 - labels] * 0.4 + 0.3)
    fitted = fusion.fit(network, evidence, labels, provenance={"data": "synthetic"})
    summary = fitted.provenance["fit"]
    assert summary["with_hit"] == 399 and summary["accuracy_fused"] > summary["accuracy_network"] + 0.1
    assert fitted.identity_weight > 3 and fitted.network_weight > 0
    weights = np.array([fitted.network_weight, fitted.identity_weight, fitted.bits_weight])

    def objective(candidate):  # the documented one: mean log loss of the proteins with hits + the L2 penalty
        fused = fusion.Fusion(*candidate).apply(network, evidence)[0]
        return fusion.log_loss(fused[1:], labels[1:]) + fusion.PENALTY * candidate @ candidate

    for nudge in np.eye(3) * 0.05:  # a minimum: no nearby weights fit better
        assert objective(weights + nudge) > objective(weights) < objective(weights - nudge)
    path = tmp_path / "fusion.json"
    fitted.save(path)
    assert fusion.Fusion.load(path) == fitted
    path.write_text('{"network_weight": 1}')
    with pytest.raises(ValueError, match="is not a fusion parameter file"):
        fusion.Fusion.load(path)
    for bad in ("NaN", "Infinity", '"2"', "true"):
        path.write_text(f'{{"network_weight": {bad}, "identity_weight": 1, "bits_weight": 0}}')
        with pytest.raises(ValueError, match="is not a fusion parameter file"):
            fusion.Fusion.load(path)


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "tiny.keras"
    zoo.build_model("rlstm", CLASSES, lstm_units=4, dense_units=4).save(path)
    return path


def rows_of(path):
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_predict_with_a_reference_fuses_and_without_it_is_the_network_alone(tmp_path, cache, tiny_model):
    reference = write_reference(tmp_path / "ref.fasta")
    rule = tmp_path / "fusion.json"
    fusion.Fusion(network_weight=1.0, identity_weight=20.0, bits_weight=0.0).save(rule)
    queries = tmp_path / "queries.fasta"
    queries.write_text(f">same {REFERENCE[5][0]}\n{REFERENCE[5][2].lower()}*\n>random\n{UNRELATED}\n")
    fused, plain = tmp_path / "fused.tsv", tmp_path / "plain.tsv"
    assert main(["predict", str(queries), "--model", str(tiny_model), "--reference", str(reference),
                 "--fusion", str(rule), "-o", str(fused)]) == 0
    assert main(["predict", str(queries), "--model", str(tiny_model), "-o", str(plain)]) == 0
    with_homology, network = rows_of(fused), rows_of(plain)
    assert with_homology[0] == ["id", "length", "prediction", "confidence", "evidence", "neighbour",
                                "neighbour_identity", "neighbour_class", "flags", *CLASSES]
    assert network[0] == ["id", "length", "prediction", "confidence", "flags", *CLASSES]
    same, unrelated = with_homology[1], with_homology[2]
    assert same[2] == "gamma" and same[4] in ("homology", "both") and same[5:8] == ["R5", "1.000", "gamma"]
    assert float(same[3]) > 0.99
    assert unrelated[4:8] == ["network", "", "", ""] and unrelated[8:] == network[2][4:]  # from flags on
    assert main(["predict", str(queries), "--model", str(tiny_model), "--reference", str(reference),
                 "--fusion", str(rule), "--no-homology", "-o", str(tmp_path / "off.tsv")]) == 0
    assert rows_of(tmp_path / "off.tsv") == network


def test_predict_names_a_bad_reference_and_writes_nothing(tmp_path, cache, tiny_model, capsys, monkeypatch):
    bad = tmp_path / "bad.fasta"
    bad.write_text(">R1 alpha\nMKV\n>R1 beta\nMKV\n")
    out = tmp_path / "out.tsv"
    queries = write_reference(tmp_path / "queries.fasta", REFERENCE[:2])
    assert main(["predict", str(queries), "--model", str(tiny_model), "--reference", str(bad), "-o", str(out)]) == 2
    assert "--reference: tiny has no fusion fitted for it (fusion.json); give --fusion" in capsys.readouterr().err
    rule = tmp_path / "fusion.json"
    fusion.Fusion(network_weight=1.0, identity_weight=20.0, bits_weight=0.0).save(rule)
    assert main(["predict", str(queries), "--model", str(tiny_model), "--reference", str(bad), "--fusion", str(rule),
                 "-o", str(out)]) == 2
    assert "record 'R1': identifier occurs twice in the reference set" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.setenv("PROTLOC_MMSEQS", str(tmp_path / "nowhere"))
    assert main(["predict", str(queries), "--model", str(tiny_model), "--reference",
                 str(write_reference(tmp_path / "ref.fasta")), "--fusion", str(rule), "-o", str(out)]) == 2
    assert "PROTLOC_MMSEQS" in capsys.readouterr().err and not out.exists()
