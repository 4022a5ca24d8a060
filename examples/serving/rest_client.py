"""Query a TF Serving REST endpoint serving a `protloc export` SavedModel.

    python examples/serving/rest_client.py MKVLAAGIVALLLAAG MSTNPKPQRKTKRNT --url http://localhost:8501

Request (TF Serving "row" format, one instance per protein):
    POST /v1/models/protloc:predict  {"signature_name": "serving_default", "instances": ["MKV...", ...]}
Response, one object per protein, as the exported preset's label scheme has it:
    multi-label (deeploc2, the default preset): {"probabilities": [...10...], "decisions": [0, 1, ...],
        "locations": "cytoplasm|nucleus", "membrane": 0.12}
    single-label (the MultiLoc presets): {"probabilities": [...11...], "prediction": "nucleus", "confidence": 0.93}
"""
import argparse
import json
import urllib.request


def build_request(sequences, signature_name="serving_default") -> dict:
    """The JSON body of a predict request: one raw amino-acid string per instance."""
    return {"signature_name": signature_name, "instances": [str(s) for s in sequences]}


def predict(sequences, url="http://localhost:8501", model="protloc") -> list[dict]:
    """Posts the request; returns one dict per protein (see the module docstring for its keys)."""
    body = json.dumps(build_request(sequences)).encode()
    request = urllib.request.Request(f"{url}/v1/models/{model}:predict", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        return json.load(response)["predictions"]


def summary(result: dict) -> str:
    """One protein's call as a line: the locations and membrane probability (multi-label), or the compartment and
    its probability (single-label)."""
    if "locations" in result:
        membrane = f"\tmembrane {result['membrane']:.3f}" if "membrane" in result else ""
        return f"{result['locations']}{membrane}"
    return f"{result['prediction']}\t{result['confidence']:.3f}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sequences", nargs="+")
    parser.add_argument("--url", default="http://localhost:8501")
    parser.add_argument("--model", default="protloc")
    args = parser.parse_args()
    for sequence, result in zip(args.sequences, predict(args.sequences, args.url, args.model)):
        print(f"{sequence[:20]}\t{summary(result)}")
