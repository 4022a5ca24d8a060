"""Hyper-parameter search over the zoo on a data set's training part (the test split is never read).

    python -m tuning.search --tuner bayesian --max-trials 20 --epochs 30 --out runs/search [--fold 0] \
        [--dataset NAME] [--fix model=rlstm --fix lstm_units=128 ...] [--tuner hyperband --max-cost 1.6]

The objective is the mean validation accuracy over the data set's training folds (or over one, with --fold); for a
multi-label data set (deeploc2) the locations' micro-averaged average precision, their micro and macro F1 at 0.5
recorded beside it. Re-running
on the same --out resumes the search; a finished search runs no new trial. Writes DIR/best_hparams.json
(for ``protloc train --config``), and DIR/trials.md and DIR/history.json after every trial; ``--report-only`` writes
the last two for a search still running or interrupted, running no trial.

Distributed (keras-tuner's chief/worker mode): run the same command in several processes or on several hosts
sharing --out, each with ``KERASTUNER_ORACLE_IP`` and ``KERASTUNER_ORACLE_PORT`` naming the chief's address and
``KERASTUNER_TUNER_ID`` set to ``chief`` for one process (it runs no trial, hands trials out and writes the
results when all are done) and to a unique name (``tuner0``, ``tuner1``, ...) for each worker.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import shlex
import sys

from protloc.data import datasets
from protloc.models import recipes
from protloc.models.hyperparameters import FAMILY_DESCRIPTIONS

TUNER_NAMES = ("bayesian", "hyperband", "random")
"""The tuners of :data:`tuning.runner.TUNERS`, named here without importing keras-tuner."""


def add_search_arguments(parser: argparse.ArgumentParser) -> None:
    """The search options of this command (all but --out), for scripts that run a search of their own."""
    parser.add_argument("--tuner", choices=TUNER_NAMES, default="bayesian")
    parser.add_argument("--max-trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs per trial (hyperband: the most a trial gets); the recipe's schedule spans them")
    parser.add_argument("--fold", type=int, help="validate on this fold only (cheap search)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recipe", choices=list(recipes.RECIPES), default=recipes.DEFAULT_RECIPE,
                        help="how each trial trains (schedule, batch size, length cap, default values)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILY_DESCRIPTIONS),
                        help="model families searched (default: all)")
    parser.add_argument("--brackets", type=int,
                        help="hyperband: run only its N most aggressive brackets (default: all, one iteration)")
    parser.add_argument("--dataset", default=datasets.DEFAULT, metavar="NAME",
                        help=f"data set: built in ({', '.join(datasets.names())}) or MODULE:ATTRIBUTE")
    parser.add_argument("--max-parameters", type=int, metavar="N",
                        help="skip (as failed, untrained) every configuration whose network has more parameters")
    parser.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE",
                        help="fix one hyper-parameter of the space (repeatable), e.g. model=rlstm")
    parser.add_argument("--data-dir", help="directory of the data set's files (default: the data set's own)")
    parser.add_argument("--loss", choices=("crossentropy", "focal", "weighted"), default="crossentropy",
                        help="multi-label data sets: the locations' loss (weighted: positives by their frequency)")
    parser.add_argument("--exclude-fold", type=int, action="append", default=[], metavar="K",
                        help="never read this training fold (repeatable), e.g. a partition kept for the final CV")
    parser.add_argument("--report-only", action="store_true",
                        help="run no trial: write DIR/trials.md and DIR/history.json for the search in --out so far "
                             "(running or interrupted; give the options it was started with)")
    parser.add_argument("--filter-range", type=int, nargs=3, metavar=("LOW", "HIGH", "STEP"),
                        help="search range of the filters per conv width (default: the registry's, 0-30 step 5)")
    parser.add_argument("--max-cost", type=float, metavar="X",
                        help="hyperband: try only configurations whose estimated multiply-adds per residue are at "
                             "most X times the recipe's own R-LSTM's (tuning/cost.py), e.g. what prediction can afford")


def search_from_arguments(parser: argparse.ArgumentParser, args, out, verbose=1, command: str | None = None) -> dict:
    """Runs (or resumes) the search that ``add_search_arguments`` options describe; returns the best config.
    ``command``: the command line, recorded with the machine in the search's report."""
    from tuning.runner import SearchFailed, fixed_hyperparameters, run_search

    try:
        spec = datasets.get(args.dataset)
        fixed = fixed_hyperparameters(args.fix)
        folds = None if args.fold is None else [spec.check_fold(args.fold)]
        for fold in args.exclude_fold:
            spec.check_fold(fold)
        if args.fold is not None and args.fold in args.exclude_fold:
            raise ValueError(f"--fold {args.fold} is also given to --exclude-fold")
        if args.loss != "crossentropy" and spec.label_scheme != datasets.MULTI_LABEL:
            raise ValueError(f"--loss {args.loss} is for multi-label data sets; {spec.name} is single-label")
        low, high, step = args.filter_range or (0, 1, 1)
        if not (0 <= low < high and step > 0):
            raise ValueError(f"--filter-range must be LOW HIGH STEP with 0 <= LOW < HIGH and STEP > 0, got "
                             f"{low} {high} {step}")
        if args.max_cost is not None and (args.tuner != "hyperband" or args.max_cost <= 0):
            raise ValueError(f"--max-cost is a positive bound for --tuner hyperband, got {args.max_cost} with "
                             f"--tuner {args.tuner}")
        if args.report_only and not (pathlib.Path(out) / "tuner" / "oracle.json").exists():
            raise ValueError(f"--report-only: {out} holds no search")
    except ValueError as error:
        parser.error(str(error))
    try:
        return run_search(out, args.tuner, args.max_trials, args.epochs, spec, folds, args.seed, args.recipe,
                          hyperparameters=fixed, verbose=verbose, data_dir=args.data_dir, families=args.families,
                          brackets=args.brackets, max_parameters=args.max_parameters, loss=args.loss,
                          filter_range=tuple(args.filter_range) if args.filter_range else None,
                          exclude_folds=args.exclude_fold, report_only=args.report_only, max_cost=args.max_cost,
                          command=command)
    except SearchFailed as error:
        parser.exit(2, f"{parser.prog}: error: {error}\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_search_arguments(parser)
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(argv)
    from protloc.utils import runtime

    runtime.run_branches_in_parallel()
    command = shlex.join(["python", "-m", "tuning.search", *(sys.argv[1:] if argv is None else argv)])
    print(json.dumps(search_from_arguments(parser, args, args.out, command=command), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
