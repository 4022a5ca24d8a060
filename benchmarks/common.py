"""What the benchmark scripts share: the command line and machine they record, timed training, cached
predictions, results files, and the DeepLoc 2.0 partitions' homology searches and fused decisions. Scripts import
this module and the package, never each other."""
from __future__ import annotations

import json
import os
import pathlib
import random
import shlex
import shutil
import subprocess
import sys
import time

import keras
import numpy as np

from protloc.data import datasets
from protloc.evidence import fusion, homology, network_inputs, thresholds
from protloc.models import inference, zoo
from protloc.prediction import loading
from protloc.training import evaluation, loop
from protloc.utils import files, runtime

RESULTS = pathlib.Path(__file__).parent / "results"
"""Where every script writes its NAME.json and NAME.md."""
SEARCH_HITS = 30
"""Hits kept per query in the partition searches, before those of a scored partition are dropped (10 kept)."""


def timed_process(argv: list[str], environment: dict | None = None, cwd=None) -> dict:
    """A command's wall seconds, its peak resident memory (MiB) and the CPU seconds (user + system) of it and every
    process it waited for; it must succeed. It runs with this environment less ``KERAS_BACKEND`` (protloc's choice)
    plus ``environment``."""
    start = time.perf_counter()
    inherited = {name: value for name, value in os.environ.items() if name != "KERAS_BACKEND"}
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd,
                               env={**inherited, **(environment or {})})
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed: {process.stderr.read().decode()[-2000:]}")
    return {"seconds": seconds, "peak_rss_mib": usage.ru_maxrss / 1024, "cpu_seconds": usage.ru_utime + usage.ru_stime}


def multiloc_pool(directory) -> list:
    """Every protein of the MultiLoc FASTA files in ``directory`` (:class:`protloc.data.sequences.ProteinRecord`), the
    pool
    the speed benchmarks sample their inputs from."""
    from protloc.data import sequences
    from protloc.data.datasets import multiloc

    return [record for file in multiloc.FILE_OF_CLASS.values()
            for record in sequences.read_fasta(pathlib.Path(directory) / file)]


def proteome_pool(directory) -> list:
    """Every protein of the gzipped FASTA proteomes under ``directory`` (any depth) whose letters protloc accepts."""
    from protloc.data import sequences

    pool = []
    for path in sorted(p for p in pathlib.Path(directory).rglob("*.gz") if p.is_file()):
        for record in sequences.read_fasta(path, validate=False):
            try:
                sequences.check_record(record, str(path))
            except sequences.SequenceError:
                continue
            pool.append(record)
    if not pool:
        raise FileNotFoundError(f"no gzipped FASTA proteomes under {directory}")
    return pool


def sample_fasta(paths: list[pathlib.Path], count: int, pool) -> None:
    """Writes ``count`` proteins sampled with replacement (seed 0) from ``pool`` (records with ``id`` and
    ``sequence``), dealt round-robin over the FASTA files ``paths`` (shards of one input)."""
    rng = random.Random(0)
    handles = [open(path, "w") for path in paths]
    try:
        for index in range(count):
            record = rng.choice(pool)
            handles[index % len(handles)].write(f">S{index}_{record.id}\n{record.sequence}\n")
    finally:
        for handle in handles:
            handle.close()


def command() -> str:
    """The command line that is running, as a user would type it from the repository root."""
    return shlex.join(["python", f"benchmarks/{pathlib.Path(sys.argv[0]).name}", *sys.argv[1:]])


def mcnemar_lines(tests: dict, heading: str) -> list[str]:
    """Markdown lines of exact McNemar tests (:func:`protloc.training.evaluation.mcnemar_exact`) under ``heading``,
    each keyed ``"A vs B"`` (A the test's first arm) and written with both arms named; none without tests."""
    if not tests:
        return []
    lines = ["", heading, ""]
    for name, test in tests.items():
        first, second = name.split(" vs ", 1)
        lines.append(f"- {name}: {test['only_first']} proteins right only with {first}; {test['only_second']} only "
                     f"with {second}; p = {test['p_value']:.2g}")
    return lines


def write_results(name: str, results: dict, markdown: str) -> None:
    """Writes ``RESULTS/name.json`` and ``RESULTS/name.md``, each atomically."""
    files.write_json(RESULTS / f"{name}.json", results)
    files.write_text(RESULTS / f"{name}.md", markdown)


class EpochWallClock(keras.callbacks.Callback):
    """Adds every finished epoch's wall time to a JSON ledger ``{"seconds": total, "machines": [...]}``, so that a
    run stopped and resumed keeps the time of every epoch it finished and the machines they ran on."""

    def __init__(self, path: pathlib.Path):
        super().__init__()
        self.path, self.start = pathlib.Path(path), None

    def read(self) -> dict:
        return json.loads(self.path.read_text()) if self.path.exists() else {"seconds": 0.0}

    def total(self) -> float:
        return self.read()["seconds"]

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        ledger = self.read()
        here = runtime.describe_machine()
        machines = [m for m in ledger.get("machines", []) if m != here] + [here]
        files.write_json(self.path, {"seconds": ledger["seconds"] + time.time() - self.start, "machines": machines})


