"""Query a TF Serving gRPC endpoint (port 8500) serving a `protloc export` SavedModel.

    python examples/serving/grpc_client.py MKVLAAGIVALLLAAG MSTNPKPQRKTKRNT --target localhost:8500

A multi-label model (deeploc2, the default preset) answers ``locations`` (``|``-joined names), ``decisions``,
``membrane`` and ``probabilities``; a single-label one (the MultiLoc presets) ``prediction``, ``confidence`` and
``probabilities``.
"""
import argparse

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc


def build_request(sequences, model="protloc", signature_name="serving_default") -> predict_pb2.PredictRequest:
    """A PredictRequest with the raw sequences as the `sequences` string tensor."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature_name
    request.inputs["sequences"].CopyFrom(tf.make_tensor_proto(np.array(sequences, dtype=object), dtype=tf.string))
    return request


def predict(sequences, target="localhost:8500", model="protloc", timeout_s=30.0) -> dict:
    """Returns the model's outputs by name as NumPy arrays (strings decoded), one row per protein."""
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(build_request(sequences, model), timeout_s)
    outputs = {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
    return {name: np.array([v.decode() for v in value]) if value.dtype == object else value
            for name, value in outputs.items()}


def summaries(outputs: dict) -> list[str]:
    """Each protein's call as a line: locations and membrane probability (multi-label), or the compartment and its
    probability (single-label)."""
    if "locations" in outputs:
        membrane = outputs.get("membrane")
        return [f"{name}" + (f"\tmembrane {membrane[i]:.3f}" if membrane is not None else "")
                for i, name in enumerate(outputs["locations"])]
    return [f"{name}\t{confidence:.3f}" for name, confidence in zip(outputs["prediction"], outputs["confidence"])]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+")
    parser.add_argument("--target", default="localhost:8500")
    parser.add_argument("--model", default="protloc")
    args = parser.parse_args()
    for sequence, line in zip(args.sequences, summaries(predict(args.sequences, args.target, args.model))):
        print(f"{sequence[:20]}\t{line}")
