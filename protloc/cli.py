"""The ``protloc`` command: train | evaluate | predict | export | plot."""
from __future__ import annotations

import argparse
import contextlib
import json
import pathlib
import sys

from protloc.sequences import SequenceError


def _add_hparam_options(parser: argparse.ArgumentParser) -> None:
    from protloc.models import PAPER_HPARAMS

    group = parser.add_argument_group("hyper-parameters (default: the paper's, see protloc.models)")
    group.add_argument("--config", type=pathlib.Path,
                       help="JSON with 'model' and/or 'hparams' (e.g. a tuner's best_hparams.json); "
                            "options given here override it")
    group.add_argument("--blocks", nargs="+", help=f"feature blocks (default {PAPER_HPARAMS['blocks']})")
    group.add_argument("--conv-filters", type=int, nargs=6, metavar="N",
                       help="filters for widths 1 3 5 9 15 21 (0 turns a width off)")
    for name in ("lstm_units", "dense_units", "attention_units"):
        group.add_argument("--" + name.replace("_", "-"), type=int, help=f"default {PAPER_HPARAMS[name]}")
    for name in ("dropout", "learning_rate", "init_scale"):
        group.add_argument("--" + name.replace("_", "-"), type=float, help=f"default {PAPER_HPARAMS[name]}")


def _run_config(args):
    from protloc.training import RunConfig

    settings = json.loads(args.config.read_text()) if args.config else {}
    hparams = dict(settings.get("hparams", {}))
    for name in ("blocks", "conv_filters", "lstm_units", "dense_units", "attention_units", "dropout",
                 "learning_rate", "init_scale"):
        if getattr(args, name) is not None:
            hparams[name] = getattr(args, name)
    return RunConfig(model=args.model or settings.get("model", "rlstm"), hparams=hparams, epochs=args.epochs,
                     batch_size=args.batch_size, seed=args.seed, fold=args.fold)


def _train(args) -> None:
    from protloc import training

    config = _run_config(args)
    training.train(args.out, config, data_dir=args.data_dir)
    print(f"model written to {pathlib.Path(args.out) / 'model.keras'}")


def _evaluate(args) -> None:
    from protloc import data, evaluation, models, training

    run_dir = pathlib.Path(args.run)
    model = models.load_model(run_dir)
    name = run_dir.name if run_dir.is_dir() else run_dir.stem
    if args.split == "validation":
        fold = training.read_config(run_dir).fold
        if fold is None:
            raise ValueError(f"{run_dir} held out no fold: there is no validation split to evaluate")
        examples = data.load_multiloc("train", args.data_dir, [fold])
    else:
        examples = data.load_multiloc(args.split, args.data_dir)
    labels, predictions = evaluation.predict_labels(model, data.batch(examples, args.batch_size))
    report = evaluation.classification_report(labels, predictions, models.class_names_of(model))
    out = pathlib.Path(args.out) if args.out else (run_dir if run_dir.is_dir() else run_dir.parent)
    title = f"{name}: {args.split} split"
    evaluation.write_report(report, out, f"evaluation-{args.split}", title)
    print(evaluation.markdown_report(report, title))


def _predict(args) -> None:
    from protloc import files, models, predict, sequences

    model = models.load_model(args.model)
    names = models.class_names_of(model)
    source = "<stdin>" if args.input == "-" else args.input
    records = sequences.read_fasta(args.input, validate=False)
    results = predict.predict_records(model, records, source, args.batch_size,
                                      on_invalid=predict.report_invalid if args.skip_invalid else None,
                                      attention=args.attention is not None)
    if sys.stderr.isatty():
        from tqdm import tqdm

        results = tqdm(results, unit=" proteins", desc="protloc predict")
    with contextlib.ExitStack() as stack:
        if args.attention is not None:
            temporary = stack.enter_context(files.atomic_path(args.attention))
            results = predict.tee_attention(results, stack.enter_context(open(temporary, "w")))
        if args.output == "-":
            predict.write_table(results, names, sys.stdout)
            return
        temporary = stack.enter_context(files.atomic_path(args.output))
        count = predict.write_table(results, names, stack.enter_context(open(temporary, "w")))
    print(f"{count} predictions written to {args.output}", file=sys.stderr)


def _export(args) -> None:
    from protloc import export, models

    path = export.export_saved_model(models.load_model(args.model), args.out, overwrite=args.overwrite,
                                     source=str(args.model))
    print(f"SavedModel written to {path} (signatures: serving_default, serve_tokens)")


