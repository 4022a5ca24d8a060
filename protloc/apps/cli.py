"""The ``protloc`` command: train | evaluate | predict | export | plot.

Building the parser and ``--help`` import no Keras or TensorFlow (the registry and recipes are plain data);
a command imports what it needs when it runs.
"""
from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import json
import os
import pathlib
import shlex
import signal
import sys

from protloc.data.features import KINGDOM, KINGDOMS
from protloc.data.sequences import SequenceError
from protloc.evidence.homology import HomologyError
from protloc.evidence.profiles import ProfileError

DESCRIPTION = ("Predicts where in the cell a protein lives from its amino-acid sequence with convolutional LSTMs "
               "and homology to labelled proteins, and trains, evaluates, exports and explains such models.")


class _HelpFormatter(argparse.HelpFormatter):
    """Shows each option's default at the end of its help, unless the help already names it or there is none."""

    def _get_help_string(self, action):
        text = action.help or ""
        missing = action.default is None or action.default is False or action.default == argparse.SUPPRESS
        if "default" in text or missing or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)".strip()


def _add_hparam_options(parser: argparse.ArgumentParser) -> None:
    """--config, and one option per architecture hyper-parameter of the zoo registry."""
    from protloc.models.hyperparameters import HYPERPARAMETERS

    group = parser.add_argument_group("hyper-parameters (default: the paper's, see protloc.models)")
    group.add_argument("--config", type=pathlib.Path,
                       help="JSON with 'model', 'hparams', 'learning_rate' and/or 'recipe' (e.g. a tuner's "
                            "best_hparams.json); options given here override it")
    for hp in HYPERPARAMETERS.values():
        if hp.name in ("profile", "residue_inputs"):
            continue  # extra per-residue inputs come with the data (--profile-db), not from the command line
        if isinstance(hp.default, bool):
            group.add_argument("--" + hp.name.replace("_", "-"), action=argparse.BooleanOptionalAction, default=None,
                               help=f"{hp.help} (default {'on' if hp.default else 'off'})")
            continue
        kind = type(hp.default[0]) if isinstance(hp.default, list) else type(hp.default)
        group.add_argument("--" + hp.name.replace("_", "-"), type=kind,
                           nargs=len(hp.default) if isinstance(hp.default, list) and kind is int else (
                               "+" if isinstance(hp.default, list) else None),
                           help=f"{hp.help} (default {hp.default})")


def _positive(text: str) -> int:
    """A positive integer (argparse type)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def _port(text: str) -> int:
    """A TCP port number, 1-65535 (argparse type)."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)")
    return port


def _run_config(args):
    """The RunConfig of ``protloc train``: the options given, else --config's JSON, else the recipe's values (resolved
    once, by :meth:`protloc.models.run_config.RunConfig.resolve`)."""
    from protloc.models.hyperparameters import HYPERPARAMETERS
    from protloc.models.run_config import RunConfig

    settings = json.loads(args.config.read_text()) if args.config else {}
    if not isinstance(settings, dict):
        raise ValueError(f"--config {args.config}: not a JSON object")
    hparams = dict(settings.get("hparams", {}))
    learning_rate = hparams.pop("learning_rate", settings.get("learning_rate"))
    hparams.update({name: getattr(args, name) for name in HYPERPARAMETERS
                    if getattr(args, name, None) is not None})
    return RunConfig.resolve(model=args.model or settings.get("model", "rlstm"), hparams=hparams,
                             recipe=args.recipe or settings.get("recipe"), epochs=args.epochs,
                             learning_rate=args.learning_rate or learning_rate, schedule=args.schedule,
                             batch_size=args.batch_size, train_max_length=args.train_max_length, seed=args.seed,
                             fold=args.fold, dataset=args.dataset, profile_db=args.profile_db, loss=args.loss,
                             exclude_folds=args.exclude_fold or settings.get("exclude_folds", ()))


