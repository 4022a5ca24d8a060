"""A real keras-tuner search on MultiLoc, then its best configuration retrained and tested.

Usage (resumable: re-running continues the search, then the retraining):
    python benchmarks/tuner_search.py --tuner random --max-trials 5 --epochs 4 --fold 0 \\
        --fix model=rlstm --fix lstm_units=128 --retrain-epochs 20 --out runs/tuning

Steps: ``tuning.search`` in OUT/search (the objective is validation accuracy on training folds only), then the
best configuration is trained on the whole training split for --retrain-epochs in OUT/best, and evaluated once
on the test split. Writes benchmarks/results/tuning.{json,md}: every trial, the best values against the paper's,
and the retrained model's test accuracy.
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from common import cached_predictions, command, machine, test_report, timed_train, write_results
from protloc import datasets, evaluation, models, recipes, runtime, training
from tuning import search

PAPER_RLSTM_ACCURACY = 0.879


def markdown(results: dict) -> str:
    best, report = results["best"], results["retrained"]["report"]
    low, high = report["accuracy_95ci"]
    lines = ["# keras-tuner search on MultiLoc", "", f"Command: `{results['command']}`  ",
             f"Machine: {results['machine']}  ",
             f"Search: {results['tuner']} tuner, {results['trials_done']} trials of {results['epochs']} epochs, "
             f"objective = validation accuracy on training fold(s) {results['folds']}; fixed: "
             f"{', '.join(results['fixed']) or 'nothing'}", "",
             "## Best values against the paper's", "", "| hyper-parameter | paper | best found |", "|---|---|---|",
             f"| model | rlstm / alstm | {best['model']} |"]
    for name, value in best["hparams"].items():
        lines.append(f"| {name} | {models.PAPER_HPARAMS.get(name)} | {value} |")
    if "learning_rate" in best:
        lines.append(f"| learning_rate | {recipes.PAPER_LEARNING_RATE} | {best['learning_rate']} |")
    lines += ["", f"Best validation accuracy in the search: {best['val_accuracy']:.4f}", "",
              f"## Best configuration retrained on the whole training split ({results['retrain_epochs']} epochs)", "",
              f"Test accuracy {report['accuracy']:.3f} ({low:.3f}-{high:.3f}), MCC {report['mcc']:.3f}; "
              f"paper R-LSTM {PAPER_RLSTM_ACCURACY:.3f} ({report['accuracy'] - PAPER_RLSTM_ACCURACY:+.3f}); "
              f"training wall time {results['retrained']['wall_time_s'] / 60:.0f} min.", "",
              results["trials_markdown"].replace("# ", "## ", 1)]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    search.add_search_arguments(parser)
    parser.set_defaults(tuner="random", max_trials=5, epochs=4)
    parser.add_argument("--retrain-epochs", type=int, default=20)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("runs/tuning"))
    args = parser.parse_args(argv)
    runtime.run_branches_in_parallel()

    best = search.search_from_arguments(parser, args, args.out / "search", verbose=2)
    config = training.RunConfig.resolve(model=best["model"], hparams=best["hparams"], recipe="paper",
                                learning_rate=best["learning_rate"], epochs=args.retrain_epochs, dataset=args.dataset)
    wall_time = timed_train(args.out / "best", config, args.data_dir)
    trials_markdown = (args.out / "search" / "trials.md").read_text()
    report = test_report(*cached_predictions(args.out / "best", args.data_dir),
                         datasets.get(args.dataset).class_names)[0]
    results = {"command": command(), "machine": machine(), "tuner": args.tuner, "epochs": args.epochs, "folds": best["folds"],
               "fixed": args.fix, "trials_done": len(list((args.out / "search" / "tuner").glob("trial_*"))),
               "best": best,
               "retrain_epochs": args.retrain_epochs,
               "retrained": {"report": report, "wall_time_s": wall_time},
               "trials_markdown": trials_markdown}
    write_results("tuning", results, markdown(results))
    print(evaluation.markdown_report(results["retrained"]["report"], "best configuration: test split"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
