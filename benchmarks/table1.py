"""Paper Table 1 on MultiLoc: R-LSTM, A-LSTM, an R-LSTM ensemble, and 5-fold CV on the training part.

Usage (resumable: re-running continues unfinished runs and adds ensemble members / folds):
    python benchmarks/table1.py --epochs 100 --members 10 --out runs/table1

More epochs for runs that already exist, without training their first epochs again (results in
benchmarks/results/table1-50-epochs.{json,md}, the shorter runs and their results left as they are):
    python benchmarks/table1.py --epochs 50 --members 10 --out runs/table1-50-epochs \
        --start-from runs/table1 --results table1-50-epochs

Order of work: the single models (R-LSTM seed 0, A-LSTM seed 0), the further R-LSTM seeds (each one grows the
ensemble), then the R-LSTM's five CV folds (so its CV figure is complete first), then the A-LSTM's. After every
finished step, benchmarks/results/table1.{json,md} are rewritten with what is done and what is still missing.
Training reads only the training split; the test split is predicted once per finished model (kept in its run
directory as test_predictions.npz) for the final numbers; epochs and hyper-parameters are fixed in advance. The
ensemble's figures average its members' kept probabilities (what the saved ensemble.keras computes); they are
reported for every ensemble size, with an exact McNemar test of the ensemble against the single R-LSTM on the same
test proteins.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys

import numpy as np

from common import cached_predictions, command, start_from, test_report, timed_train, trained_on, write_results
from protloc.data import datasets
from protloc.models import recipes, zoo
from protloc.training import evaluation, loop
from protloc.utils import files, runtime

PAPER = {"rlstm": 0.879, "alstm": 0.854, "ensemble": 0.902, "multiloc": 0.767}
PAPER_SETUP = {"epochs": 100, "learning_rate": 2e-4, "members": 10}
SPEC = datasets.get("multiloc")
"""The paper's Table 1 is on MultiLoc."""


def setup_differences(results: dict) -> list[str]:
    """What separates this run's setup from the paper's, read from the results themselves."""
    hparams, members = results["hparams"], results["members"]
    done = members - sum(name.startswith("rlstm-seed") for name in results["missing"])
    differences = ["features: one-hot + BLOSUM80 + HSDM only; the paper adds PSI-BLAST profiles (UniRef50)"]
    if results["epochs"] != PAPER_SETUP["epochs"]:
        differences.append(f"epochs: {results['epochs']} per model (paper {PAPER_SETUP['epochs']})")
    if hparams["learning_rate"] != PAPER_SETUP["learning_rate"]:
        differences.append(f"learning rate: {hparams['learning_rate']:g} (paper {PAPER_SETUP['learning_rate']:g})")
    if results.get("cv_only"):
        differences.append("cross-validation only: no test-split models (see table1.md and table1-50-epochs.md)")
    elif done < PAPER_SETUP["members"]:
        differences.append(f"ensemble: {done} of {members} planned R-LSTM members trained "
                           f"(paper {PAPER_SETUP['members']})")
    differences.append("hyper-parameters fixed in advance, not chosen by 5-fold CV; a keras-tuner search around "
                       "the R-LSTM chose the multiloc preset's configuration")
    return differences