def _train(args) -> None:
    from protloc.training import loop
    from protloc.utils import runtime

    processes = None
    if args.num_processes is not None or args.coordinator or args.process_id is not None:
        if args.num_processes is None or not args.coordinator or args.process_id is None:
            raise ValueError("a multi-process training needs --coordinator, --num-processes and --process-id")
        processes = runtime.Processes(args.coordinator, args.num_processes, args.process_id)
    config = _run_config(args)
    if processes and config.batch_size % processes.count:
        raise ValueError(f"--batch-size {config.batch_size} (the whole batch) must be divisible by --num-processes "
                         f"{processes.count}")
    if processes:
        runtime.join_processes(processes)
    loop.train(args.out, config, data_dir=args.data_dir, verbose="auto" if sys.stdout.isatty() else 2,
                   processes=processes, strategy=None if processes else runtime.tensorflow_strategy(),
                   command=shlex.join(["protloc", *args.argv]))
    if processes is None or processes.writes:
        print(f"model written to {pathlib.Path(args.out) / 'model.keras'}")


def _evaluate(args) -> None:
    from protloc.data import datasets
    from protloc.models import run_config
    from protloc.prediction.predictor import Localizer
    from protloc.training import evaluation

    run = pathlib.Path(args.run)
    if args.homology and args.split != "test":
        raise ValueError("--homology scores the test split only: the reference holds the training split")
    localizer = Localizer.from_preset(args.run, homology_evidence=args.homology, profile_db=args.profile_db,
                                      batch_size=args.batch_size)
    if args.homology and not localizer.uses_homology:
        raise ValueError(f"--homology: {args.run} has no reference and fusion rule")
    config = run_config.read_config(run) if (run / run_config.CONFIG_FILE).is_file() else None
    spec = datasets.get(args.dataset or localizer.card.get("dataset") or datasets.DEFAULT)
    if args.split == "validation":
        if config is None or config.fold is None:
            raise ValueError(f"{args.run} held out no fold: there is no validation split to evaluate")
        examples = spec.examples("train", [config.fold], args.data_dir)
    else:
        examples = spec.examples(args.split, None, args.data_dir)
    found = localizer.predict_examples(examples)
    if localizer.multi_label:
        membrane = [e.membrane for e in examples]
        report = evaluation.multilabel_report(
            datasets.labels_of(examples, len(localizer.class_names)), found.decided, localizer.class_names,
            membrane if found.membrane is not None and None not in membrane else None, found.membrane)
    else:
        report = evaluation.classification_report(datasets.labels_of(examples), found.final.argmax(axis=-1),
                                                  localizer.class_names)
    out = pathlib.Path(args.out) if args.out else (run if run.is_dir() else run.parent)
    name = run.name if run.is_dir() else run.stem
    stem = f"evaluation-{args.split}" + ("-homology" if args.homology else "")
    title = f"{name}: {spec.name} {args.split} split" + (", with homology evidence" if args.homology else "")
    evaluation.write_report(report, out, stem, title)
    if args.card:
        _record_figures(run, stem, report, out, shlex.join(["protloc", *args.argv]))
    print((evaluation.multilabel_markdown if localizer.multi_label else evaluation.markdown_report)(report, title))


def _record_figures(directory: pathlib.Path, stem: str, report: dict, out: pathlib.Path, command: str) -> None:
    """Adds a report's headline scores to the card of the preset in ``directory``, with the command and file."""
    from protloc.prediction import preset

    keys = ("n", "micro_f1", "macro_f1", "subset_accuracy", "jaccard", "membrane") if "micro_f1" in report else (
        "n", "accuracy", "accuracy_95ci", "mcc")
    try:
        preset.record_figures(directory, stem, {**{key: report[key] for key in keys if key in report},
                                                "command": command, "results": str(out / f"{stem}.json")})
    except preset.PresetError as error:
        raise ValueError(f"--card: {error}") from None


def _check_train_out(args) -> None:
    """``protloc train``'s ``--out``, checked before Keras starts (a wrong path is refused at once)."""
    from protloc.models import run_config

    run_config.check_run_directory(pathlib.Path(args.out))


