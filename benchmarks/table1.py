"""Paper Table 1 on MultiLoc: R-LSTM, A-LSTM, an R-LSTM ensemble, and 5-fold CV on the training part.

Usage (resumable: re-running continues unfinished runs and adds ensemble members / folds):
    python benchmarks/table1.py --epochs 100 --members 10 --out runs/table1

Order of work: the single models (R-LSTM seed 0, A-LSTM seed 0), the further R-LSTM seeds (each one grows the
ensemble), then the CV folds of both single models. After every finished step, benchmarks/results/table1.{json,md}
are rewritten with what is done and what is still missing. Training reads only the training split; the test
split is used once per finished model, for the final numbers; epochs and hyper-parameters are fixed in advance.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import shlex
import statistics
import sys
import time

import keras

from protloc import data, evaluation, files, models, runtime, training

PAPER = {"rlstm": 0.879, "alstm": 0.854, "ensemble": 0.902, "multiloc": 0.767}
PAPER_SETUP = {"epochs": 100, "learning_rate": 2e-4, "members": 10}
RESULTS = pathlib.Path(__file__).parent / "results"


class EpochWallClock(keras.callbacks.Callback):
    """Adds every finished epoch's wall time to a JSON ledger ``{"seconds": total}``, so that a run stopped and
    resumed keeps the time of every epoch it finished."""

    def __init__(self, path: pathlib.Path):
        super().__init__()
        self.path, self.start = path, None

    def total(self) -> float:
        return json.loads(self.path.read_text())["seconds"] if self.path.exists() else 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        files.write_json(self.path, {"seconds": self.total() + time.time() - self.start})


def timed_train(run_dir: pathlib.Path, config: training.RunConfig, data_dir) -> float:
    """Trains (or resumes) a run; returns the wall time of all its epochs in seconds, across resumes."""
    clock = EpochWallClock(run_dir / "wall_time.json")
    training.train(run_dir, config, data_dir=data_dir, verbose=2, callbacks=[clock])
    return clock.total()


def test_report(model, data_dir) -> dict:
    labels, predictions = evaluation.predict_labels(model, data.batch(data.load_multiloc("test", data_dir)))
    return evaluation.classification_report(labels, predictions, models.class_names_of(model))


def machine() -> str:
    return f"{os.cpu_count()} CPU cores, {platform.machine()}, {platform.processor() or platform.system()}"


def setup_differences(results: dict) -> list[str]:
    """What separates this run's setup from the paper's, read from the results themselves."""
    hparams, members = results["hparams"], results["members"]
    done = members - sum(name.startswith("rlstm-seed") for name in results["missing"])
    differences = ["features: one-hot + BLOSUM80 + HSDM only; the paper adds PSI-BLAST profiles (UniRef50)"]
    if results["epochs"] != PAPER_SETUP["epochs"]:
        differences.append(f"epochs: {results['epochs']} per model (paper {PAPER_SETUP['epochs']})")
    if hparams["learning_rate"] != PAPER_SETUP["learning_rate"]:
        differences.append(f"learning rate: {hparams['learning_rate']:g} (paper {PAPER_SETUP['learning_rate']:g})")
    if done < PAPER_SETUP["members"]:
        differences.append(f"ensemble: {done} R-LSTM members trained of {members} planned "
                           f"(paper {PAPER_SETUP['members']})")
    differences.append("hyper-parameters fixed in advance, not chosen by 5-fold CV; a keras-tuner search around "
                       "the R-LSTM is in tuning.md")
    return differences


def markdown(results: dict) -> str:
    lines = ["# Table 1 on MultiLoc (sequence-only features: one-hot + BLOSUM80 + HSDM, no profiles)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}  ",
             f"Epochs per model: {results['epochs']}; hyper-parameters: `{json.dumps(results['hparams'])}`", "",
             "| model | test accuracy (95% CI) | MCC | paper | difference | training accuracy, last epoch | "
             "training wall time |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for name, entry in results["models"].items():
        report = entry["report"]
        low, high = report["accuracy_95ci"]
        paper = PAPER["ensemble" if name.startswith("ensemble") else name]
        training_accuracy = f"{entry['training_accuracy']:.3f}" if "training_accuracy" in entry else ""
        lines.append(f"| {name} | {report['accuracy']:.3f} ({low:.3f}-{high:.3f}) | {report['mcc']:.3f} | "
                     f"{paper:.3f} | {report['accuracy'] - paper:+.3f} | {training_accuracy} | "
                     f"{entry['wall_time_s'] / 60:.0f} min |")
    lines.append(f"| MultiLoc (paper) | | | {PAPER['multiloc']:.3f} | | | |")
    lines += ["", "Training accuracy is Keras's running accuracy over a model's last epoch, with dropout on: far "
              "above the test accuracy would mean overfitting, near it that the model is still learning."]
    lines += ["", "How this run differs from the paper's (the `difference` column is test accuracy minus the paper's):",
              ""] + [f"* {difference}" for difference in setup_differences(results)]
    lines += ["", "5-fold cross-validation on the training part (validation accuracy):", ""]
    for name, folds in results["cv"].items():
        values = [folds[k] for k in sorted(folds)]
        spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        lines.append(f"* {name}: {len(values)}/5 folds done" + (
            f", mean {statistics.mean(values):.3f}{spread}" if values else ""))
    if results["missing"]:
        lines += ["", "Not finished yet (re-run the command to continue): " + ", ".join(results["missing"])]
    for name, entry in results["models"].items():
        lines += ["", evaluation.markdown_report(entry["report"], f"{name}: test split").replace("# ", "## ", 1)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--members", type=int, default=10, help="R-LSTM ensemble size (paper: 10)")
    parser.add_argument("--learning-rate", type=float, help="default: the paper's 2e-4")
    parser.add_argument("--lstm-units", type=int)
    parser.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/table1"))
    parser.add_argument("--data-dir", help="TFDS data directory")
    args = parser.parse_args(argv)
    runtime.run_branches_in_parallel()

    hparams = models.resolve_hparams(learning_rate=args.learning_rate, lstm_units=args.lstm_units)
    results = {"command": "python " + " ".join(shlex.quote(a) for a in ["benchmarks/table1.py", *sys.argv[1:]]),
               "machine": machine(), "epochs": args.epochs, "members": args.members, "hparams": hparams,
               "paper": PAPER,
               "models": {}, "cv": {"rlstm": {}, "alstm": {}}, "missing": []}
    plan = [("rlstm", 0, None), ("alstm", 0, None)] + [("rlstm", seed, None) for seed in range(1, args.members)]
    if not args.no_cv:
        plan += [(name, 0, fold) for fold in range(5) for name in ("rlstm", "alstm")]
    results["missing"] = [_step_name(*step) for step in plan]
    members, member_time = [], 0.0

    for name, seed, fold in plan:
        run_dir = args.out / _step_name(name, seed, fold)
        config = training.RunConfig(model=name, hparams=hparams, epochs=args.epochs, seed=seed, fold=fold)
        wall_time = timed_train(run_dir, config, args.data_dir)
        model = models.load_model(run_dir)
        if fold is not None:
            labels, predictions = evaluation.predict_labels(
                model, data.batch(data.load_multiloc("train", args.data_dir, [fold])))
            results["cv"][name][str(fold)] = float((labels == predictions).mean())
        elif seed == 0:
            results["models"][name] = {"report": test_report(model, args.data_dir), "wall_time_s": wall_time,
                                       "training_accuracy": training.read_history(run_dir)[-1]["accuracy"]}
        if name == "rlstm" and fold is None:
            members.append(model)
            member_time += wall_time
            if len(members) > 1:
                ensemble = models.build_ensemble(members, name=f"ensemble_{len(members)}")
                files.save_model(ensemble, args.out / "ensemble.keras")
                results["models"] = {k: v for k, v in results["models"].items() if not k.startswith("ensemble")}
                results["models"][f"ensemble ({len(members)} R-LSTMs)"] = {
                    "report": test_report(ensemble, args.data_dir), "wall_time_s": member_time}
        results["missing"].remove(_step_name(name, seed, fold))
        files.write_json(RESULTS / "table1.json", results)
        files.write_text(RESULTS / "table1.md", markdown(results))
    return 0


def _step_name(name: str, seed: int, fold) -> str:
    return f"{name}-fold{fold}" if fold is not None else f"{name}-seed{seed}"


if __name__ == "__main__":
    sys.exit(main())