def markdown(results: dict) -> str:
    title = "Table 1 on MultiLoc" + (": 5-fold cross-validation" if results.get("cv_only") else "")
    lines = [f"# {title} (sequence-only features: one-hot + BLOSUM80 + HSDM, no profiles)", "",
             f"Command: `{results['command']}`  ", f"Machine: {results['machine']}  ",
             f"Epochs per model: {results['epochs']}; hyper-parameters: `{json.dumps(results['hparams'])}`"]
    if not results.get("cv_only"):
        lines += models_table(results)
    lines += ["", "How this run differs from the paper's" + (
        "" if results.get("cv_only") else " (the `difference` column is test accuracy minus the paper's)") + ":",
              ""] + [f"* {difference}" for difference in setup_differences(results)]
    lines += ["", "5-fold cross-validation on the training part (validation accuracy; ± is the standard deviation "
              "over folds):", ""]
    for name, folds in results["cv"].items():
        values = [folds[k] for k in sorted(folds)]
        spread = f" ± {statistics.stdev(values):.3f}" if len(values) > 1 else ""
        each = ", ".join(f"fold {k} {folds[k]:.3f}" for k in sorted(folds))
        minutes = [seconds / 60 for seconds in results.get("cv_wall_time_s", {}).get(name, {}).values()]
        lines.append(f"* {name}: {len(values)}/{SPEC.num_folds} folds done" + (
            f", mean {statistics.mean(values):.3f}{spread} ({each})" if values else "") + (
            f"; training wall time {_minutes_range(minutes)} a fold" if minutes else ""))
    elsewhere = {step: machines for step, machines in results.get("trained_on", {}).items()
                 if machines and machines != [results["machine"]]}
    if elsewhere:
        lines += ["", "Runs trained on other machines than the one that wrote this file (their runs copied into "
                  "`--out`; wall times are those machines'):", ""]
        lines += [f"* {step}: {'; then '.join(machines)}" for step, machines in elsewhere.items()]
    if results["missing"]:
        lines += ["", "Not finished yet (re-run the command to continue): " + ", ".join(results["missing"])]
    for name, entry in results["models"].items():
        lines += ["", evaluation.markdown_report(entry["report"], f"{name}: test split").replace("# ", "## ", 1)]
    return "\n".join(lines) + "\n"