def _check_predict_files(args) -> None:
    """``protloc predict``'s input, output paths and ``--fusion`` file, checked before Keras starts (refused at once);
    the rule read from ``--fusion`` replaces its path in ``args``."""
    from protloc.evidence import fusion
    from protloc.prediction import deeploc_formats
    from protloc.utils import files

    if args.input != "-":
        files.check_input(args.input)
    if args.fusion is not None:
        args.fusion = fusion.load(args.fusion)
    if args.output != "-":
        directory = pathlib.Path(args.output)
        if args.format == "deeploc2" and (args.output.endswith(("/", os.sep)) or directory.is_dir()):
            # DeepLoc 2.0's output directory: results_YYYYMMDD-HHMMSS.csv in it, created where only it is missing
            args.output = str(directory / deeploc_formats.results_name())
            files.check_output(args.output, args.parents or directory.parent.is_dir())
        else:
            files.check_output(args.output, args.parents)
        files.check_not_an_input(args.output, [args.input] if args.input != "-" else [])
    if args.attention is not None:
        files.check_output(args.attention, args.parents, "--attention")
    if args.explain is not None and not pathlib.Path(args.explain).is_dir():
        if pathlib.Path(args.explain).exists():
            raise ValueError(f"--explain {args.explain} is a file; give a directory")
        files.check_output(args.explain, args.parents, "--explain")


def _predict(args) -> None:
    from protloc.data import sequences
    from protloc.prediction import deeploc_formats, table
    from protloc.prediction.predictor import Localizer
    from protloc.utils import files, progress

    localizer = Localizer.from_preset(args.model, homology_evidence=not args.no_homology, reference=args.reference,
                                      fusion=args.fusion, profile_db=args.profile_db,
                                      attention=args.attention is not None, batch_size=args.batch_size,
                                      kingdom=args.kingdom)
    source = "<stdin>" if args.input == "-" else args.input
    size = progress.file_size(args.input)
    handle = open(args.input, "rb") if size is not None else None  # its position tells the progress line
    repeated: list = []
    records = _noting_repeated_ids(sequences.read_fasta(handle or args.input, validate=False, name=source,
                                                        max_record=args.max_record_length), repeated)
    kept, calls = [], []
    if args.explain is not None:
        records = _keeping_sequences(records, kept)
    results = localizer.predict(records, source, on_invalid=_report_invalid if args.skip_invalid else None)
    if args.explain is not None:
        results = _keeping_calls(results, calls)
    results = progress.shown(results, "protloc predict", "proteins", size, handle.tell if handle else None)
    layout = table.Layout.of(localizer)
    if args.format in deeploc_formats.FORMATS:
        deeploc_formats.check_layout(layout, args.format)  # a preset the format cannot hold: refused before any work
        write = functools.partial(deeploc_formats.write, format=args.format)
    else:
        write = functools.partial(table.write_table, format=args.format)
    with contextlib.ExitStack() as stack:
        if handle is not None:
            stack.enter_context(handle)
        if args.attention is not None:
            temporary = stack.enter_context(files.atomic_path(args.attention))
            results = table.tee_attention(results, stack.enter_context(open(temporary, "w")))
        if args.output == "-":
            write(results, layout, sys.stdout)
        else:
            temporary = stack.enter_context(files.atomic_path(args.output))
            count = write(results, layout, stack.enter_context(open(temporary, "w", newline="")))
    if args.explain is not None:
        _explain(localizer, kept, calls, pathlib.Path(args.explain))
    if repeated:
        first = repeated[0]
        print(f"protloc predict: warning: {len(repeated)} record(s) repeat an earlier record's identifier (first: "
              f"{sequences.printable(first.id)}, record #{first.index + 1}); each has its own row, in input order",
              file=sys.stderr)
    if args.output != "-":
        print(f"{count} predictions written to {args.output}", file=sys.stderr)


def _keeping_sequences(records, kept: list):
    """``records`` passed on; each one's identifier and residues appended to ``kept``, for its explanation."""
    for record in records:
        kept.append((record.id, record.sequence))
        yield record


def _keeping_calls(predictions, calls: list):
    """``predictions`` passed on; each one's call (the most probable of its final classes) appended to ``calls``."""
    import numpy as np

    for prediction in predictions:
        calls.append(int(np.argmax(prediction.probabilities)))
        yield prediction


