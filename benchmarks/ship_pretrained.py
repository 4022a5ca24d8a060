"""Packages a benchmark model into protloc/pretrained/ (the .keras file without optimizer state + its .json card).

    python benchmarks/ship_pretrained.py --run runs/table1-50-epochs/rlstm-seed0 --entry rlstm \
        --results table1-50-epochs
    python benchmarks/ship_pretrained.py --run runs/table1-50-epochs/ensemble.keras --as pretrained-ensemble \
        --results table1-50-epochs

The card's accuracy is read from the benchmark's results, benchmarks/results/NAME.json (--results, default
table1), never typed by hand: for a single model from its entry (--entry), for an ensemble of k R-LSTMs from
the ensemble-size curve at k members.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys

from common import RESULTS
from protloc import files, models, pretrained, training



def measured_accuracy(results: dict, entry: str | None, members: int, source: str) -> dict:
    """The card's test figures: the single model's report (``entry``), or the curve point of ``members``;
    ``source`` names the results file in errors."""
    if members == 1:
        report = results["models"][entry]["report"]
        return {"test_accuracy": report["accuracy"], "test_accuracy_95ci": report["accuracy_95ci"],
                "test_mcc": report["mcc"], "test_proteins": report["n"]}
    point = next((p for p in results["ensemble_curve"] if p["members"] == members), None)
    if point is None:
        raise SystemExit(f"{source} has no ensemble of {members} members; run benchmarks/table1.py first")
    return {"test_accuracy": point["accuracy"], "test_accuracy_95ci": point["accuracy_95ci"],
            "test_proteins": results["models"]["rlstm"]["report"]["n"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=pathlib.Path, required=True, help="run directory (or ensemble .keras file)")
    parser.add_argument("--entry", help="single model's name in the results, e.g. rlstm")
    parser.add_argument("--results", default="table1", metavar="NAME",
                        help="the table1.py results the model comes from: benchmarks/results/NAME.json")
    parser.add_argument("--as", dest="name", default="pretrained", choices=sorted(pretrained.SHIPPED),
                        help="which shipped model to replace (default: pretrained)")
    args = parser.parse_args(argv)

    results_path = RESULTS / f"{args.results}.json"
    results = json.loads(results_path.read_text())
    model = models.load_model(args.run)  # loaded uncompiled: the shipped file carries no optimizer state
    members = models.member_count(model)
    if members == 1 and not args.entry:
        parser.error(f"a single model needs --entry, its name in {results_path.name}")
    path = pretrained.model_path(args.name)
    files.save_model(model, path)
    description = ("Sønderby et al. (2015) convolutional LSTM, sequence-only features "
                   "(one-hot + BLOSUM80 + HSDM; no profiles)")
    if members > 1:
        description = f"Ensemble of {members} R-LSTMs (seeds 0-{members - 1}, probabilities averaged): " + description
    files.write_json(pretrained.card_path(args.name), {
        "name": args.entry or f"ensemble ({members} R-LSTMs)",
        "members": members,
        "description": description,
        "class_names": models.class_names_of(model),
        "run_config": training.read_config(args.run).__dict__ if args.run.is_dir() else None,
        "hparams": results["hparams"],
        "epochs_per_model": results["epochs"],
        "training_data": "TFDS multiloc 1.0.0, train split (4,766 proteins; 5,959 MultiLoc proteins, "
                         "stratified 4/5 train, 1/5 test)",
        **measured_accuracy(results, args.entry, members, str(results_path)),
        "benchmark_command": results["command"],
        "benchmark_results": f"benchmarks/results/{args.results}.json",
        "machine": results["machine"],
        "max_length": 1000,
    })
    card = pretrained.model_card(args.name)
    print(f"shipped {args.run} as {path} ({path.stat().st_size / 1e6:.1f} MB, {members} member(s)), "
          f"test accuracy {card['test_accuracy']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