def trained_on(run_dir: pathlib.Path) -> list[str]:
    """The machines a run's epochs ran on (from its wall-time ledger; empty when it has none)."""
    return EpochWallClock(run_dir / "wall_time.json").read().get("machines", [])


def timed_train(run_dir: pathlib.Path, config: loop.RunConfig, data_dir=None, callbacks=()) -> float:
    """Trains (or resumes) a run; returns the wall time of all its epochs in seconds, across resumes."""
    clock = EpochWallClock(run_dir / "wall_time.json")
    loop.train(run_dir, config, data_dir=data_dir, verbose=2, callbacks=[clock, *callbacks])
    return clock.total()


def cached_predictions(run_dir: pathlib.Path, data_dir=None, fold: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A finished run's labels ``(n,)`` and probabilities ``(n, classes)`` on its data set's test split, or with
    ``fold`` on that held-out fold of the training split, in the split's reading order (the same for every model);
    computed once, then read from ``run_dir/{test,validation}_predictions.npz`` until the model is newer (a run
    extended to more epochs)."""
    path = run_dir / ("test_predictions.npz" if fold is None else "validation_predictions.npz")
    if not path.exists() or path.stat().st_mtime < (run_dir / "model.keras").stat().st_mtime:
        config = loop.read_config(run_dir)
        spec = config.spec
        examples = network_inputs.with_run_inputs(config, spec.examples("test", None, data_dir) if fold is None
                                              else spec.examples("train", [fold], data_dir))
        probabilities = evaluation.predict_probabilities(zoo.load_model(run_dir / "model.keras"), examples)
        with files.atomic_path(path) as temporary:
            np.savez(temporary, labels=datasets.labels_of(examples), probabilities=probabilities)
    with np.load(path) as saved:
        return saved["labels"], saved["probabilities"]


def test_report(labels: np.ndarray, probabilities: np.ndarray, class_names) -> tuple[dict, np.ndarray]:
    """The report of predicted ``probabilities`` against ``labels``, and whether each protein was right."""
    predictions = np.argmax(probabilities, axis=-1)
    return evaluation.classification_report(labels, predictions, class_names), labels == predictions


def start_from(source: pathlib.Path, run_dir: pathlib.Path, config: loop.RunConfig) -> None:
    """Copies the run ``source`` to ``run_dir`` (which must not exist yet), to be trained on to ``config.epochs``;
    ``source`` must be the same run as ``config`` with at most as many epochs."""
    saved = loop.read_config(source)
    if not saved.same_run_as(config) or saved.epochs > config.epochs:
        raise SystemExit(f"--start-from {source}: its config.json differs from this run's beyond the epochs, or "
                         f"has more than {config.epochs} epochs")
    shutil.copytree(source, run_dir)


def out_of_fold(run: pathlib.Path, examples: list, cache: str = "cv_predictions.npz") -> dict:
    """A CV run's outputs on ``examples`` (its held-out partition, or with another ``cache`` name any other
    proteins) ``{"locations": (n, 10), "membrane": (n,)}``, computed once and kept in the run directory (``cache``)
    until its model is newer."""
    path = run / cache
    if not path.exists() or path.stat().st_mtime < (run / "model.keras").stat().st_mtime:
        network = loading.load_network(run)
        found = inference.Forward(network)(examples)
        with files.atomic_path(path) as temporary:
            np.savez(temporary, ids=np.array([e.id for e in examples]), locations=found[zoo.LOCATIONS_OUTPUT],
                     membrane=found[zoo.MEMBRANE_OUTPUT][:, 0])
    with np.load(path) as saved:
        if list(saved["ids"]) != [e.id for e in examples]:
            raise SystemExit(f"{run}: its cached predictions are of other proteins")
        return {"locations": saved["locations"], "membrane": saved["membrane"]}


def partition_hits(train: list, partition: int, class_names, cache_dir=None,
                   sensitivity: float = homology.DEFAULT_SENSITIVITY,
                   prefilter_hits: int = homology.DEFAULT_PREFILTER_HITS) -> list:
    """The hits (best first, ``SEARCH_HITS`` at most) of partition ``partition``'s proteins against the other
    partitions in ``train`` (MMseqs2 ``-s sensitivity --max-seqs prefilter_hits``), with each hit's ``accession``
    looked up to its partition by the caller."""
    others = [e for e in train if e.fold != partition]
    reference = homology.ReferenceSet.from_examples(others, class_names)
    search = homology.HomologySearch(reference, cache_dir=cache_dir, max_hits=SEARCH_HITS, sensitivity=sensitivity,
                                     prefilter_hits=prefilter_hits)
    return search.search([e.sequence for e in train if e.fold == partition])


def without(hits: list, accessions: set, keep: int = homology.DEFAULT_MAX_HITS) -> list:
    """Each protein's hits without those to ``accessions``, the ``keep`` best."""
    return [[hit for hit in found if hit.accession not in accessions][:keep] for found in hits]