def _explain(localizer, kept: list, calls: list, directory: pathlib.Path) -> None:
    from protloc.data import sequences
    from protloc.prediction import explain

    explainer = explain.Explainer(localizer)
    directory.mkdir(parents=True, exist_ok=True)
    targets = iter(calls)
    written = 0
    for stem, (identifier, residues) in zip(explain.file_stems(identifier for identifier, _ in kept), kept):
        try:
            sequences.tokenize(residues.rstrip("*"))
        except sequences.SequenceError:
            continue  # a record --skip-invalid left out
        explain.write_track(explainer.track(residues, next(targets)), directory, stem, localizer.class_names,
                            sequences.printable(identifier))
        written += 1
    print(f"{written} {explainer.kind} tracks (CSV and PNG) written to {directory}", file=sys.stderr)


def _noting_repeated_ids(records, repeated: list):
    """``records`` passed on; each whose identifier an earlier one had is appended to ``repeated``."""
    seen = set()
    for record in records:
        if record.id in seen:
            repeated.append(record)
        seen.add(record.id)
        yield record


def _report_invalid(error: SequenceError) -> None:
    """``on_invalid`` for ``--skip-invalid``: one line on stderr per skipped record."""
    print(f"skipped: {error}", file=sys.stderr)


def _preset(args) -> None:
    from protloc.training import packaging

    card = packaging.make_preset(args.runs, args.out, args.name or pathlib.Path(args.out).name, args.description,
                                 args.reference, shlex.join(["protloc", *args.argv]), args.xz,
                                 args.half)
    print(f"preset written to {args.out}: {card['members']} network(s) of {card['dataset']}; fit its fusion with "
          f"protloc fuse {args.out} --fold-run FOLD_RUN ...")


def _fuse(args) -> None:
    from protloc.training import fitting

    rule = fitting.fuse_preset(args.preset, args.fold_run, args.data_dir, shlex.join(["protloc", *args.argv]))
    fit = rule.provenance["fit"]
    if "accuracy_fused" in fit:
        summary = (f"weights network {rule.network_weight:.3f}, identity {rule.identity_weight:.3f}, bits "
                   f"{rule.bits_weight:.3f}; on the held-out fold {fit['accuracy_network']:.3f} alone, "
                   f"{fit['accuracy_fused']:.3f} fused")
    else:
        summary = (f"one rule per location and thresholds ({fitting.THRESHOLDS_FILE}); on the held-out fold a log "
                   f"loss of {fit['log_loss_network']:.3f} alone, {fit['log_loss_fused']:.3f} fused")
    print(f"fusion written to {pathlib.Path(args.preset) / fitting.FUSION_FILE}: {summary} ({fit['proteins']} "
          f"proteins)")


def _check_serve(args) -> None:
    """``protloc serve``'s extra, limits and address, checked before Keras starts: the listening socket is bound here
    (``args.socket``), so that a port in use is refused at once and the address announced is the one served."""
    import socket

    try:
        import fastapi  # noqa: F401
        import python_multipart  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise ValueError(f"the web page needs the [serve] extra ({error.name or error} is not installed): "
                         f"pip install 'protloc[serve]'") from None
    if args.max_upload_mb <= 0 or args.max_jobs < 1:
        raise ValueError("--max-upload-mb must be positive and --max-jobs at least 1")
    try:
        family = socket.getaddrinfo(args.host, args.port, type=socket.SOCK_STREAM)[0][0]
        args.socket = socket.socket(family, socket.SOCK_STREAM)
        args.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        args.socket.bind((args.host, args.port))
    except OSError as error:
        reason = "in use (another server?)" if getattr(error, "errno", None) == errno.EADDRINUSE else (
            error.strerror or str(error))
        raise ValueError(f"cannot listen on {args.host}:{args.port}: {reason}; choose another --port or --host") \
            from None


def _serve(args) -> None:
    import uvicorn

    from protloc.apps.serve.app import create_app
    from protloc.prediction.predictor import Localizer

    localizer = Localizer.from_preset(args.model, homology_evidence=not args.no_homology, chunk_size=64)
    app = create_app(localizer, int(args.max_upload_mb * 2**20), args.max_jobs)
    print(f"protloc serve: {localizer.card.get('name')} on http://{args.host}:{args.port}/", file=sys.stderr)
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[args.socket])


