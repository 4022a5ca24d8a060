"""Search the zoo's hyper-parameters with keras-tuner on a data set's training part (the test split is never read).

    python examples/tune_with_keras_tuner.py --max-trials 10 --epochs 10 --out runs/tuner-example

``ProtlocHyperModel`` declares the search space from the model registry (model family, filters per conv width,
LSTM and dense widths, pooling, filter maxima, dropout, learning rate) and trains each trial as the default recipe
trains, on length-bucketed batches, validating on the folds given (fold 0 here, for speed). The best values are
written as a ``protloc train --config`` file. ``python -m tuning.search`` is the same with more options (tuner
kind, recipe, fixed values, resume).
"""
from __future__ import annotations

import argparse
import pathlib

import keras_tuner

from protloc import datasets, files
from tuning.hypermodel import ProtlocHyperModel


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-trials", type=int, default=10, help="trials (default: 10)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial (default: 10)")
    parser.add_argument("--dataset", default=datasets.DEFAULT,
                        help="data set name or MODULE:ATTRIBUTE (default: multiloc)")
    parser.add_argument("--out", default="runs/tuner-example", help="tuner directory (default: runs/tuner-example)")
    args = parser.parse_args(argv)

    hypermodel = ProtlocHyperModel(datasets.get(args.dataset), folds=[0], max_epochs=args.epochs)
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=args.max_trials, seed=0,
                                     directory=args.out, project_name="search")
    tuner.search(epochs=args.epochs)
    best = hypermodel.run_config(tuner.get_best_hyperparameters(1)[0])
    config = pathlib.Path(args.out) / "best_hparams.json"
    files.write_json(config, best)
    print(f"best: {best}\nretrain with: protloc train --config {config} --out runs/best")
    return best


if __name__ == "__main__":
    main()