PARTITION_SCORES = ("micro_f1", "macro_f1", "subset_accuracy", "jaccard")
"""The scores a one-partition script keeps of its decisions, beside per-location MCC (:func:`partition_scores`)."""


def partition_scores(labels: np.ndarray, decided: np.ndarray, class_names) -> dict:
    """:data:`PARTITION_SCORES` and per-location MCC (``mcc``) of 0/1 decisions against 0/1 labels, both
    ``(n, classes)`` (:func:`protloc.training.evaluation.multilabel_report`)."""
    report = evaluation.multilabel_report(labels, decided, class_names)
    return {**{score: report[score] for score in PARTITION_SCORES},
            "mcc": {location: report["per_class"][location]["mcc"] for location in class_names}}


def add_partition_options(parser) -> None:
    """The options of a script that scores one DeepLoc 2.0 partition from the cross-validation runs' out-of-fold
    outputs of the partitions it reads: --cv-run, --exclude-partition, --score-partition, --data-dir."""
    parser.add_argument("--cv-run", type=pathlib.Path, action="append", required=True,
                        help="a `protloc train --dataset deeploc2 --fold K` run, one for each partition read")
    parser.add_argument("--exclude-partition", type=int, action="append", default=[],
                        help="a partition never read (repeatable)")
    parser.add_argument("--score-partition", type=int, required=True, help="the partition scored")
    parser.add_argument("--data-dir", help="directory of the partition files (default: $PROTLOC_DEEPLOC2_DIR)")


def read_partitions(parser, args, spec) -> tuple[dict, list, list]:
    """For the options of :func:`add_partition_options`: each read partition's run, the partitions read and their
    training examples; a run missing or extra for a partition read, or a scored partition not read, is
    ``parser.error``."""
    read = [k for k in range(spec.num_folds) if k not in args.exclude_partition]
    runs = {loop.read_config(run).fold: run for run in args.cv_run}
    if sorted(runs) != read or args.score_partition not in read:
        parser.error(f"give one --cv-run for each partition read ({read}) and score one of them")
    return runs, read, [e for e in spec.examples("train", None, args.data_dir) if e.fold in read]


def fused_decisions(k: int, others: list, predicted: dict, labels: dict, hits: dict, partition_of: dict, classes: int,
                    keep: int = homology.DEFAULT_MAX_HITS, candidates: int = 99) -> tuple[np.ndarray, np.ndarray, dict]:
    """Partition ``k``'s decisions, network alone and fused with homology, everything fitted on the partitions
    ``others``: as benchmarks/deeploc2_cv.py describes (its module docstring).

    Args:
        predicted: per partition, its model's out-of-fold outputs (``locations``: (n, classes) probabilities).
        labels: per partition, (n, classes) 0/1.
        hits: per partition, each protein's hits (best first) against the other partitions.
        partition_of: each accession's partition.
        keep: the best hits kept per protein once those in partition ``k`` are dropped.
        candidates: quantiles of each location's probabilities the thresholds are chosen among
            (:func:`protloc.evidence.thresholds.fit`; 99 as the package fits them).

    Returns:
        (n_k, classes) 0/1 decisions of the network alone and fused, and the fusion's weights and coverage.
    """
    network_others = np.concatenate([predicted[j]["locations"] for j in others])
    labels_others = np.concatenate([labels[j] for j in others])
    alone = thresholds.decide(predicted[k]["locations"], thresholds.fit(network_others, labels_others,
                                                                        candidates=candidates))
    in_k = {accession for accession, partition in partition_of.items() if partition == k}
    evidence_others = homology.class_evidence([found for j in others for found in without(hits[j], in_k, keep)],
                                              classes)
    rule = fusion.fit_multi_label(network_others, evidence_others, labels_others)
    fused_others = rule.apply(network_others, evidence_others)[0]
    evidence_k = homology.class_evidence(without(hits[k], set(), keep), classes)
    fused_k = rule.apply(predicted[k]["locations"], evidence_k)[0]
    fused = thresholds.decide(fused_k, thresholds.fit(fused_others, labels_others, candidates=candidates))
    return alone, fused, {"weights": rule.weights.tolist(), "with_hit": int(evidence_k.has_hit.sum()),
                          "proteins": len(labels[k])}