def _export(args) -> None:
    from protloc.apps import export
    from protloc.prediction.predictor import Localizer

    localizer = Localizer.from_preset(args.model, homology_evidence=False, kingdom=args.kingdom)
    if args.kingdom and KINGDOM not in localizer.input_names:
        raise ValueError("--kingdom: the network takes no kingdom input (the SavedModel applies no location mask; "
                         "mask its outputs in the client)")
    path = export.export_saved_model(localizer, args.out, overwrite=args.overwrite, source=str(args.model))
    signatures = json.loads((path / "assets.extra" / "protloc.json").read_text())["signatures"]
    print(f"SavedModel written to {path} (signatures: {', '.join(signatures)})")
    if "profile" in signatures["serve_tokens"]:
        print("a profile model: its signatures take tokens and profiles computed outside the graph (see "
              "protloc.apps.export); no warm-up records", file=sys.stderr)
    elif not (path / "assets.extra" / export.WARMUP_FILE).exists():
        print("no TF Serving warm-up records: pip install 'protloc[serving]' to have them written", file=sys.stderr)


def _plot(args) -> None:
    from protloc.data import datasets, pipeline
    from protloc.models import zoo
    from protloc.prediction import interpret, loading
    from protloc.training import evaluation
    from protloc.utils import files

    model = loading.load_network(args.model)
    names = zoo.class_names_of(model)
    members = zoo.member_count(model)
    if members > 1 and args.figure != "confusion":
        raise ValueError(f"{args.model} is an ensemble of {members} models, each with its own filters and "
                         f"representation: plot {args.figure} of one member (its run directory) instead")
    examples = datasets.get(args.dataset).examples(args.split, None, args.data_dir)
    batches = pipeline.BucketedBatches(examples, args.batch_size)
    if args.figure == "filters":
        paths = interpret.plot_filters(model, args.out, args.format, batches)
    elif args.figure == "confusion":
        paths = [interpret.plot_confusion(evaluation.evaluate_examples(model, examples, args.batch_size), args.out,
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


def _add_recipe_options(parser: argparse.ArgumentParser) -> None:
    """--recipe and the recipe settings it fills in (each overridable)."""
    from protloc.models.recipes import DEFAULT_RECIPE, RECIPES, SCHEDULES

    group = parser.add_argument_group("training recipe (default: the recipe's own values)")
    described = "; ".join(f"{name}: {recipe.describe()}" for name, recipe in RECIPES.items())
    group.add_argument("--recipe", choices=list(RECIPES),
                       help=f"{described} (default: --config's, else {DEFAULT_RECIPE})")
    group.add_argument("--epochs", type=int, help="epochs (default: the recipe's, see --recipe)")
    group.add_argument("--learning-rate", type=float, help="Adam's learning rate (the peak, for a schedule)")
    group.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule")
    group.add_argument("--batch-size", type=int, help="proteins per batch")
    group.add_argument("--train-max-length", type=int, metavar="N",
                       help="residues kept per training protein, both termini (prediction sees 1000)")
    group.add_argument("--loss", choices=["crossentropy", "focal", "weighted"], default="crossentropy",
                       help="loss of a multi-label data set's locations: binary cross-entropy, binary focal "
                            "cross-entropy (gamma 2), or binary cross-entropy with each location's positives weighted "
                            "by sqrt(negatives / positives) of the training proteins")
    group.add_argument("--backend", choices=["tensorflow", "jax"],
                       help="Keras backend to train on (default: $KERAS_BACKEND, else tensorflow); JAX compiles "
                            "once per length bucket and keeps compilations in the cache directory")


def _add_data_options(parser: argparse.ArgumentParser, run_default: bool = False) -> None:
    """--dataset (a registered spec) and --data-dir; with ``run_default`` the data set defaults to the run's."""
    from protloc.data import datasets

    parser.add_argument("--dataset", default=None if run_default else datasets.DEFAULT, metavar="NAME",
                        help=f"data set: built in ({', '.join(datasets.names())}), or MODULE:ATTRIBUTE naming a "
                             f"protloc.data.datasets.DatasetSpec (default: " + (
                                 f"the run's own, else {datasets.DEFAULT})" if run_default else f"{datasets.DEFAULT})"))
    parser.add_argument("--data-dir", help="directory of the data set's files (default: the data set's own, "
                                           "e.g. $PROTLOC_DATA_DIR)")


def build_parser() -> argparse.ArgumentParser:
    from protloc import __version__
    from protloc.models.hyperparameters import FAMILY_DESCRIPTIONS
    from protloc.models.recipes import DEFAULT_BATCH_SIZE
    from protloc.prediction import presets

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true",
                        help="let TensorFlow's own start-up and runtime logs through to stderr")
    parser = argparse.ArgumentParser(prog="protloc", description=DESCRIPTION, formatter_class=_HelpFormatter,
                                     parents=[common])
    parser.add_argument("--version", action="version", version=f"protloc {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser = functools.partial(commands.add_parser, formatter_class=_HelpFormatter,
                                            parents=[common])

    train = commands.add_parser("train", help="train a zoo model; resumes an existing run directory")
    train.add_argument("--model", choices=list(FAMILY_DESCRIPTIONS), help="zoo model family (default rlstm)")
    train.add_argument("--out", required=True, type=pathlib.Path, help="run directory")
    train.add_argument("--fold", type=int, help="hold out this training fold for validation (0 .. folds - 1)")
    train.add_argument("--exclude-fold", type=int, action="append", metavar="K",
                       help="never read this training fold: not for training, validation, the reference or the "
                            "fusion (repeatable; keeps a partition aside for scoring after every choice is made)")
    train.add_argument("--seed", type=int, default=0, help="seed of weights, dropout and batch order")
    train.add_argument("--profile-db", nargs="+", metavar="PATH",
                       help="train a profile model: sequence profiles (MMseqs2, 3 iterations) from this database: "
                            "FASTA files (gzip allowed), directories of them, or an MMseqs2 database")
    distributed = train.add_argument_group(
        "several processes or hosts (Keras distribution API on JAX: --backend jax; each process trains on its part "
        "of every batch, process 0 writes the run directory; no validation during training)")
    distributed.add_argument("--coordinator", metavar="HOST:PORT", help="address of process 0, reachable by all")
    distributed.add_argument("--num-processes", type=int, help="processes in the training")
    distributed.add_argument("--process-id", type=int, help="this process's number, 0 .. N - 1")
    _add_recipe_options(train)
    _add_data_options(train)
    _add_hparam_options(train)
    train.set_defaults(handler=_train, check=_check_train_out)

    evaluate = commands.add_parser("evaluate", help="accuracy, per-class MCC and confusion matrix of a preset or run")
    evaluate.add_argument("run", help="run or preset directory, a shipped preset's name, or a .keras file")
    evaluate.add_argument("--card", action="store_true",
                          help="also record the scores in the preset's card (figures), with this command")
    evaluate.add_argument("--homology", action="store_true",
                          help="score the predictions fused with homology evidence (the preset's reference and "
                               "fusion; test split only) instead of the network alone")
    evaluate.add_argument("--split", choices=["test", "train", "validation"], default="test",
                          help="data set split to score (validation: the fold the run held out)")
    evaluate.add_argument("--out", help="directory for evaluation-SPLIT.json/.md (default: the run directory)")
    evaluate.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="proteins per batch")
    evaluate.add_argument("--profile-db", nargs="+", metavar="PATH",
                          help="profile models: the profile database (default: the one the run was trained with)")
    _add_data_options(evaluate, run_default=True)
    evaluate.set_defaults(handler=_evaluate)

    predict = commands.add_parser("predict", help="predict where every protein of a FASTA file lives: its "
                                                  "location(s), membrane association, evidence")
    predict.add_argument("input", help="FASTA file, or - for standard input")
    predict.add_argument("-o", "--output", default="-",
                         help="output file (written atomically; its directory must exist unless --parents), or - for "
                              "standard output (default); with --format deeploc2, a directory (DIR/ or an existing "
                              "one) gets DIR/results_YYYYMMDD-HHMMSS.csv, as DeepLoc 2.0 writes")
    predict.add_argument("--parents", action="store_true",
                         help="create the output's missing directories instead of refusing them")
    predict.add_argument("--format", choices=["tsv", "csv", "json", "deeploc2", "deeploc1"], default="tsv",
                         help="the table's format: TSV, CSV, or JSON (a list of objects keyed by the same columns); "
                              "or DeepLoc's own files for pipelines that parse them: deeploc2 (DeepLoc 2.0's CSV) or "
                              "deeploc1 (DeepLoc 1.0's table; presets with a membrane output)")
    predict.add_argument("--explain", metavar="DIR",
                         help="also write, per protein, which residues the call rests on (attention for attention "
                              "models, else occlusion importance): DIR/ID.csv and DIR/ID.png")
    predict.add_argument("--model", default=presets.DEFAULT,
                         help=f"a shipped preset ({', '.join(presets.names())}), a preset or run directory, or a "
                              f".keras file")
    predict.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="proteins per network batch")
    predict.add_argument("--max-record-length", type=_positive, metavar="N",
                         help="the most letters one record may hold, read before it is refused (default: "
                              "$PROTLOC_MAX_RECORD_RESIDUES, else 200000; the network sees the first and last 500)")
    predict.add_argument("--skip-invalid", action="store_true",
                         help="report bad records on stderr and leave them out instead of stopping")
    predict.add_argument("--attention", metavar="OUT", help="also write per-residue attention (A-LSTM models): "
                                                          "one row per protein, id then one weight per residue")
    predict.add_argument("--no-homology", action="store_true",
                         help="the network alone: no MMseqs2 search of a reference set (on by default for presets "
                              "that carry a labelled reference and a fusion rule fitted for their network)")
    predict.add_argument("--reference", metavar="FASTA",
                         help="labelled proteins to search (headers '>ID CLASS ...', gzip allowed) instead of the "
                              "preset's reference; a preset without a fusion rule needs --fusion too")
    predict.add_argument("--profile-db", nargs="+", metavar="PATH",
                         help="profile models: the database of their sequence profiles (default: the one the run "
                              "was trained with)")
    predict.add_argument("--fusion", metavar="JSON",
                         help="fusion parameters fitted for this network (default: the preset's fusion.json)")
    predict.add_argument("--kingdom", choices=KINGDOMS,
                         help="the organism group of every protein (default: not given): any preset then gives 0 to "
                              "the locations it has not (no plastid in Metazoa or Fungi), and a model trained with "
                              "the kingdom input also reads it")
    predict.set_defaults(handler=_predict, check=_check_predict_files)

    make = commands.add_parser("preset", help="make a preset from finished runs: one network, or an ensemble")
    make.add_argument("runs", nargs="+", help="run directories of one data set (several: an ensemble of them)")
    make.add_argument("--out", required=True, help="the preset's directory")
    make.add_argument("--name", help="the preset's name (default: the directory's)")
    make.add_argument("--description", default="", help="one line for the card")
    make.add_argument("--reference", metavar="FILE",
                      help="name this labelled reference instead of copying the runs' (e.g. a sibling preset's: "
                           "../pretrained/reference.fasta.gz)")
    make.add_argument("--xz", action="store_true", help="store the reference xz-compressed (a sixth smaller)")
    make.add_argument("--half", action="store_true",
                      help="store the weights as float16 (half the size; the network still computes in float32)")
    make.set_defaults(handler=_preset)

    fuse = commands.add_parser("fuse", help="fit a preset's homology fusion rule from runs of its configuration "
                                            "that held out a training fold")
    fuse.add_argument("preset", help="preset or run directory (writes its fusion.json and updates its card)")
    fuse.add_argument("--fold-run", required=True, action="append", metavar="RUN",
                      help="a run of the same configuration trained with one training fold held out (repeatable: "
                           "runs of one fold are averaged on it, e.g. as many as an ensemble preset has members; "
                           "runs of different folds each predict their own, a cross-validation)")
    fuse.add_argument("--data-dir", help="directory of the data set's files (default: the data set's own)")
    fuse.set_defaults(handler=_fuse)

    serve = commands.add_parser("serve", help="a local web page and JSON API for predictions")
    serve.add_argument("--model", default=presets.DEFAULT, help="the preset every job uses (as predict's --model)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (127.0.0.1: this machine only; 0.0.0.0 opens it to the network)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (1-65535)")
    serve.add_argument("--max-upload-mb", type=float, default=20.0, help="largest FASTA upload accepted, in MiB")
    serve.add_argument("--max-jobs", type=int, default=20, help="jobs waiting or running at once")
    serve.add_argument("--no-homology", action="store_true", help="the network alone")
    serve.set_defaults(handler=_serve, check=_check_serve)

    export = commands.add_parser("export", help="write a TF Serving SavedModel with a raw-sequence signature")
    export.add_argument("model", help="a shipped preset's name, a preset or run directory, or a .keras file")
    export.add_argument("--out", required=True, help="version directory, e.g. models/protloc/1")
    export.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    export.add_argument("--kingdom", choices=KINGDOMS,
                        help="models trained with the kingdom input: the organism group the exported model assumes "
                             "for every protein (default: not given)")
    export.set_defaults(handler=_export)

    plot = commands.add_parser("plot", help="filter logos, attention map, t-SNE or confusion matrix figures")
    plot.add_argument("figure", choices=["filters", "attention", "tsne", "confusion"])
    plot.add_argument("model", help="run or preset directory, a shipped preset's name, or a .keras file (an "
                                    "ensemble: confusion only)")
    plot.add_argument("--split", choices=["test", "train"], default="test", help="data set split to plot on")
    plot.add_argument("--out", default="figures", help="output directory (default: figures)")
    plot.add_argument("--format", choices=["png", "svg", "pdf"], default="png")
    plot.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="proteins per batch")
    _add_data_options(plot)
    plot.set_defaults(handler=_plot)
    return parser