def _plot(args) -> None:
    from protloc import data, evaluation, files, interpret, models

    model = models.load_model(args.model)
    names = models.class_names_of(model)
    members = models.member_count(model)
    if members > 1 and args.figure != "confusion":
        raise ValueError(f"{args.model} is an ensemble of {members} models, each with its own filters and "
                         f"representation: plot {args.figure} of one member (its run directory) instead")
    batches = data.batch(data.load_multiloc(args.split, args.data_dir), args.batch_size)
    if args.figure == "filters":
        paths = interpret.plot_filters(model, args.out, args.format, batches)
    elif args.figure == "confusion":
        labels, predictions = evaluation.predict_labels(model, batches)
        paths = [interpret.plot_confusion(evaluation.classification_report(labels, predictions, names), args.out,
                                          args.format)]
    else:
        features, labels, alphas = interpret.representations(model, batches)
        if args.figure == "tsne":
            paths = [interpret.plot_tsne(features, labels, names, args.out, args.format)]
        elif not alphas:
            raise ValueError(f"{args.model} has no attention layer: the attention plot needs an A-LSTM model")
        else:
            table = interpret.terminal_attention(alphas, labels, names)
            print(table)
            termini = pathlib.Path(args.out) / "attention_termini.md"
            files.write_text(termini, table)
            paths = [interpret.plot_attention(alphas, labels, names, args.out, args.format)[0], termini]
    for path in paths:
        print(path)


def build_parser() -> argparse.ArgumentParser:
    from protloc.data import DEFAULT_BATCH_SIZE

    parser = argparse.ArgumentParser(prog="protloc", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a zoo model on MultiLoc; resumes an existing run directory")
    train.add_argument("--model", choices=["rlstm", "alstm"], help="zoo model (default rlstm)")
    train.add_argument("--epochs", type=int, default=100)
    train.add_argument("--out", required=True, type=pathlib.Path, help="run directory")
    train.add_argument("--fold", type=int, choices=range(5), help="hold out this training fold for validation")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    train.add_argument("--data-dir", help="TFDS data directory (default: TFDS's)")
    _add_hparam_options(train)
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class MCC and confusion matrix of a run")
    evaluate.add_argument("run", help="run directory or .keras file")
    evaluate.add_argument("--split", choices=["test", "train", "validation"], default="test")
    evaluate.add_argument("--out", help="directory for evaluation-SPLIT.json/.md (default: the run directory)")
    evaluate.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    evaluate.add_argument("--data-dir", help="TFDS data directory (default: TFDS's)")
    evaluate.set_defaults(handler=_evaluate)

    predict = commands.add_parser("predict", help="predict the compartment of every protein in a FASTA file")
    predict.add_argument("input", help="FASTA file, or - for standard input")
    predict.add_argument("-o", "--output", default="-", help="TSV file (written atomically), or - for standard "
                                                              "output (default)")
    predict.add_argument("--model", default="pretrained", help="run directory, .keras file, 'pretrained' (one "
                                                               "R-LSTM, the default) or 'pretrained-ensemble'")
    predict.add_argument("--batch-size", type=int, default=64)
    predict.add_argument("--skip-invalid", action="store_true",
                         help="report bad records on stderr and leave them out instead of stopping")
    predict.add_argument("--attention", metavar="OUT", help="also write per-residue attention (A-LSTM models): "
                                                          "one row per protein, id then one weight per residue")
    predict.set_defaults(handler=_predict)

    export = commands.add_parser("export", help="write a TF Serving SavedModel with a raw-sequence signature")
    export.add_argument("model", help="run directory, .keras file, 'pretrained' or 'pretrained-ensemble'")
    export.add_argument("--out", required=True, help="version directory, e.g. models/protloc/1")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="filter logos, attention map, t-SNE or confusion matrix figures")
    plot.add_argument("figure", choices=["filters", "attention", "tsne", "confusion"])
    plot.add_argument("model", help="run directory, .keras file, 'pretrained' or 'pretrained-ensemble' "
                      "(confusion only)")
    plot.add_argument("--split", choices=["test", "train"], default="test", help="MultiLoc split to plot on")
    plot.add_argument("--out", default="figures", help="output directory (default: figures)")
    plot.add_argument("--format", choices=["png", "svg", "pdf"], default="png")
    plot.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    plot.add_argument("--data-dir", help="TFDS data directory (default: TFDS's)")
    plot.set_defaults(handler=_plot)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from protloc import runtime

    runtime.run_branches_in_parallel()
    try:
        args.handler(args)
    except (SequenceError, ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"protloc {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
