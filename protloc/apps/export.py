"""SavedModel export for TF Serving, with the sequence policy of :mod:`protloc.data.sequences` inside the graph.

Signatures:
    ``serving_default``: ``sequences`` tf.string ``[batch]`` (raw amino-acid strings of any length) ->
        ``probabilities`` float32 ``[batch, classes]``, ``prediction`` tf.string ``[batch]`` (class name),
        ``confidence`` float32 ``[batch]``, and for attention models ``attention`` float32 ``[batch, length]``
        (alpha over the residues kept after truncation; 0 beyond each protein's end). A multi-label preset's:
        ``probabilities`` (one per location), ``decisions`` int32 ``[batch, locations]`` (the preset's thresholds
        for the network alone, at least one location each), ``locations`` tf.string ``[batch]`` (the names of the
        decided locations, ``|``-joined as ``protloc predict`` writes them) and ``membrane`` float32 ``[batch]``
        instead of ``prediction`` and ``confidence`` (:func:`multi_label_outputs`).
    ``serve_tokens``: ``tokens`` int32 ``[batch, length]`` (0 = padding, already truncated) -> the same outputs.

Profile models (:mod:`protloc.evidence.profiles`) need each residue's profile, which MMseqs2 computes outside the
graph: their SavedModel's ``serve_tokens`` takes ``tokens`` int32 ``[batch, length]`` and ``profile`` float32
``[batch, length, 20]`` (row i the profile of token i, after the same middle truncation; zero rows as padding), and
``serving_default`` is the same signature: there is no raw-sequence signature. A client computes both with protloc
(``sequences.encode_sequence`` and ``profiles.ProfileSearch`` against the model's database, then
``sequences.truncate_middle`` of the profile).

Inside the graph, exactly as in Python: any case; one trailing ``*`` stripped; U read as C, O as K; B Z J X
ambiguity tokens; proteins longer than ``max_length`` keep their first ceil(max/2) and last floor(max/2)
residues. Any other character, or an empty string, fails the request with ``InvalidArgument`` naming the
index of the offending sequence in the batch.

The SavedModel also carries ``assets.extra/protloc.json`` (class names, policy, source model config) and, where
``tensorflow-serving-api`` is installed (``pip install protloc[serving]``), ``assets.extra/tf_serving_warmup_requests``
(TF Serving warm-up records, so the first real request does not pay for graph tracing).
"""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import shutil
import tempfile

import keras
import numpy as np
import tensorflow as tf

import protloc
from protloc.data import kingdoms, sequences
from protloc.data.features import KINGDOM, PROFILE, PROFILE_WIDTH, SIGNAL_NAMES, SIGNAL_TYPES, TOKENS
from protloc.models import zoo
from protloc.evidence.thresholds import SIGNAL_TYPES_KEY
from protloc.prediction.predictor import SIGNAL_THRESHOLD

WARMUP_SEQUENCES = ("MKVLAAGIVALLLAAGCSSSKEETPA", "mstnpkpqrktkrnt*", "M" + "ACDEFGHIKLMNPQRSTVWY" * 60)
"""Warm-up requests: short, lower case with a stop, and one longer than 1000 (so truncation is traced)."""