class Stopped(Exception):
    """A signal (SIGINT, SIGTERM) stopped the command."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop(signum, frame):
    """Signal handler: stops every MMseqs2 process (they run in other threads and their own sessions) and raises
    :class:`Stopped` in the main thread, whose exit removes temporary files."""
    from protloc.evidence import mmseqs

    mmseqs.kill_running()
    raise Stopped(signum)


AFTER_STOP = {"train": "run the same command again to resume after the last finished epoch",
              "predict": "nothing was written (an existing output file is as it was)"}


def _default_backend(args) -> str:
    """The Keras backend of a ``protloc`` process where none is chosen: ``numpy`` for ``protloc predict`` on a small
    FASTA file (below :data:`protloc.utils.runtime.SMALL_INPUT_BYTES`, without ``--explain``), where start-up is most of
    the time; else TensorFlow."""
    from protloc.utils import progress, runtime

    if args.command == "predict" and args.explain is None:
        size = progress.file_size(args.input)
        if size is not None and size < runtime.SMALL_INPUT_BYTES:
            return "numpy"
    return "tensorflow"


def main(argv=None) -> int:
    from protloc.utils import runtime

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--backend")
    early.add_argument("--verbose", action="store_true")
    known = early.parse_known_args(argv)[0]
    try:
        if known.backend is not None:
            runtime.select_backend(known.backend)
        args = build_parser().parse_args(argv)
        # a program started for one command may choose its backend by its input; a caller's process keeps one
        runtime.select_backend(known.backend, _default_backend(args) if argv is None else "tensorflow")
    except ValueError as error:
        print(f"protloc: error: {error}", file=sys.stderr)
        return 2
    args.argv = list(sys.argv[1:] if argv is None else argv)
    previous = {number: signal.signal(number, _stop) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        if getattr(args, "check", None) is not None:  # the command line's own checks, before Keras starts
            args.check(args)
        own_prediction = argv is None and args.command == "predict"  # a process of its own, where start-up counts
        with runtime.keras_integrations_hidden() if own_prediction else contextlib.nullcontext():
            if not known.verbose:
                runtime.quiet_tensorflow()
            runtime.run_branches_in_parallel()  # imports Keras
        args.handler(args)
    except (SequenceError, ValueError, OSError, HomologyError, ProfileError) as error:  # OSError: unreadable files
        print(f"protloc {args.command}: error: {error}", file=sys.stderr)
        return 2
    except Stopped as stop:
        print(f"protloc {args.command}: stopped by {stop}; "
              f"{AFTER_STOP.get(args.command, 'its output is not written')}", file=sys.stderr)
        return 128 + stop.signum
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())
