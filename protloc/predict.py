"""Streaming prediction from FASTA to a TSV table.

Records are read in chunks (memory does not grow with the input); inside a chunk they are sorted by length
so that each batch is padded only to its longest member, several batches are in flight at once (one per core,
see :func:`protloc.runtime.run_branches_in_parallel`), and the rows are written back in input order. With
homology evidence, each chunk is also searched against a labelled reference set (:mod:`protloc.homology`) and the
network's probabilities are fused with the evidence of its hits (:mod:`protloc.fusion`).
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import itertools
import pathlib
import sys
from typing import Callable, Iterable, Iterator, TextIO

import numpy as np
import tensorflow as tf

from protloc import fusion as fusion_rule
from protloc import homology as homology_search
from protloc import input_flags, models, profiles, runtime, sequences

DEFAULT_BATCH_SIZE = 64
DEFAULT_CHUNK_SIZE = 4096
"""Records held in memory at once: the unit within which proteins are sorted by length."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One protein's result.

    Attributes:
        id: the record identifier.
        length: input length (before truncation).
        probabilities: shape ``(num_classes,)``; fused with homology where it was used.
        attention: alpha over the residues the model saw (after truncation), or None.
        neighbour: the closest reference protein (best bit score), or None (no hit, or no homology search).
        evidence: ``both``, ``homology`` or ``network`` (see :func:`protloc.fusion.evidence`); None without a
            homology search.
        flags: reasons to trust the prediction less (names from :data:`protloc.input_flags.FLAGS`).
    """

    id: str
    length: int
    probabilities: np.ndarray
    attention: np.ndarray | None = None
    neighbour: homology_search.Hit | None = None
    evidence: str | None = None
    flags: tuple[str, ...] = ()


def homology_evidence(model_name, class_names, reference=None, fusion_file=None):
    """The homology search and fusion rule ``protloc predict`` uses, or ``(None, None)`` for the network alone.

    On for the shipped models (their reference set and fusion file, :mod:`protloc.pretrained`) and for any model
    given a ``reference`` (labelled FASTA); the fusion rule is ``fusion_file``, else the shipped model's, else
    (for other models) the default shipped model's.

    Args:
        model_name: what ``--model`` names: a shipped model's name, a run directory or a ``.keras`` file.
        class_names: the model's class names (a reference file's classes must be among them).
        reference: labelled FASTA to search instead of the shipped reference.
        fusion_file: fusion parameters JSON.

    Returns:
        ``(protloc.homology.HomologySearch, protloc.fusion.Fusion)`` or ``(None, None)``.
    """
    from protloc import pretrained

    shipped = str(model_name) in pretrained.SHIPPED
    if not (shipped or reference):
        return None, None
    found = homology_search.ReferenceSet.read(reference or pretrained.REFERENCE, class_names)
    rule = fusion_rule.Fusion.load(fusion_file or pretrained.fusion_path(str(model_name) if shipped else "pretrained"))
    return homology_search.HomologySearch(found), rule


def profile_evidence(model_name, model, database=None) -> profiles.ProfileSearch | None:
    """Where a profile model's profiles come from: ``database`` (``--profile-db`` paths), else the database its run
    directory was trained with; None for models without profiles.

    Raises:
        ValueError: a profile model without a database, or a database for a model without profiles.
    """
    if profiles.PROFILE not in models.input_names(model):
        if database:
            raise ValueError(f"--profile-db: {model_name} takes no sequence profiles")
        return None
    if not database and (pathlib.Path(model_name) / "config.json").exists():
        from protloc import training

        database = training.read_config(model_name).profile_db
    if not database:
        raise ValueError(f"{model_name} is a profile model: give --profile-db (the database it was trained with)")
    return profiles.ProfileSearch(profiles.ProfileDatabase(database))


def compiled_predictor(model, attention: bool = False) -> Callable[[dict], tuple]:
    """``features -> (probabilities (batch, classes), alpha (batch, length) or None)``, traced once for every
    shape; ``features`` holds ``"tokens"`` int32 ``(batch, length)`` and, for a profile model, ``"profile"`` float32
    ``(batch, length, 20)``."""
    extra = [name for name in models.input_names(model) if name not in (models.TOKENS, profiles.PROFILE)]
    if extra:
        raise ValueError(f"model {model.name!r} also needs the per-residue input(s) {', '.join(extra)}, which "
                         f"cannot be computed from a FASTA file here")
    if attention:
        model, has_attention = models.with_attention_output(model)
        if not has_attention:
            raise ValueError(f"model {model.name!r} has no attention layer: --attention needs an A-LSTM model")
    signature = {models.TOKENS: tf.TensorSpec([None, None], tf.int32)}
    if profiles.PROFILE in models.input_names(model):
        signature[profiles.PROFILE] = tf.TensorSpec([None, None, profiles.WIDTH], tf.float32)
    function = tf.function(lambda features: model(features, training=False), input_signature=[signature])

    def predictor(features):
        output = function({name: tf.constant(value, dtype=signature[name].dtype) for name, value in features.items()})
        return (output[0].numpy(), output[1].numpy()) if attention else (output.numpy(), None)

    return predictor


def predict_records(model, records: Iterable[sequences.ProteinRecord], source: str | None = None,
                    batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK_SIZE,
                    on_invalid: Callable[[sequences.SequenceError], None] | None = None,
                    attention: bool = False, workers: int | None = None,
                    homology: homology_search.HomologySearch | None = None,
                    fusion: fusion_rule.Fusion | None = None,
                    profile_search: profiles.ProfileSearch | None = None) -> Iterator[Prediction]:
    """Predicts every record, yielding results in input order.

    Args:
        model: a zoo model or ensemble.
        records: e.g. ``sequences.read_fasta(path, validate=False)``.
        source: file name for error messages.
        batch_size: proteins per forward pass.
        chunk_size: records read ahead and sorted by length together.
        on_invalid: called with the error of each bad record, which is then left out; None raises it.
        attention: also return each protein's attention weights (attention models only).
        workers: batches predicted concurrently (default: one per usable core).
        homology: search each chunk against this reference set and fuse (needs ``fusion``); None: the network
            alone.
        fusion: the fusion rule for ``homology``'s hits.
        profile_search: where a profile model's profiles come from (each chunk's proteins are searched, or read
            from the cache, before the network sees them); needed by profile models, ignored by others.

    Raises:
        sequences.SequenceError: a bad record, when ``on_invalid`` is None.
        protloc.homology.HomologyError: MMseqs2 is missing or failed.
    """
    if (homology is None) != (fusion is None):
        raise ValueError("homology evidence needs both a reference search and a fusion rule")
    if homology is not None and list(homology.reference.class_names) != models.class_names_of(model):
        raise ValueError(f"the reference set's classes ({', '.join(homology.reference.class_names)}) are not the "
                         f"model's ({', '.join(models.class_names_of(model))})")
    predictor = compiled_predictor(model, attention)
    if profiles.PROFILE not in models.input_names(model):
        profile_search = None
    elif profile_search is None:
        raise ValueError(f"model {model.name!r} takes sequence profiles: give the profile database it was trained "
                         f"with (--profile-db)")
    chunk: list[tuple[sequences.ProteinRecord, np.ndarray]] = []
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(concurrent.futures.ThreadPoolExecutor(workers or runtime.usable_cores()))
        evidence = None
        if homology is not None:  # a chunk's MMseqs2 search runs while the network predicts the same chunk
            evidence = (homology, fusion, stack.enter_context(concurrent.futures.ThreadPoolExecutor(1)))
        for record in records:
            try:
                chunk.append((record, sequences.check_record(record, source)))
            except sequences.SequenceError as error:
                if on_invalid is None:
                    raise
                on_invalid(error)
                continue
            if len(chunk) == chunk_size:
                yield from _predict_chunk(predictor, pool, chunk, batch_size, evidence, profile_search)
                chunk = []
        yield from _predict_chunk(predictor, pool, chunk, batch_size, evidence, profile_search)


def _padded_features(tokens: list[np.ndarray], found: list | None, members) -> dict:
    """The members' features padded with 0 to the longest member: ``"tokens"`` int32 ``(len(members), length)``
    and, with profiles ``found``, ``"profile"`` float32 ``(len(members), length, 20)``."""
    length = max(len(tokens[i]) for i in members)
    features = {models.TOKENS: np.zeros((len(members), length), dtype=np.int32)}
    if found is not None:
        features[profiles.PROFILE] = np.zeros((len(members), length, profiles.WIDTH), dtype=np.float32)
    for row, i in enumerate(members):
        features[models.TOKENS][row, :len(tokens[i])] = tokens[i]
        if found is not None:
            features[profiles.PROFILE][row, :len(tokens[i])] = sequences.truncate_middle(found[i].values,
                                                                                         len(tokens[i]))
    return features


def _predict_chunk(predictor, pool, chunk, batch_size, evidence=None, profile_search=None) -> Iterator[Prediction]:
    searching = None
    residues = [record.sequence.rstrip("*").upper() for record, _ in chunk]
    if evidence is not None and chunk:
        search, rule, searcher = evidence
        searching = searcher.submit(search.search, residues)
    tokens = [value for _, value in chunk]
    found = profile_search.profiles(residues) if profile_search is not None and chunk else None
    order = sorted(range(len(chunk)), key=lambda i: len(tokens[i]))
    batches = [order[start:start + batch_size] for start in range(0, len(order), batch_size)]
    outputs = pool.map(lambda members: predictor(_padded_features(tokens, found, members)), batches)
    probabilities, alphas = [None] * len(chunk), [None] * len(chunk)
    for members, (batch_probabilities, batch_alpha) in zip(batches, outputs):
        for row, i in enumerate(members):
            probabilities[i] = batch_probabilities[row]
            if batch_alpha is not None:
                alphas[i] = batch_alpha[row, :len(chunk[i][1])]
    neighbours, calls = [None] * len(chunk), [None] * len(chunk)
    if searching is not None:
        probabilities, neighbours, calls = _with_homology(np.stack(probabilities), searching.result(), rule)
    for (record, _), sequence, values, alpha, neighbour, call in zip(chunk, residues, probabilities, alphas,
                                                                     neighbours, calls):
        yield Prediction(record.id, len(sequence), values, alpha, neighbour, call, input_flags.flags_of(sequence))


def _with_homology(network: np.ndarray, hits, rule) -> tuple[np.ndarray, list, list[str]]:
    """Fused probabilities ``(n, classes)``, closest reference (or None) and evidence of a chunk's proteins from
    the network's probabilities and each protein's hits."""
    fused, scores, has_hit = rule.apply(network, hits)
    best = [found[0] if found else None for found in hits]
    return fused, best, fusion_rule.evidence(network, scores, fused, has_hit)


HOMOLOGY_COLUMNS = ("evidence", "neighbour", "neighbour_identity", "neighbour_class")
"""Columns after ``confidence`` when homology evidence is used."""


def header(class_names, homology: bool = False) -> list[str]:
    """Columns of the output table: id, length, prediction, confidence, the homology columns (with homology),
    flags (comma-separated :data:`protloc.input_flags.FLAGS`, empty for none), then one probability per class."""
    return ["id", "length", "prediction", "confidence", *(HOMOLOGY_COLUMNS if homology else ()), "flags",
            *class_names]


def write_table(predictions: Iterable[Prediction], class_names, out: TextIO, homology: bool = False) -> int:
    """Writes the TSV table (columns: :func:`header`; probabilities with 6 decimals; with ``homology`` the evidence
    and the closest reference protein, empty where there is none); returns the number of rows.

    Nothing is written until the first prediction is ready, i.e. until the first chunk of the input has been read
    and checked, so a bad input caught there leaves ``out`` untouched (stdout included)."""
    remaining = iter(predictions)
    first = next(remaining, None)
    out.write("\t".join(header(class_names, homology)) + "\n")
    count = 0
    for prediction in itertools.chain([first] if first is not None else [], remaining):
        out.write(format_row(prediction, class_names, homology) + "\n")
        count += 1
    return count


def format_row(prediction: Prediction, class_names, homology: bool = False) -> str:
    """One row of the table (no newline): the columns of :func:`header`, probabilities with 6 decimals, the
    homology columns empty where there is no neighbour."""
    best = int(np.argmax(prediction.probabilities))
    values = "\t".join(f"{p:.6f}" for p in prediction.probabilities)
    extra = ""
    if homology:
        hit = prediction.neighbour
        extra = (f"{prediction.evidence}\t{hit.accession}\t{hit.identity:.3f}\t{class_names[hit.label]}\t"
                 if hit else f"{prediction.evidence}\t\t\t\t")
    return (f"{prediction.id}\t{prediction.length}\t{class_names[best]}\t{prediction.probabilities[best]:.6f}\t"
            f"{extra}{','.join(prediction.flags)}\t{values}")


def tee_attention(predictions: Iterable[Prediction], out: TextIO) -> Iterator[Prediction]:
    """Passes predictions on while writing one attention row per protein: id, then alpha per residue."""
    for prediction in predictions:
        out.write(prediction.id + "\t" + "\t".join(f"{a:.6f}" for a in prediction.attention) + "\n")
        yield prediction


def report_invalid(error: sequences.SequenceError) -> None:
    """``on_invalid`` for ``--skip-invalid``: one line on stderr per skipped record."""
    print(f"skipped: {error}", file=sys.stderr)
