"""protloc export: the SavedModel alone (TensorFlow only) reproduces `protloc predict`; signatures, warm-up,
the REST and gRPC client examples against local stand-ins for TF Serving, and serving-time errors."""
import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from protloc.apps import export
from protloc.apps.cli import main
from protloc.data import sequences
from protloc.models import zoo

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

REPO = pathlib.Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(5)
SEQUENCES = ["".join(RNG.choice(list("ACDEFGHIKLMNPQRSTVWY"), n)) for n in (40, 1500, 7)]
SEQUENCES += ["mkvlaagivalllaag*", "MKBZJXUOLLA", "A" * 999 + "W" * 3]

# Runs in a fresh interpreter where importing protloc is impossible: TensorFlow alone must serve the model.
FRESH_PROCESS = """
import json, sys
sys.modules["protloc"] = None
import tensorflow as tf

model = tf.saved_model.load(sys.argv[1])
out = model.signatures["serving_default"](sequences=tf.constant(json.loads(sys.argv[2])))
print(json.dumps({k: (v.numpy().astype(str) if v.dtype == tf.string else v.numpy()).tolist() for k, v in out.items()}))
"""


NAMES = [f"compartment_{i}" for i in range(11)]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """(model file, SavedModel dir) for a small R-LSTM, one with max pooling before its LSTMs and the conv filters'
    maxima beside them, and a small A-LSTM."""
    root = tmp_path_factory.mktemp("export")
    paths = {}
    for name, family, extra in (("rlstm", "rlstm", {}), ("rlstm-pooled", "rlstm", {"pool_size": 2, "global_max": True}),
                                ("alstm", "alstm", {})):
        model_file = root / f"{name}.keras"
        zoo.build_model(family, NAMES, lstm_units=6, dense_units=6, attention_units=8, **extra).save(model_file)
        assert main(["export", str(model_file), "--out", str(root / name / "protloc" / "1")]) == 0
        paths[name] = (model_file, root / name / "protloc" / "1")
    return paths


@pytest.mark.parametrize("name", ["rlstm", "rlstm-pooled", "alstm"])
def test_fresh_tensorflow_process_matches_protloc_predict(exported, name, tmp_path):
    model_file, saved = exported[name]
    result = subprocess.run([sys.executable, "-c", FRESH_PROCESS, str(saved), json.dumps(SEQUENCES)],
                            capture_output=True, text=True, check=True)
    served = json.loads(result.stdout.splitlines()[-1])
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">S{i}\n{s}\n" for i, s in enumerate(SEQUENCES)))
    assert main(["predict", str(fasta), "-o", str(tmp_path / "out.tsv"), "--model", str(model_file)]) == 0
    rows = [line.split("\t") for line in (tmp_path / "out.tsv").read_text().splitlines()[1:]]
    expected = np.array([row[5:] for row in rows], dtype=float)
    assert np.abs(np.array(served["probabilities"]) - expected).max() <= 1e-5
    assert served["prediction"] == [row[2] for row in rows]
    np.testing.assert_allclose(served["confidence"], [float(row[3]) for row in rows], atol=1e-5)
    if name == "alstm":
        attention = np.array(served["attention"])
        kept = [len(sequences.encode_sequence(s)) for s in SEQUENCES]
        assert attention.shape == (len(SEQUENCES), max(kept))
        for row, length in zip(attention, kept):
            assert row[length:].sum() == 0 and row[:length].sum() == pytest.approx(1, abs=1e-5)


def test_in_graph_tokens_equal_python_tokens():
    tokens = export.sequences_to_tokens(tf.constant(SEQUENCES)).numpy()
    for row, text in zip(tokens, SEQUENCES):
        expected = sequences.encode_sequence(text)
        np.testing.assert_array_equal(row[:len(expected)], expected)
        assert not row[len(expected):].any()


@pytest.mark.parametrize("batch, message", [(["MKV", "MK1V"], "invalid character in the sequence at batch index"),
                                            (["MKV", "MK V"], "invalid character"),
                                            (["MKV", "MKé"], "invalid character"),
                                            (["MKV", ""], "empty sequence at batch index"),
                                            (["*"], "empty sequence")])
def test_bad_sequences_fail_with_invalid_argument(exported, batch, message):
    signature = tf.saved_model.load(str(exported["rlstm"][1])).signatures["serving_default"]
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        signature(sequences=tf.constant(batch))


def test_saved_model_cli_lists_both_signatures(exported):
    cli = pathlib.Path(sys.executable).with_name("saved_model_cli")
    text = subprocess.run([str(cli), "show", "--dir", str(exported["alstm"][1]), "--all"],
                          capture_output=True, text=True, check=True).stdout
    default = text[text.index("signature_def['serving_default']"):]
    assert "inputs['sequences'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in default
    for output, dtype, shape in [("probabilities", "DT_FLOAT", "(-1, 11)"), ("prediction", "DT_STRING", "(-1)"),
                                 ("confidence", "DT_FLOAT", "(-1)"), ("attention", "DT_FLOAT", "(-1, -1)")]:
        assert f"outputs['{output}'] tensor_info:\n        dtype: {dtype}\n        shape: {shape}" in text
    tokens = text[text.index("signature_def['serve_tokens']"):]
    assert "inputs['tokens'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, -1)" in tokens


