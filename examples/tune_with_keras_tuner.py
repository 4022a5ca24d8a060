"""Search the zoo's hyper-parameters with keras-tuner on a data set's training part (the test split is never read).

    python examples/tune_with_keras_tuner.py --max-trials 10 --epochs 10 --out runs/tuner-example
    python examples/tune_with_keras_tuner.py --max-trials 1 --epochs 1 --limit 60 --data-dir ../shared/data/multiloc

``ProtlocHyperModel`` declares the search space from the model registry (model family, filters per conv width,
LSTM and dense widths, pooling, filter maxima, dropout, learning rate) and trains each trial as the default recipe
trains, on length-bucketed batches, validating on the folds given (fold 0 here, for speed). The best values are
written as a ``protloc train --config`` file. ``--limit N`` keeps the first N proteins of each fold: a try in a few
minutes on a laptop, not a search. ``python -m tuning.search`` is the same with more options (tuner kind, recipe,
fixed values, resume).

The MultiLoc data set is read from ``--data-dir`` (default ``$PROTLOC_DATA_DIR``): the 11 FASTA files of MultiLoc
(Höglund et al. 2006), as in ``../shared/data/multiloc/``.
"""
from __future__ import annotations

import argparse
import dataclasses
import pathlib

from protloc.data import datasets


def first_of_each_fold(reader, limit: int):
    """A data set reader that keeps the first ``limit`` examples of each fold of each split."""
    def read(split, directory):
        kept: dict = {}
        for example in reader(split, directory):
            if kept.setdefault(example.fold, 0) < limit:
                kept[example.fold] += 1
                yield example
    return read


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-trials", type=int, default=10, help="trials (default: 10)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per trial (default: 10)")
    parser.add_argument("--dataset", default=datasets.DEFAULT,
                        help="data set name or MODULE:ATTRIBUTE (default: multiloc)")
    parser.add_argument("--data-dir", help="directory of the data set's files (default: the data set's own, e.g. "
                                           "$PROTLOC_DATA_DIR for multiloc)")
    parser.add_argument("--limit", type=int, metavar="N", help="keep the first N proteins of each fold (a quick try)")
    parser.add_argument("--out", default="runs/tuner-example", help="tuner directory (default: runs/tuner-example)")
    args = parser.parse_args(argv)
    try:  # the data are checked before keras-tuner and TensorFlow start
        spec = datasets.get(args.dataset)
        if args.limit is not None:
            if args.limit < 1:
                raise ValueError(f"--limit must be at least 1, got {args.limit}")
            spec = dataclasses.replace(spec, reader=first_of_each_fold(spec.reader, args.limit))
        spec.examples("train", None, args.data_dir)
    except (ValueError, OSError) as error:  # DataNotFoundError is an OSError
        parser.exit(2, f"{parser.prog}: error: {error}\n")

    import keras_tuner

    from protloc.utils import files
    from tuning.hypermodel import ProtlocHyperModel

    hypermodel = ProtlocHyperModel(spec, folds=[0], max_epochs=args.epochs, data_dir=args.data_dir)
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