def sequences_to_tokens(raw: tf.Tensor, max_length: int = sequences.DEFAULT_MAX_LENGTH) -> tf.Tensor:
    """In-graph tokenization and middle truncation.

    Args:
        raw: tf.string ``[batch]``.
        max_length: residues kept per protein.

    Returns:
        int32 ``[batch, longest kept length]``, 0 = padding.

    Raises:
        tf.errors.InvalidArgumentError (at run time): an invalid character or an empty sequence.
    """
    lookup = tf.constant(sequences.token_lookup(), dtype=tf.int32)
    codes = tf.strings.unicode_decode(tf.strings.regex_replace(raw, r"\*$", ""), "UTF-8", errors="replace")
    flat = codes.flat_values
    tokens = codes.with_flat_values(tf.where(flat < 256, tf.gather(lookup, tf.minimum(flat, 255)), -1))
    lengths = tokens.row_lengths()
    bad_rows = tf.reduce_any(tokens < 0, axis=1)
    checks = [
        tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad_rows)), [
            "protloc: invalid character in the sequence at batch index", tf.argmax(tf.cast(bad_rows, tf.int32)),
            "(allowed: the 20 standard residues, B Z J X U O, any case, one trailing '*')"]),
        tf.debugging.Assert(tf.reduce_all(lengths > 0), [
            "protloc: empty sequence at batch index", tf.argmin(lengths)]),
    ]
    with tf.control_dependencies(checks):
        kept = tf.minimum(lengths, max_length)
        positions = tf.ragged.range(kept)
        rows = positions.value_rowids()
        head = max_length - max_length // 2
        shift = tf.gather(lengths - kept, rows)
        source = positions.flat_values + tf.where(positions.flat_values < head, tf.zeros_like(shift), shift)
        gathered = tf.gather(tokens.flat_values, tf.gather(tokens.row_starts(), rows) + source)
        return tf.RaggedTensor.from_row_lengths(gathered, kept).to_tensor(0)


def export_saved_model(localizer, out, max_length: int = sequences.DEFAULT_MAX_LENGTH, overwrite: bool = False,
                       source: str | None = None) -> pathlib.Path:
    """Writes a TF Serving SavedModel of a predictor's network (``out`` is the version directory, e.g.
    ``models/protloc/1``).

    Args:
        localizer: a :class:`protloc.prediction.predictor.Localizer` (its network and card; homology evidence stays
        outside
            the graph).
        out: target directory; written atomically (built beside it, then renamed).
        max_length: truncation length applied inside the graph.
        overwrite: replace an existing ``out``.
        source: description of where the model came from, recorded in ``protloc.json``.

    Returns:
        the path written.
    """
    out = pathlib.Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} already exists (use --overwrite, or a new version number)")
    model = localizer.network
    with_profile = PROFILE in zoo.input_names(model)
    # a kingdom model is exported for the localizer's kingdom (all zeros where none was given: "not given")
    kingdom = (tf.constant(kingdoms.kingdom_vector(localizer.kingdom))[None]
               if KINGDOM in zoo.input_names(model) else None)
    class_names = localizer.class_names
    serving, has_attention = zoo.with_attention_output(model)
    names = tf.constant(class_names)

    multi_label = localizer.multi_label
    limits = tf.constant(localizer.thresholds["network"], tf.float32) if multi_label else None
    signal_limits = (tf.constant(localizer.thresholds.get(SIGNAL_TYPES_KEY, SIGNAL_THRESHOLD), tf.float32)
                     if multi_label else None)

    def outputs(tokens, profile=None):
        features = {TOKENS: tokens, **({PROFILE: profile} if with_profile else {})}
        if kingdom is not None:
            features[KINGDOM] = tf.tile(kingdom, [tf.shape(tokens)[0], 1])
        result = serving(features, training=False)
        if multi_label:
            return multi_label_outputs(result, limits, has_attention, names, signal_limits)
        probabilities, alpha = (result["probabilities"], result["attention"]) if has_attention else (result, None)
        named = {"probabilities": probabilities,
                 "prediction": tf.gather(names, tf.argmax(probabilities, axis=-1)),
                 "confidence": tf.reduce_max(probabilities, axis=-1)}
        if has_attention:
            named["attention"] = alpha
        return named

    archive = keras.export.ExportArchive()
    archive.track(serving)
    tokens_spec = tf.TensorSpec([None, None], tf.int32, name="tokens")
    if with_profile:
        archive.add_endpoint("serve_tokens", outputs, input_signature=[
            tokens_spec, tf.TensorSpec([None, None, PROFILE_WIDTH], tf.float32, name=PROFILE)])
        inputs = f"tokens: int32 [batch, length], profile: float32 [batch, length, {PROFILE_WIDTH}]"
        signatures = {"serving_default": inputs, "serve_tokens": inputs}  # Keras makes the one endpoint the default
    else:
        archive.add_endpoint("serving_default", lambda raw: outputs(sequences_to_tokens(raw, max_length)),
                             input_signature=[tf.TensorSpec([None], tf.string, name="sequences")])
        archive.add_endpoint("serve_tokens", outputs, input_signature=[tokens_spec])
        signatures = {"serving_default": "sequences: tf.string [batch]", "serve_tokens": "tokens: int32 [batch, length]"}

    out.parent.mkdir(parents=True, exist_ok=True)
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        archive.write_out(str(staging), verbose=False)
        extra = staging / "assets.extra"
        extra.mkdir(exist_ok=True)
        (extra / "protloc.json").write_text(json.dumps({
            "protloc_version": protloc.__version__, "class_names": class_names, "max_length": max_length,
            "attention": has_attention, "source": source, "kingdom": localizer.kingdom, "card": localizer.card,
            "model_config": model.get_config(),
            "signatures": signatures}, indent=2, default=str))
        if importlib.util.find_spec("tensorflow_serving") is not None and not with_profile:
            write_warmup_requests(extra / WARMUP_FILE)
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return out


