"""protloc predict: output format, order, streaming, stdin/stdout, and every bad-input path."""
import os
import subprocess
import sys

import numpy as np
import pytest

from protloc.apps.cli import main
from protloc.data import datasets, input_flags, sequences
from protloc.models import zoo
from protloc.prediction import table
from protloc.prediction.predictor import Localizer
from tests.helpers import REPO

CLASS_NAMES = datasets.get("multiloc").class_names

RNG = np.random.default_rng(3)
LENGTHS = [30, 5, 1200, 12, 77, 1, 300]
RECORDS = [("P%d" % i, "".join(RNG.choice(list("ACDEFGHIKLMNPQRSTVWY"), n))) for i, n in enumerate(LENGTHS)]


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    zoo.build_model("rlstm", CLASS_NAMES, lstm_units=6, dense_units=6).save(path)
    return path


def fasta(tmp_path, records=RECORDS, name="in.fasta"):
    path = tmp_path / name
    path.write_text("".join(f">{rid} some description\n{seq}\n" for rid, seq in records))
    return path


def read_table(path):
    lines = path.read_text().splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def test_table_format_order_and_values(model_path, tmp_path, capsys):
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta(tmp_path)), "-o", str(out), "--model", str(model_path), "--batch-size", "2"]) == 0
    header, rows = read_table(out)
    assert header == ["id", "length", "prediction", "confidence", "flags", *CLASS_NAMES]
    assert [row[0] for row in rows] == [rid for rid, _ in RECORDS]
    assert [int(row[1]) for row in rows] == LENGTHS
    model = zoo.load_model(model_path)
    for row, (_, seq) in zip(rows, RECORDS):
        probabilities = np.array(row[5:], dtype=float)
        assert probabilities.sum() == pytest.approx(1, abs=1e-4)
        direct = model.predict({"tokens": sequences.encode_sequence(seq)[None]}, verbose=0)[0]
        np.testing.assert_allclose(probabilities, direct, atol=2e-6)
        assert row[2] == CLASS_NAMES[int(np.argmax(direct))]
        assert float(row[3]) == pytest.approx(direct.max(), abs=1e-6)
    assert "7 predictions written" in capsys.readouterr().err


def test_streaming_reads_at_most_one_chunk_ahead(model_path):
    pulled = []

    def records():
        for index in range(10):
            pulled.append(index)
            yield sequences.ProteinRecord(f"R{index}", "", "MKV" * (10 - index), index)

    results = Localizer.from_preset(model_path, chunk_size=3, batch_size=2).predict(records())
    first = next(results)
    assert first.id == "R0" and len(pulled) == 3
    assert [p.id for p in results] == [f"R{i}" for i in range(1, 10)]


def test_concurrent_batches_keep_input_order_and_values(model_path):
    records = [sequences.ProteinRecord(rid, "", seq, index) for index, (rid, seq) in enumerate(RECORDS)]
    serial = list(Localizer.from_preset(model_path, batch_size=1, workers=1).predict(records))
    concurrent = list(Localizer.from_preset(model_path, batch_size=1, chunk_size=4, workers=3).predict(records))
    assert [p.id for p in concurrent] == [p.id for p in serial] == [rid for rid, _ in RECORDS]
    for a, b in zip(serial, concurrent):
        np.testing.assert_allclose(a.probabilities, b.probabilities, atol=1e-6)


def test_invalid_record_stops_with_its_name_and_writes_nothing(model_path, tmp_path, capsys):
    bad = RECORDS[:2] + [("BAD1", "MKV#L")] + RECORDS[2:]
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta(tmp_path, bad)), "-o", str(out), "--model", str(model_path)]) == 2
    assert "record 'BAD1', position 4: invalid character '#'" in capsys.readouterr().err
    assert not out.exists() and os.listdir(tmp_path) == ["in.fasta"]


