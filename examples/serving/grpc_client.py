"""Query a TF Serving gRPC endpoint (port 8500) serving a `protloc export` SavedModel.

    python examples/serving/grpc_client.py MKVLAAGIVALLLAAG MSTNPKPQRKTKRNT --target localhost:8500
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


def predict(sequences, target="localhost:8500", model="protloc", timeout_s=30.0):
    """Returns (class names predicted, confidences, probabilities [n, 11])."""
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(build_request(sequences, model), timeout_s)
    outputs = {name: tf.make_ndarray(proto) for name, proto in response.outputs.items()}
    return [p.decode() for p in outputs["prediction"]], outputs["confidence"], outputs["probabilities"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+")
    parser.add_argument("--target", default="localhost:8500")
    parser.add_argument("--model", default="protloc")
    args = parser.parse_args()
    names, confidences, _ = predict(args.sequences, args.target, args.model)
    for sequence, name, confidence in zip(args.sequences, names, confidences):
        print(f"{sequence[:20]}\t{name}\t{confidence:.3f}")
