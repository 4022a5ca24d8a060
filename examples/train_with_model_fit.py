"""Train an R-LSTM with plain ``model.fit`` on MultiLoc loaded through TFDS, then score it on the test split.

    python examples/train_with_model_fit.py --epochs 30 --out rlstm.keras [--data-dir ~/tensorflow_datasets]

``tfds.load("multiloc")`` builds the data set on first use (from $PROTLOC_DATA_DIR, the manual directory, or a
download of the pinned files). Its examples become ``protloc.data.datasets.Example`` s, which ``pipeline.batches``
turns into length-bucketed batches (a ``tf.data.Dataset`` on TensorFlow, a Keras ``PyDataset`` on JAX): each batch
is padded only to its length bucket, which makes an epoch several times faster than padding every protein to
1,000 residues. Training fold 0 is held out for validation; ``--limit`` trains on the first N proteins only, for
a quick try.
"""
from __future__ import annotations

import argparse

import tensorflow_datasets as tfds

import tfds_multiloc  # noqa: F401  (registers the "multiloc" builder with TFDS)
from protloc import models, training
from protloc.data import datasets, pipeline
from protloc.training import evaluation


def load_examples(split: str, data_dir=None, limit=None) -> list[datasets.Example]:
    """A TFDS split of MultiLoc as protloc examples (``limit``: the first N only)."""
    records = tfds.load("multiloc", split=split, data_dir=data_dir).as_numpy_iterator()
    examples = [datasets.Example(r["accession"].decode(), {"tokens": r["tokens"]}, int(r["label"]), int(r["fold"]),
                                 r["sequence"].decode()) for r in records]
    return examples[:limit]


def main(argv=None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="Adam's learning rate (default: 1e-3)")
    parser.add_argument("--batch-size", type=int, default=32, help="proteins per batch (default: 32)")
    parser.add_argument("--data-dir", help="TFDS data directory (default: TFDS's, ~/tensorflow_datasets)")
    parser.add_argument("--limit", type=int, help="use only the first N proteins of each split")
    parser.add_argument("--out", default="rlstm.keras", help="where to save the model (default: rlstm.keras)")
    args = parser.parse_args(argv)

    class_names = datasets.get("multiloc").class_names
    examples = load_examples("train", args.data_dir, args.limit)
    train = [e for e in examples if e.fold != 0]
    validation = [e for e in examples if e.fold == 0]
    model = training.compile_model(models.build_model("rlstm", class_names), args.learning_rate)
    model.fit(pipeline.batches(train, args.batch_size, shuffle_seed=0),
              validation_data=pipeline.batches(validation, args.batch_size), epochs=args.epochs, shuffle=False)
    model.save(args.out)
    report = evaluation.evaluate_examples(model, load_examples("test", args.data_dir, args.limit))
    print(f"test accuracy {report['accuracy']:.3f} on {report['n']} proteins; model saved to {args.out}")
    return report["accuracy"]


if __name__ == "__main__":
    main()
