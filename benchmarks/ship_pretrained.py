"""Packages a benchmark model as protloc/pretrained/ (model.keras without optimizer state + model.json card).

    python benchmarks/ship_pretrained.py --run runs/table1/rlstm-seed0 --entry rlstm

The card's accuracy is read from benchmarks/results/table1.json (entry --entry), never typed by hand.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from protloc import files, models, training
from protloc.pretrained import CARD_PATH, MODEL_PATH

RESULTS = pathlib.Path(__file__).parent / "results" / "table1.json"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=pathlib.Path, required=True, help="run directory (or ensemble .keras file)")
    parser.add_argument("--entry", required=True, help="model name in table1.json, e.g. rlstm")
    args = parser.parse_args(argv)

    results = json.loads(RESULTS.read_text())
    report = results["models"][args.entry]["report"]
    model = models.load_model(args.run)  # loaded uncompiled: the shipped file carries no optimizer state
    files.save_model(model, MODEL_PATH)
    config = training.read_config(args.run).__dict__ if args.run.is_dir() else None
    files.write_json(CARD_PATH, {
        "name": args.entry,
        "description": "Sønderby et al. (2015) convolutional LSTM, sequence-only features "
                       "(one-hot + BLOSUM80 + HSDM; no profiles)",
        "class_names": models.class_names_of(model),
        "run_config": config,
        "training_data": "TFDS multiloc 1.0.0, train split (4,766 proteins; 5,959 MultiLoc proteins, "
                         "stratified 4/5 train, 1/5 test)",
        "test_accuracy": report["accuracy"],
        "test_accuracy_95ci": report["accuracy_95ci"],
        "test_mcc": report["mcc"],
        "test_proteins": report["n"],
        "benchmark_command": results["command"],
        "machine": results["machine"],
        "max_length": 1000,
    })
    print(f"shipped {args.run} as {MODEL_PATH} ({MODEL_PATH.stat().st_size / 1e6:.1f} MB), "
          f"test accuracy {report['accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