def test_metadata_and_warmup_requests(exported):
    saved = exported["rlstm"][1]
    metadata = json.loads((saved / "assets.extra" / "protloc.json").read_text())
    assert metadata["class_names"] == NAMES and metadata["max_length"] == 1000 and not metadata["attention"]
    from tensorflow_serving.apis import prediction_log_pb2

    records = list(tf.data.TFRecordDataset(str(saved / "assets.extra" / "tf_serving_warmup_requests")))
    assert len(records) == 2
    signature = tf.saved_model.load(str(saved)).signatures["serving_default"]
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        assert request.model_spec.signature_name == "serving_default"
        batch = tf.make_ndarray(request.inputs["sequences"])
        assert signature(sequences=tf.constant(batch))["probabilities"].shape == (len(batch), 11)


def load_client(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / "serving" / f"{name}.py")
    client = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(client)
    return client


def run_signature(saved, name, sequences):
    """What TF Serving answers: the SavedModel's signature ``name`` on a batch of raw sequences."""
    signature = tf.saved_model.load(str(saved)).signatures[name]
    return {key: value.numpy() for key, value in signature(sequences=tf.constant(sequences)).items()}


@pytest.fixture(scope="module")
def exported_default(tmp_path_factory):
    """The SavedModel of the default (multi-label) preset, as `protloc export deeploc2` writes it."""
    out = tmp_path_factory.mktemp("export-default") / "protloc" / "1"
    assert main(["export", "deeploc2", "--out", str(out)]) == 0
    return out


def serving_rows(out: dict, count: int) -> list[dict]:
    """TF Serving's REST answer in the row format: one object per instance, each output's row by name."""
    def value(array):
        return array.decode() if isinstance(array, bytes) else array.tolist() if hasattr(array, "tolist") else array
    return [{name: value(array[i]) for name, array in out.items()} for i in range(count)]


@pytest.mark.parametrize("which", ["single-label", "default preset"])
def test_rest_client_against_a_stand_in_for_tf_serving_rest_api(exported, exported_default, which, capsys):
    """A local HTTP server answering /v1/models/protloc:predict in TF Serving's row format with the SavedModel."""
    import http.server
    import threading

    saved = exported["rlstm"][1] if which == "single-label" else exported_default

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            assert self.path == "/v1/models/protloc:predict"
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            out = run_signature(saved, body["signature_name"], body["instances"])
            answer = json.dumps({"predictions": serving_rows(out, len(body["instances"]))}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = load_client("rest_client")
        assert client.build_request(SEQUENCES[:2]) == {"signature_name": "serving_default", "instances": SEQUENCES[:2]}
        results = client.predict(SEQUENCES[:3], url=f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    direct = run_signature(saved, "serving_default", SEQUENCES[:3])
    np.testing.assert_allclose([r["probabilities"] for r in results], direct["probabilities"], atol=1e-6)
    lines = [client.summary(result) for result in results]
    if which == "single-label":
        assert [r["prediction"] for r in results] == [p.decode() for p in direct["prediction"]]
        assert [line.split("\t")[0] for line in lines] == [p.decode() for p in direct["prediction"]]
    else:
        assert [r["locations"] for r in results] == [p.decode() for p in direct["locations"]]
        names = json.loads((saved / "assets.extra" / "protloc.json").read_text())["class_names"]
        for result, line in zip(results, lines):
            decided = [name for name, flag in zip(names, result["decisions"]) if flag]
            assert decided and result["locations"] == "|".join(decided) and line.startswith(result["locations"])
            assert 0 <= result["membrane"] <= 1 and "membrane" in line


def test_grpc_client_against_a_stand_in_for_tf_serving_grpc_api(exported):
    """A local gRPC PredictionService answering with the SavedModel, as TF Serving would on port 8500."""
    import concurrent.futures

    import grpc
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    saved = exported["alstm"][1]

    class Service(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            assert request.model_spec.name == "protloc"
            batch = tf.make_ndarray(request.inputs["sequences"])
            out = run_signature(saved, request.model_spec.signature_name, batch)
            response = predict_pb2.PredictResponse()
            for key, value in out.items():
                response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
            return response

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Service(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        client = load_client("grpc_client")
        outputs = client.predict(SEQUENCES[:3], f"127.0.0.1:{port}")
    finally:
        server.stop(None)
    direct = run_signature(saved, "serving_default", SEQUENCES[:3])
    assert list(outputs["prediction"]) == [p.decode() for p in direct["prediction"]]
    np.testing.assert_allclose(outputs["probabilities"], direct["probabilities"], atol=1e-6)
    np.testing.assert_allclose(outputs["confidence"], direct["confidence"], atol=1e-6)
    assert [line.split("\t")[0] for line in client.summaries(outputs)] == list(outputs["prediction"])


def test_export_refuses_to_overwrite(exported, capsys):
    model_file, saved = exported["rlstm"]
    assert main(["export", str(model_file), "--out", str(saved)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert sorted(os.listdir(saved.parent)) == ["1"]


def test_a_model_needing_more_than_tokens_is_not_exported(tmp_path, capsys):
    model_file = tmp_path / "profile.keras"
    zoo.build_model("rlstm", NAMES, lstm_units=4, dense_units=4, residue_inputs={"extra": 3}).save(model_file)
    assert main(["export", str(model_file), "--out", str(tmp_path / "out")]) == 2
    assert "also needs the per-residue input(s) extra" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