def models_table(results: dict) -> list[str]:
    """The test-split table of the single models and the ensemble against the paper, with the ensemble curve and
    the paired tests (Markdown lines)."""
    lines = ["", "| model | test accuracy (95% CI) | MCC | paper | difference | training accuracy, last epoch | "
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
    if results["ensemble_curve"]:
        lines += ["", "Test accuracy by ensemble size (the first k R-LSTMs, seeds 0 to k-1, averaged):", "",
                  "| members | " + " | ".join(str(point["members"]) for point in results["ensemble_curve"]) + " |",
                  "|---|" + "---:|" * len(results["ensemble_curve"]),
                  "| test accuracy | " + " | ".join(f"{point['accuracy']:.3f}" for point in results["ensemble_curve"])
                  + " |",
                  "| k-th member alone | " + " | ".join(f"{point['newest_member_alone']:.3f}"
                                                      for point in results["ensemble_curve"]) + " |"]
        alone = [point["newest_member_alone"] for point in results["ensemble_curve"]]
        if len(alone) > 1:
            lines += ["", f"Single R-LSTMs over {len(alone)} seeds: test accuracy mean {statistics.mean(alone):.3f}, "
                      f"standard deviation {statistics.stdev(alone):.3f}, range {min(alone):.3f}-{max(alone):.3f}."]
    for name, entry in results["models"].items():
        if "vs_rlstm" in entry:
            test = entry["vs_rlstm"]
            lines += ["", f"{name} vs the single R-LSTM (seed 0), paired on the same test proteins: only the "
                      f"ensemble right on {test['only_first']}, only the R-LSTM right on {test['only_second']}; "
                      f"exact McNemar {_p_value(test['p_value'])}."]
        if "vs_shorter" in entry:
            test = entry["vs_shorter"]
            lines += ["", f"{name} after {results['epochs']} epochs vs the same run after {test['epochs']} "
                      f"(`{test['run']}`, test accuracy {test['accuracy']:.3f}), paired on the same test proteins: "
                      f"only the {results['epochs']}-epoch model right on {test['only_first']}, only the "
                      f"{test['epochs']}-epoch one on {test['only_second']}; "
                      f"exact McNemar {_p_value(test['p_value'])}."]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--members", type=int, default=10, help="R-LSTM ensemble size (paper: 10)")
    parser.add_argument("--learning-rate", type=float, help="default: the paper's 2e-4")
    parser.add_argument("--lstm-units", type=int)
    parser.add_argument("--no-cv", action="store_true", help="skip the 5-fold cross-validation")
    parser.add_argument("--cv-only", action="store_true",
                        help="only the 5-fold cross-validation of both single models (no test-split models)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/table1"))
    parser.add_argument("--start-from", type=pathlib.Path, metavar="DIR",
                        help="runs of this command with fewer epochs (e.g. runs/table1): each step not yet in "
                             "--out is copied from DIR, where it exists, and extended")
    parser.add_argument("--results", default="table1", metavar="NAME",
                        help="write benchmarks/results/NAME.{json,md} (default: table1)")
    parser.add_argument("--only", type=_step_names, metavar="STEP,STEP",
                        help="train only these steps (e.g. rlstm-seed3,alstm-fold0; '' for none), report the others "
                             "only where they are finished: lets several processes share a machine, each with its "
                             "own steps (their wall times then count the sharing), and a last one gather them")
    parser.add_argument("--data-dir", help="directory of MultiLoc's FASTA files (default: $PROTLOC_DATA_DIR)")
    args = parser.parse_args(argv)
    runtime.run_branches_in_parallel()

    learning_rate = args.learning_rate or recipes.PAPER_LEARNING_RATE
    architecture = zoo.resolve_hparams(lstm_units=args.lstm_units)
    hparams = {**architecture, "learning_rate": learning_rate}
    results = {"command": command(), "machine": runtime.describe_machine(),
               "epochs": args.epochs, "members": args.members, "hparams": hparams,
               "paper": PAPER,
               "models": {}, "ensemble_curve": [], "cv": {"rlstm": {}, "alstm": {}}, "missing": [], "trained_on": {},
               "cv_wall_time_s": {}}
    if args.no_cv and args.cv_only:
        parser.error("--no-cv and --cv-only leave nothing to do")
    results["cv_only"] = args.cv_only
    plan = [] if args.cv_only else (
        [("rlstm", 0, None), ("alstm", 0, None)] + [("rlstm", seed, None) for seed in range(1, args.members)])
    if not args.no_cv:
        plan += [(name, 0, fold) for name in ("rlstm", "alstm") for fold in range(SPEC.num_folds)]
    results["missing"] = [_step_name(*step) for step in plan]
    ensemble = SeedEnsemble(args.out / "ensemble.keras")

    ensemble_gap = False  # an R-LSTM seed left out by --only: later seeds wait, the ensemble is seeds 0 to k-1
    for name, seed, fold in plan:
        run_dir = args.out / _step_name(name, seed, fold)
        if args.only is not None and run_dir.name not in args.only and loop.finished_epochs(run_dir) < args.epochs:
            ensemble_gap |= name == "rlstm" and fold is None
            continue
        config = loop.RunConfig.resolve(model=name, hparams=architecture, learning_rate=learning_rate,
                                            recipe="paper", epochs=args.epochs, seed=seed, fold=fold,
                                            dataset=SPEC.name)
        if args.start_from and not run_dir.exists() and (args.start_from / run_dir.name).exists():
            start_from(args.start_from / run_dir.name, run_dir, config)
        wall_time = timed_train(run_dir, config, args.data_dir)
        results["trained_on"][run_dir.name] = trained_on(run_dir)
        if fold is not None:
            labels, probabilities = cached_predictions(run_dir, args.data_dir, fold)
            results["cv"][name][str(fold)] = float(np.mean(labels == np.argmax(probabilities, axis=-1)))
            results["cv_wall_time_s"].setdefault(name, {})[str(fold)] = wall_time
        else:
            labels, probabilities = cached_predictions(run_dir, args.data_dir)
            if seed == 0:
                report, correct = test_report(labels, probabilities, SPEC.class_names)
                results["models"][name] = {"report": report, "wall_time_s": wall_time,
                                           "training_accuracy": loop.read_history(run_dir)[-1]["accuracy"]}
                if args.start_from and (args.start_from / run_dir.name / "model.keras").exists():
                    results["models"][name]["vs_shorter"] = versus_shorter_run(
                        args.start_from / run_dir.name, labels, correct, args.data_dir)
            if name == "rlstm":
                if ensemble_gap:
                    continue  # reported once the seeds before it are
                ensemble.add(run_dir, labels, probabilities, wall_time)
                results["models"] = {k: v for k, v in results["models"].items() if not k.startswith("ensemble")}
                if len(ensemble.runs) > 1:
                    results["models"][f"ensemble ({len(ensemble.runs)} R-LSTMs)"] = ensemble.entry()
                results["ensemble_curve"] = ensemble.curve
        results["missing"].remove(_step_name(name, seed, fold))
        write_results(args.results, results, markdown(results))
    write_results(args.results, results, markdown(results))
    return 0