def test_skip_invalid_reports_and_leaves_out_only_bad_records(model_path, tmp_path, capsys):
    bad = RECORDS[:2] + [("BAD1", "MKV#L"), ("EMPTY", "")] + RECORDS[2:]
    path = tmp_path / "in.fasta"
    path.write_text("".join(f">{rid}\n{seq}\n" for rid, seq in bad) + ">\nMKV\n")
    out = tmp_path / "out.tsv"
    assert main(["predict", str(path), "-o", str(out), "--model", str(model_path), "--skip-invalid"]) == 0
    err = capsys.readouterr().err
    assert "skipped:" in err and "'BAD1'" in err and "'EMPTY': empty sequence" in err
    assert "record #10 has a header without an identifier" in err
    assert [row[0] for row in read_table(out)[1]] == [rid for rid, _ in RECORDS]


@pytest.mark.parametrize("content, message", [("", "no FASTA records"), ("hello\n", "not a FASTA file")])
def test_bad_file_is_named(model_path, tmp_path, capsys, content, message):
    path = tmp_path / "x.txt"
    path.write_text(content)
    assert main(["predict", str(path), "--model", str(model_path)]) == 2
    assert f"x.txt: {message}" in capsys.readouterr().err


def test_missing_input_and_bad_model_are_clear_errors(model_path, tmp_path, capsys):
    assert main(["predict", str(tmp_path / "none.fasta"), "--model", str(model_path)]) == 2
    assert "none.fasta" in capsys.readouterr().err
    junk = tmp_path / "junk.keras"
    junk.write_text("junk")
    assert main(["predict", str(fasta(tmp_path)), "--model", str(junk)]) == 2
    assert "junk.keras is not a loadable Keras model" in capsys.readouterr().err


def test_attention_rows_for_attention_models(tmp_path, capsys):
    alstm = tmp_path / "alstm.keras"
    zoo.build_model("alstm", CLASS_NAMES, lstm_units=4, dense_units=4, attention_units=4).save(alstm)
    out, attention = tmp_path / "out.tsv", tmp_path / "attention.tsv"
    assert main(["predict", str(fasta(tmp_path)), "-o", str(out), "--model", str(alstm),
                 "--attention", str(attention)]) == 0
    rows = [line.split("\t") for line in attention.read_text().splitlines()]
    assert [row[0] for row in rows] == [rid for rid, _ in RECORDS]
    for row, length in zip(rows, LENGTHS):
        weights = np.array(row[1:], dtype=float)
        assert len(weights) == min(length, 1000) and weights.sum() == pytest.approx(1, abs=1e-4)


def test_a_model_needing_more_than_tokens_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "extra.keras"
    zoo.build_model("rlstm", CLASS_NAMES, lstm_units=4, dense_units=4, residue_inputs={"extra": 3}).save(path)
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta(tmp_path)), "-o", str(out), "--model", str(path)]) == 2
    assert "also needs the per-residue input(s) extra" in capsys.readouterr().err and not out.exists()


@pytest.mark.slow
def test_the_table_is_the_same_on_tensorflow_jax_and_numpy(tmp_path):
    """The shipped preset, homology included, on every Keras backend (each in its own process; numpy is what a
    small input gets by default)."""
    pytest.importorskip("jax")
    from protloc.prediction import presets

    tables = {}
    for backend in ("tensorflow", "jax", None):
        out = tmp_path / f"{backend}.tsv"
        environment = {**os.environ, "JAX_PLATFORMS": "cpu"}
        environment.pop("KERAS_BACKEND", None)
        environment.update({"KERAS_BACKEND": backend} if backend else {})
        code = ("import sys; from protloc.apps.cli import main; status = main(); import keras; "
                "print(keras.backend.backend(), 'tensorflow' in sys.modules, "
                "','.join(name for name in ('sklearn', 'matplotlib', 'pandas') if name in sys.modules) or '-'); "
                "sys.exit(status)")
        finished = subprocess.run([sys.executable, "-c", code, "predict", str(presets.EXAMPLES), "-o", str(out)],
                                  env=environment, check=True, capture_output=True, text=True)
        ran_on, imported_tensorflow, integrations = finished.stdout.split()
        assert ran_on == (backend or "numpy") and (backend or imported_tensorflow == "False")
        assert integrations == "-", backend  # Keras started without the integrations prediction never uses
        tables[backend] = read_table(out)
    assert tables["tensorflow"][0] == tables["jax"][0] == tables[None][0]
    assert table.same_rows(tables["tensorflow"][1], tables["jax"][1]) and table.same_rows(tables["tensorflow"][1],
                                                                                           tables[None][1])