def multi_label_outputs(result: dict, thresholds: tf.Tensor, has_attention: bool, names: tf.Tensor,
                        signal_thresholds=SIGNAL_THRESHOLD) -> dict:
    """A multi-label network's serving outputs: ``probabilities`` float32 ``[batch, locations]``, ``decisions`` int32
    ``[batch, locations]`` (1 where the location is decided: its probability reaches its threshold, and at least
    one per protein, as :func:`protloc.evidence.thresholds.decide`), ``locations`` tf.string ``[batch]`` (the decided
    locations' ``names``, ``|``-joined in class order), ``membrane`` float32 ``[batch]`` where the network has that
    output, with a sorting-signal head ``signal_types`` float32 ``[batch, 9]`` and ``signals`` tf.string ``[batch]``
    (the types called at ``signal_thresholds``, as ``protloc predict`` calls them), and ``attention`` for attention
    models."""
    probabilities = result[zoo.LOCATIONS_OUTPUT]
    decided = probabilities >= thresholds
    furthest = tf.one_hot(tf.argmax(probabilities - thresholds, axis=-1), tf.shape(probabilities)[-1],
                          on_value=True, off_value=False)
    nothing = tf.logical_not(tf.reduce_any(decided, axis=-1, keepdims=True))
    decisions = tf.logical_or(decided, tf.logical_and(furthest, nothing))
    every_name = tf.broadcast_to(names, tf.shape(decisions))
    named = {"probabilities": probabilities, "decisions": tf.cast(decisions, tf.int32),
             "locations": tf.strings.reduce_join(tf.ragged.boolean_mask(every_name, decisions), axis=-1,
                                                 separator="|")}
    if zoo.MEMBRANE_OUTPUT in result:
        named["membrane"] = result[zoo.MEMBRANE_OUTPUT][:, 0]
    if zoo.SIGNAL_TYPES_OUTPUT in result:  # a sorting-signal head: each type's probability, and those called
        types = result[zoo.SIGNAL_TYPES_OUTPUT]
        called = types >= signal_thresholds
        every_type = tf.broadcast_to(tf.constant([SIGNAL_NAMES[code] for code in SIGNAL_TYPES]), tf.shape(types))
        named["signal_types"] = types
        named["signals"] = tf.strings.reduce_join(tf.ragged.boolean_mask(every_type, called), axis=-1, separator="|")
    if has_attention:
        named["attention"] = result["attention"]
    return named


WARMUP_FILE = "tf_serving_warmup_requests"


def write_warmup_requests(path, model_name: str = "protloc") -> None:
    """TF Serving warm-up file: PredictionLog records, one ``serving_default`` request per warm-up batch."""
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in (WARMUP_SEQUENCES[:1], WARMUP_SEQUENCES):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name="serving_default"))
            request.inputs["sequences"].CopyFrom(tf.make_tensor_proto(np.array(batch, dtype=object), dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())