class SeedEnsemble:
    """The R-LSTMs trained so far (seeds 0, 1, ...) as one growing ensemble: its figures on the test split,
    from the members' kept probabilities, and its saved model.

    Attributes:
        runs: the members' run directories, in seed order.
        curve: one point per ensemble size k (the first k members): accuracy, its 95% CI, and the k-th member's
            accuracy alone.
    """

    def __init__(self, path: pathlib.Path):
        self.path, self.runs, self.probabilities, self.curve = path, [], [], []
        self.labels, self.wall_time_s = None, 0.0

    def add(self, run_dir: pathlib.Path, labels: np.ndarray, probabilities: np.ndarray, wall_time_s: float):
        """Adds a finished member, its test labels ``(n,)`` and probabilities ``(n, classes)``; saves the
        ensemble once it has two members or more."""
        if self.labels is not None and not np.array_equal(labels, self.labels):
            raise RuntimeError(f"{run_dir}: test proteins in another order than the other runs' (remove the "
                               f"{self.path.parent}/*/test_predictions.npz files to predict them again)")
        self.labels = labels
        self.runs.append(run_dir)
        self.probabilities.append(probabilities)
        self.wall_time_s += wall_time_s
        if len(self.runs) > 1:
            save_ensemble(self.runs, self.path)
        report = test_report(labels, np.mean(self.probabilities, axis=0), SPEC.class_names)[0]
        self.curve.append({"members": len(self.runs), "accuracy": report["accuracy"],
                           "accuracy_95ci": report["accuracy_95ci"],
                           "newest_member_alone": test_report(labels, probabilities, SPEC.class_names)[0]["accuracy"]})

    def entry(self) -> dict:
        """The ensemble's results entry: test report, summed training time, and an exact McNemar test against
        its first member (the single R-LSTM of Table 1) on the same proteins."""
        report, correct = test_report(self.labels, np.mean(self.probabilities, axis=0), SPEC.class_names)
        first_correct = test_report(self.labels, self.probabilities[0], SPEC.class_names)[1]
        return {"report": report, "wall_time_s": self.wall_time_s,
                "vs_rlstm": evaluation.mcnemar_exact(correct, first_correct)}


def versus_shorter_run(source: pathlib.Path, labels: np.ndarray, correct: np.ndarray, data_dir) -> dict:
    """An exact McNemar test of a model extended from the run ``source`` (``--start-from``) against ``source``
    itself, on the same test proteins: ``labels`` ``(n,)`` and whether the extended model got each one right."""
    source_labels, source_probabilities = cached_predictions(source, data_dir)
    if not np.array_equal(labels, source_labels):
        raise RuntimeError(f"{source}: test proteins in another order than the extended run's (remove its "
                           f"test_predictions.npz to predict them again)")
    report, source_correct = test_report(labels, source_probabilities, SPEC.class_names)
    return {"run": str(source), "epochs": loop.read_config(source).epochs, "accuracy": report["accuracy"],
            **evaluation.mcnemar_exact(correct, source_correct)}


def _minutes_range(minutes: list[float]) -> str:
    low, high = f"{min(minutes):.0f}", f"{max(minutes):.0f}"
    return f"{low} min" if low == high else f"{low}-{high} min"


def _p_value(p: float) -> str:
    return f"p = {p:.3f}" if p >= 0.001 else "p < 0.001"


def save_ensemble(member_runs: list[pathlib.Path], path: pathlib.Path) -> None:
    """Saves the ensemble of ``member_runs`` at ``path`` unless it is newer than every member's model."""
    if path.exists() and all(path.stat().st_mtime > (run / "model.keras").stat().st_mtime for run in member_runs):
        return
    members = [zoo.load_model(run / "model.keras") for run in member_runs]
    files.save_model(zoo.build_ensemble(members, name=f"ensemble_{len(members)}"), path)


def _step_names(text: str) -> set[str]:
    return {name.strip() for name in text.split(",") if name.strip()}


def _step_name(name: str, seed: int, fold) -> str:
    return f"{name}-fold{fold}" if fold is not None else f"{name}-seed{seed}"


if __name__ == "__main__":
    sys.exit(main())