def test_a_small_fasta_file_is_predicted_on_numpy_and_anything_else_on_tensorflow(tmp_path):
    from protloc.apps.cli import _default_backend, build_parser
    from protloc.utils import runtime

    small, large = tmp_path / "small.fasta", tmp_path / "large.fasta"
    small.write_text(">a\nMKV\n")
    large.write_text(">a\n" + "M" * runtime.SMALL_INPUT_BYTES + "\n")
    chosen = {tuple(argv): _default_backend(build_parser().parse_args(argv)) for argv in (
        ["predict", str(small)], ["predict", str(large)], ["predict", "-"], ["predict", str(small), "--explain", "x"],
        ["evaluate", "multiloc"])}
    assert list(chosen.values()) == ["numpy", "tensorflow", "tensorflow", "tensorflow", "tensorflow"]


def test_the_numpy_backend_refuses_to_train(tmp_path):
    code = ("import sys; from protloc import training; "
            "training.train(sys.argv[1], training.RunConfig.resolve(dataset='tests.toy_data:TINY', epochs=1))")
    finished = subprocess.run([sys.executable, "-c", code, str(tmp_path / "run")], capture_output=True, text=True,
                              env={**os.environ, "KERAS_BACKEND": "numpy"}, cwd=REPO)
    assert finished.returncode != 0 and "numpy backend only predicts" in finished.stderr


def test_attention_needs_an_attention_model(model_path, tmp_path, capsys):
    assert main(["predict", str(fasta(tmp_path)), "--model", str(model_path), "--attention", str(tmp_path / "a")]) == 2
    assert "attention needs an A-LSTM" in capsys.readouterr().err


@pytest.mark.slow
def test_stdin_to_stdout(model_path, tmp_path):
    text = "".join(f">{rid}\n{seq}\n" for rid, seq in RECORDS[:3])
    result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "predict", "-", "--model", str(model_path)],
                            input=text, capture_output=True, text=True, check=True)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("id\tlength\tprediction\tconfidence\tflags\ter\t")
    assert [line.split("\t")[0] for line in lines[1:]] == ["P0", "P1", "P2"]


@pytest.mark.slow
def test_a_bad_first_record_writes_nothing_to_stdout(model_path):
    text = ">P0\nMKV\n>P1\nMK1V\n"
    result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "predict", "-", "--model", str(model_path)],
                            input=text, capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().splitlines()[-1] == ("protloc predict: error: <stdin>, record 'P1', position 3: "
                                                      "invalid character '1' (allowed: the 20 standard residues, "
                                                      "B Z J X U O, any case, one trailing '*')")


def test_directories_bad_numbers_unknown_models_and_version_are_one_line_errors(model_path, tmp_path, capsys):
    assert main(["predict", str(tmp_path), "--model", str(model_path)]) == 2
    assert "is a directory; give a FASTA file" in capsys.readouterr().err
    assert main(["predict", str(fasta(tmp_path)), "--model", str(model_path), "--batch-size", "0"]) == 2
    assert "batch size must be at least 1, got 0" in capsys.readouterr().err
    assert main(["predict", str(fasta(tmp_path)), "--model", "multiloc-ensemblee"]) == 2
    assert "no preset called 'multiloc-ensemblee': give a shipped preset (deeploc2, multiloc, multiloc-ensemble, multiloc-paper)" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit) as stopped:
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out.startswith("protloc 0.")


def test_flags_mark_short_truncated_ambiguous_and_low_complexity_inputs(model_path, tmp_path):
    records = [("plain", RECORDS[4][1]), ("all_x", "X" * 200), ("repeat", "QQQQQQQQQA" * 20),
               ("huge", "".join(RNG.choice(list("ACDEFGHIKLMNPQRSTVWY"), 40000))), ("tiny", "MK"),
               ("short_x", "XXXXXXXXXX")]
    out = tmp_path / "out.tsv"
    assert main(["predict", str(fasta(tmp_path, records)), "-o", str(out), "--model", str(model_path)]) == 0
    header, rows = read_table(out)
    column = header.index("flags")
    assert {row[0]: row[column] for row in rows} == {
        "plain": "", "all_x": "ambiguous,low_complexity", "repeat": "low_complexity", "huge": "truncated",
        "tiny": "short", "short_x": "short,ambiguous"}
    assert set(input_flags.FLAGS) == {"truncated", "short", "ambiguous", "low_complexity"}


def test_explain_writes_a_track_per_protein_as_csv_and_png_and_format_gives_csv_and_json(model_path, tmp_path):
    out = tmp_path / "explained"
    records = RECORDS[:3]
    assert main(["predict", str(fasta(tmp_path, records)), "--model", str(model_path), "--explain", str(out),
                 "--format", "json", "-o", str(tmp_path / "out.json")]) == 0
    rows = __import__("json").loads((tmp_path / "out.json").read_text())
    assert [row["id"] for row in rows] == [rid for rid, _ in records] and isinstance(rows[0]["flags"], list)
    for (rid, seq), row in zip(records, rows):
        lines = (out / f"{rid}.csv").read_text().splitlines()
        assert lines[0] == "position,residue,occlusion" and len(lines) == 1 + min(len(seq), 1000)
        assert lines[1].split(",")[:2] == ["1", seq[0]]
        assert (out / f"{rid}.png").read_bytes()[:4] == b"\x89PNG"
    assert main(["predict", str(fasta(tmp_path, records)), "--model", str(model_path), "--format", "csv",
                 "-o", str(tmp_path / "out.csv")]) == 0
    assert (tmp_path / "out.csv").read_text().splitlines()[0].startswith("id,length,prediction,confidence,flags,")


def test_occlusion_importance_is_the_mean_drop_of_the_windows_covering_each_residue(model_path):
    from protloc.prediction import explain

    localizer = Localizer.from_preset(model_path, homology_evidence=False)
    sequence = RECORDS[4][1]
    track = explain.Explainer(localizer, window=5, stride=5).track(sequence)
    network = localizer.network
    tokens = sequences.encode_sequence(sequence)
    base = network.predict({"tokens": tokens[None]}, verbose=0)[0][track.target]
    masked = tokens.copy()
    masked[10:15] = explain.MASK_TOKEN
    drop = base - network.predict({"tokens": masked[None]}, verbose=0)[0][track.target]
    np.testing.assert_allclose(track.values[10:15], drop, atol=1e-5)  # residues 11-15: one window each
    assert track.kind == "occlusion" and track.residues == sequence and len(track.values) == len(sequence)


def test_tables_agree_with_text_equal_and_numbers_within_the_tolerance_in_or_out_of_order():
    direct = [line.split("\t") for line in ["P1\t10\tnucleus\t0.073068\t0.5", "P2\t12\tcytoplasm|nucleus\t0.541269\t"]]
    other = [line.split("\t") for line in ["P2\t12\tcytoplasm|nucleus\t0.541268\t", "P1\t10\tnucleus\t0.073069\t0.5"]]
    assert table.same_rows(direct, other, ordered=False) and not table.same_rows(direct, other)
    assert not table.same_rows(direct, [["P2", "12", "cytoplasm", "0.541269", ""], direct[0]], ordered=False)
    assert not table.same_rows(direct, [direct[0], ["P2", "12", "cytoplasm|nucleus", "0.5413", ""]])
    assert not table.same_rows(direct, direct[:1])
    assert table.same_rows([["P1", 0.5, None, float("nan")]], [["P1", 0.5000001, None, float("nan")]], 1e-6)
