"""The model zoo: the registry of model families and their hyper-parameters, and ensembles as one Keras model.

Every model takes a dict of named inputs, keras-hub style: ``{"tokens": int32 (batch, length)}``
(0 = padding; see :mod:`protloc.data.sequences`), plus one float input ``(batch, length, width)`` per entry of the
``residue_inputs`` hyper-parameter (``profile=True`` adds ``{"profile": 20}``,
the sequence profile of :data:`protloc.data.features.PROFILE`), whose values are appended to each residue's encoding,
and with ``kingdom=True`` the organism group ``(batch, 4)`` (:data:`protloc.data.features.KINGDOM`), appended to the
fixed-length representation before the classifier. It returns class probabilities ``(batch, num_classes)`` from a
:class:`ClassProbabilities` head that
carries the class names, so they travel inside the saved ``.keras`` file. Models are returned uncompiled:
optimizer, loss and learning rate belong to training (:func:`protloc.training.compile_model`).

Defaults follow Sønderby et al. 2015: conv bank of widths 1, 3, 5, 9, 15, 21 with 10 filters each, 50%
dropout on every layer, uniform initialisation in [-0.05, 0.05], attention width 400. LSTM and dense widths are
not fixed by the paper's text; the defaults here (128 LSTM units per direction, 128 dense units) are those of our
first measured prototype. Two R-LSTM options are not in the paper, and their defaults build the paper's model:
``pool_size`` (max pooling of the conv bank's output over windows of residues before the LSTMs, which cuts the LSTMs'
steps by that factor) and ``global_max`` (each conv filter's maximum over the whole protein, given to the classifier
beside the LSTMs' final states). The default training recipe, ``coarse``, sets 4 and True
(:mod:`protloc.models.recipes`).
A model whose residues carry only their :class:`ResidueEncoding` features has its conv bank convolve each
residue's 20 standard-residue weights instead (``ConvBank(residue_blocks=...)``): the same function and weights
with a third of the arithmetic; models saved before that option load and run as they were.
"""
from __future__ import annotations

import dataclasses
import pathlib
from typing import Callable

import keras
from keras import ops

from protloc.data.datasets.spec import LABEL_SCHEMES, MULTI_LABEL, SINGLE_LABEL, check_class_names
from protloc.data.features import KINGDOM, PROFILE, PROFILE_WIDTH, PROTEIN_INPUTS, RESIDUE_SIGNAL_CLASSES, TOKENS
from protloc.models.hyperparameters import FAMILY_DESCRIPTIONS, HYPERPARAMETERS, PAPER_HPARAMS, TERMINAL_SEGMENT
from protloc.models.layers import (AttentionPooling, ConvBank, MaskedGlobalMaxPooling1D, MaskedMaxPooling1D,
                                   ResidueConcatenation, ResidueEncoding, ReversedLSTMPair, SignalHead, SignalTypes,
                                   TerminalWindows, WithheldInput)

ENCODING_LAYER, CONV_BANK_LAYER, REPRESENTATION_LAYER = "residue_encoding", "conv_bank", "representation"
"""Names of the layers that interpretation reads (filters, fixed-length representation, attention)."""
KINGDOM_WITHHELD = 0.25
"""Share of training proteins whose kingdom input is withheld (zeroed) in each batch, so that a kingdom model also
predicts for proteins whose organism group is not given (set by hand, not tuned)."""


LOCATIONS_OUTPUT, MEMBRANE_OUTPUT = "locations", "membrane"
"""Names of a multi-label model's outputs: per-location probabilities ``(batch, classes)`` and the membrane
probability ``(batch, 1)``."""
SIGNAL_RESIDUES_OUTPUT, SIGNAL_TYPES_OUTPUT = "signal_residues", "signal_types"
"""Names of the sorting-signal head's outputs (hyper-parameter ``signals``): per residue a softmax over no signal
and the nine types ``(batch, length, 10)``, and per protein each type's probability ``(batch, 9)``
(:class:`SignalTypes`; types and codes: :data:`protloc.data.features.RESIDUE_SIGNAL_CLASSES`)."""
SIGNAL_HEAD_FILTERS, SIGNAL_HEAD_WIDTH, SIGNAL_HEAD_DILATION = 32, 9, 4
"""The signal head (:class:`SignalHead`) on the conv bank's per-residue output: two convolutions of this many filters
and width, the second dilated, so each residue's call reads 20 residues to each side beyond the bank's own 10 (set
by hand, not tuned)."""


@dataclasses.dataclass(frozen=True)
class Family:
    """A model family: its builder ``(resolved hparams, class_names, label_scheme, membrane) -> keras.Model`` and a
    one-line summary."""

    builder: Callable
    description: str


@keras.saving.register_keras_serializable(package="protloc")
class ClassProbabilities(keras.layers.Dense):
    """Softmax output layer that also records the class names in its config.

    Args:
        class_names: one name per class, in label order.
        **kwargs: passed to ``keras.layers.Dense`` (``units`` and ``activation`` are fixed).

    Call arguments:
        inputs: float tensor ``(batch, features)``.

    Returns:
        float tensor ``(batch, len(class_names))`` of probabilities.
    """

    ACTIVATION = "softmax"

    def __init__(self, class_names, **kwargs):
        kwargs.pop("units", None)
        kwargs.pop("activation", None)
        class_names = check_class_names(class_names)
        super().__init__(units=len(class_names), activation=self.ACTIVATION, **kwargs)
        self.class_names = class_names

    def get_config(self):
        return {**super().get_config(), "class_names": list(self.class_names)}


@keras.saving.register_keras_serializable(package="protloc")
class LocationProbabilities(ClassProbabilities):
    """Multi-label output layer: one sigmoid probability per location (a protein may be in several), with the
    location names in its config.

    Args:
        class_names: one name per location, in label order.
        **kwargs: passed to ``keras.layers.Dense`` (``units`` and ``activation`` are fixed).

    Call arguments:
        inputs: float tensor ``(batch, features)``.

    Returns:
        float tensor ``(batch, len(class_names))``, each entry the probability of one location, independently.
    """

    ACTIVATION = "sigmoid"


def resolve_hparams(**hparams) -> dict:
    """Registry defaults updated by ``hparams`` (None values keep the default); unknown names are a
    ``ValueError``."""
    unknown = sorted(set(hparams) - set(HYPERPARAMETERS))
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown}; known: {sorted(HYPERPARAMETERS)}")
    resolved = {**PAPER_HPARAMS, **{k: v for k, v in hparams.items() if v is not None}}
    if not 0 <= resolved["dropout"] < 1:
        raise ValueError(f"dropout must be in [0, 1), got {resolved['dropout']}")
    windows = [int(value) for value in resolved["terminal_windows"]]
    if len(windows) != 2 or min(windows) < 0 or any(value % TERMINAL_SEGMENT for value in windows):
        raise ValueError(f"terminal_windows must be two non-negative multiples of {TERMINAL_SEGMENT} (N- and "
                         f"C-terminal residues), got {resolved['terminal_windows']}")
    resolved["terminal_windows"] = windows
    if int(resolved["pool_size"]) < 1:
        raise ValueError(f"pool_size must be at least 1, got {resolved['pool_size']}")
    resolved["pool_size"] = int(resolved["pool_size"])
    extra = dict(resolved["residue_inputs"])
    if resolved["profile"] or PROFILE in extra:
        if extra.setdefault(PROFILE, PROFILE_WIDTH) != PROFILE_WIDTH:
            raise ValueError(f"residue_inputs: the {PROFILE!r} input has {PROFILE_WIDTH} columns, got {extra[PROFILE]}")
        resolved["profile"] = True
    resolved["residue_inputs"] = extra
    for name, width in resolved["residue_inputs"].items():
        if name in (TOKENS, *PROTEIN_INPUTS) or int(width) < 1:
            raise ValueError(f"residue_inputs: {name!r} -> {width} is not a valid extra input (name other than "
                             f"{', '.join(map(repr, (TOKENS, *PROTEIN_INPUTS)))}, width >= 1)")
    resolved["residue_inputs"] = {str(name): int(width) for name, width in resolved["residue_inputs"].items()}
    return resolved


def model_inputs(hp: dict) -> dict:
    """The ``keras.Input`` s of a zoo model with resolved hyper-parameters ``hp``: tokens, then each extra
    per-residue input, then the kingdom ``(batch, 4)`` where ``hp["kingdom"]``, by name."""
    inputs = {TOKENS: keras.Input(shape=(None,), dtype="int32", name=TOKENS)}
    for name, width in hp["residue_inputs"].items():
        inputs[name] = keras.Input(shape=(None, width), dtype="float32", name=name)
    if hp["kingdom"]:
        inputs[KINGDOM] = keras.Input(shape=(PROTEIN_INPUTS[KINGDOM],), dtype="float32", name=KINGDOM)
    return inputs


def _with_terminal_windows(representation, conv, hp: dict):
    """The fixed-length representation ``(batch, features)`` followed by the conv features of the terminal windows
    where ``hp["terminal_windows"]`` asks for them (:class:`TerminalWindows`)."""
    n_terminal, c_terminal = hp["terminal_windows"]
    if not n_terminal + c_terminal:
        return representation
    windows = TerminalWindows(n_terminal, c_terminal, TERMINAL_SEGMENT, name="terminal_windows")(conv)
    return keras.layers.Concatenate(name="representation_and_termini")([representation, windows])


def _with_protein_inputs(representation, inputs: dict):
    """The fixed-length representation ``(batch, features)`` followed by the kingdom input where the model takes it
    (withheld from :data:`KINGDOM_WITHHELD` of the training proteins)."""
    if KINGDOM not in inputs:
        return representation
    kingdom = WithheldInput(KINGDOM_WITHHELD, name="kingdom_withheld")(inputs[KINGDOM])
    return keras.layers.Concatenate(name="representation_and_kingdom")([representation, kingdom])


def _encoder(inputs: dict, hp: dict, initializer):
    """Shared front end: tokens (+ extra per-residue inputs) -> residue features -> conv bank -> dropout, with the
    padding mask carried."""
    features = ResidueEncoding(hp["blocks"], name=ENCODING_LAYER)(inputs[TOKENS])
    extra = [inputs[name] for name in hp["residue_inputs"]]
    if extra:
        features = ResidueConcatenation(name="residue_features")([features, *extra])
    features = ConvBank(hp["conv_widths"], hp["conv_filters"], kernel_initializer=initializer,
                        residue_blocks=None if extra else hp["blocks"], name=CONV_BANK_LAYER)(features)
    return keras.layers.Dropout(hp["dropout"], name="conv_dropout")(features)


def _classifier(representation, hp: dict, initializer, class_names, label_scheme: str = SINGLE_LABEL,
                membrane: bool = False):
    """Fixed-length representation -> dropout -> dense ReLU -> dropout -> the head: class probabilities
    (single-label), or ``{"locations": per-location probabilities, "membrane": its probability}`` (multi-label;
    the membrane output only with ``membrane``)."""
    hidden = keras.layers.Dropout(hp["dropout"], name="representation_dropout")(representation)
    hidden = keras.layers.Dense(hp["dense_units"], activation="relu", kernel_initializer=initializer,
                                name="dense")(hidden)
    hidden = keras.layers.Dropout(hp["dropout"], name="dense_dropout")(hidden)
    if label_scheme == SINGLE_LABEL:
        return ClassProbabilities(class_names, kernel_initializer=initializer, name="probabilities")(hidden)
    outputs = {LOCATIONS_OUTPUT: LocationProbabilities(class_names, kernel_initializer=initializer,
                                                       name=LOCATIONS_OUTPUT)(hidden)}
    if membrane:
        outputs[MEMBRANE_OUTPUT] = keras.layers.Dense(1, activation="sigmoid", kernel_initializer=initializer,
                                                      name=MEMBRANE_OUTPUT)(hidden)
    return outputs


def _with_signal_head(outputs, conv, inputs: dict, hp: dict, label_scheme: str):
    """``outputs`` and, where ``hp["signals"]``, the sorting-signal head on the conv bank's per-residue output
    (:data:`SIGNAL_RESIDUES_OUTPUT`, :data:`SIGNAL_TYPES_OUTPUT`)."""
    if not hp["signals"]:
        return outputs
    if label_scheme != MULTI_LABEL:
        raise ValueError("the sorting-signal head (signals=True) is for multi-label models")
    residues = SignalHead(len(RESIDUE_SIGNAL_CLASSES), SIGNAL_HEAD_FILTERS, SIGNAL_HEAD_WIDTH, SIGNAL_HEAD_DILATION,
                          name=SIGNAL_RESIDUES_OUTPUT)(conv)
    types = SignalTypes(name=SIGNAL_TYPES_OUTPUT)([residues, inputs[TOKENS]])
    return {**outputs, SIGNAL_RESIDUES_OUTPUT: residues, SIGNAL_TYPES_OUTPUT: types}


def build_rlstm(hp: dict, class_names, label_scheme: str = SINGLE_LABEL, membrane: bool = False) -> keras.Model:
    """R-LSTM: conv bank -> dropout -> (max pooling over ``pool_size`` residues, when above 1) ->
    ReversedLSTMPair (-> concatenated with each conv filter's maximum over the protein, when ``global_max``, and with
    the terminal windows' conv features, when ``terminal_windows``) -> dense ReLU -> softmax."""
    initializer = keras.initializers.RandomUniform(-hp["init_scale"], hp["init_scale"])
    inputs = model_inputs(hp)
    conv = features = _encoder(inputs, hp, initializer)
    if hp["pool_size"] > 1:
        features = MaskedMaxPooling1D(hp["pool_size"], name="pooling")(features)
    representation = ReversedLSTMPair(hp["lstm_units"], kernel_initializer=initializer,
                                      name=REPRESENTATION_LAYER)(features)
    if hp["global_max"]:
        conv_max = MaskedGlobalMaxPooling1D(name="conv_max")(conv)
        representation = keras.layers.Concatenate(name="representation_and_conv_max")([representation, conv_max])
    representation = _with_protein_inputs(_with_terminal_windows(representation, conv, hp), inputs)
    outputs = _classifier(representation, hp, initializer, class_names, label_scheme, membrane)
    return keras.Model(inputs, _with_signal_head(outputs, conv, inputs, hp, label_scheme), name="rlstm")


def build_alstm(hp: dict, class_names, label_scheme: str = SINGLE_LABEL, membrane: bool = False) -> keras.Model:
    """A-LSTM: conv bank -> dropout -> bidirectional LSTM (every position) -> AttentionPooling (-> concatenated with
    the terminal windows' conv features, when ``terminal_windows``) -> dense -> softmax."""
    initializer = keras.initializers.RandomUniform(-hp["init_scale"], hp["init_scale"])
    inputs = model_inputs(hp)
    lstm = keras.layers.LSTM(hp["lstm_units"], return_sequences=True, kernel_initializer=initializer,
                             recurrent_initializer=initializer)
    bidirectional = keras.layers.Bidirectional(lstm, name="bidirectional_lstm")  # made before the encoder, as ever
    conv = _encoder(inputs, hp, initializer)
    states = bidirectional(conv)
    context, _ = AttentionPooling(hp["attention_units"], kernel_initializer=initializer,
                                  name=REPRESENTATION_LAYER)(states)
    representation = _with_protein_inputs(_with_terminal_windows(context, conv, hp), inputs)
    outputs = _classifier(representation, hp, initializer, class_names, label_scheme, membrane)
    return keras.Model(inputs, _with_signal_head(outputs, conv, inputs, hp, label_scheme), name="alstm")


FAMILIES = {
    "rlstm": Family(build_rlstm, FAMILY_DESCRIPTIONS["rlstm"]),
    "alstm": Family(build_alstm, FAMILY_DESCRIPTIONS["alstm"]),
}
"""Registry: family name -> :class:`Family`."""


def check_family(name: str) -> str:
    """``name`` if it is a registered family, else a ``ValueError`` listing them."""
    if name not in FAMILIES:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(FAMILIES)}")
    return name


def build_model(name: str, class_names, label_scheme: str = SINGLE_LABEL, membrane: bool = False,
                **hparams) -> keras.Model:
    """Builds an uncompiled zoo model.

    Args:
        name: a key of ``FAMILIES`` ("rlstm", "alstm").
        class_names: output class names, in label order (a data set's ``spec.class_names``).
        label_scheme: ``single`` (softmax over the classes) or ``multi`` (a sigmoid per class).
        membrane: (multi-label) also a membrane-association output.
        **hparams: overrides of the registry defaults (``HYPERPARAMETERS``).

    Returns:
        a ``keras.Model`` from ``{"tokens", *residue_inputs}`` to probabilities ``(batch, len(class_names))``
        (single-label) or to ``{"locations": (batch, len(class_names)), "membrane": (batch, 1)}`` (multi-label).
    """
    if label_scheme not in LABEL_SCHEMES:
        raise ValueError(f"label_scheme must be one of {', '.join(LABEL_SCHEMES)}, got {label_scheme!r}")
    return FAMILIES[check_family(name)].builder(resolve_hparams(**hparams), class_names, label_scheme, membrane)


def input_names(model: keras.Model) -> list[str]:
    """Names of a model's inputs (``["tokens"]``, or with extra per-residue inputs)."""
    return [tensor.name for tensor in model.inputs]


def class_names_of(model: keras.Model) -> list[str]:
    """The class names a zoo model or ensemble was built with."""
    for layer in _walk(model):
        if isinstance(layer, ClassProbabilities):
            return list(layer.class_names)
    raise ValueError(f"model {model.name!r} has no ClassProbabilities layer: not a protloc model")


def label_scheme_of(model: keras.Model) -> str:
    """``multi`` for a model with per-location (sigmoid) outputs, else ``single``."""
    return MULTI_LABEL if any(isinstance(layer, LocationProbabilities) for layer in _walk(model)) else SINGLE_LABEL


def member_count(model: keras.Model) -> int:
    """How many zoo models ``model`` holds: 1 for a single model, N for an ensemble of N members."""
    return sum(isinstance(layer, ClassProbabilities) for layer in _walk(model))


def _walk(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def representation_model(model: keras.Model) -> keras.Model:
    """Sub-model from the model's inputs to the fixed-length representation (and, for attention models, alpha).

    Returns a model whose outputs are ``representation`` ``(batch, features)`` for R-LSTM, or
    ``[context (batch, features), alpha (batch, length)]`` for A-LSTM.
    """
    layer = model.get_layer(REPRESENTATION_LAYER)
    return keras.Model(model.input, layer.output, name=f"{model.name}_representation")


def with_attention_output(model: keras.Model) -> tuple[keras.Model, bool]:
    """For attention models, a model with outputs ``{"probabilities": (batch, classes), "attention": alpha (batch,
    length)}`` (a multi-label model: its own outputs and ``"attention"``); else the model itself.

    Returns ``(model, has_attention)``.
    """
    try:
        layer = model.get_layer(REPRESENTATION_LAYER)
    except ValueError:
        return model, False
    if not isinstance(layer, AttentionPooling):
        return model, False
    main = model.output if isinstance(model.output, dict) else {"probabilities": model.output}
    outputs = {**main, "attention": layer.output[1]}
    return keras.Model(model.input, outputs, name=f"{model.name}_with_attention"), True


@keras.saving.register_keras_serializable(package="protloc")
class AverageProbabilities(keras.layers.Layer):
    """Mean of several probability tensors ``(batch, classes)`` -> ``(batch, classes)``."""

    def call(self, inputs):
        return ops.mean(ops.stack(inputs, axis=0), axis=0)

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]


def build_ensemble(members, name: str = "ensemble") -> keras.Model:
    """One Keras model that averages the probabilities of trained members (saved and loaded as one file).

    Args:
        members: trained zoo models with the same class names, outputs and inputs.

    Returns:
        an uncompiled model from the members' inputs to their mean probabilities (a multi-label ensemble: each
        output's mean).
    """
    members = list(members)
    if not members:
        raise ValueError("an ensemble needs at least one member")
    names, inputs = class_names_of(members[0]), input_names(members[0])
    for member in members[1:]:
        if class_names_of(member) != names:
            raise ValueError(f"ensemble members disagree on class names: {names} vs {class_names_of(member)}")
        if input_names(member) != inputs:
            raise ValueError(f"ensemble members disagree on inputs: {inputs} vs {input_names(member)}")
    shared = {name: keras.Input(shape=tensor.shape[1:], dtype=tensor.dtype, name=name)
              for name, tensor in zip(inputs, members[0].inputs)}
    outputs = []
    for index, member in enumerate(members):
        copy = keras.models.clone_model(member)  # uncompiled: the ensemble file carries no optimizer state
        copy.set_weights(member.get_weights())
        copy.name = f"member_{index}"
        outputs.append(copy(shared))
    if len(outputs) == 1:
        return keras.Model(shared, outputs[0], name=name)
    if isinstance(outputs[0], dict):  # a multi-label model: each output averaged on its own
        average = {key: AverageProbabilities(name=f"average_{key}")([output[key] for output in outputs])
                   for key in outputs[0]}
    else:
        average = AverageProbabilities(name="average")(outputs)
    return keras.Model(shared, average, name=name)


def load_model(path) -> keras.Model:
    """Loads a zoo model or ensemble from a ``.keras`` file (Keras's safe mode: no code from the file runs).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: the file is not a Keras model, or not a protloc one (one line naming the file).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file, often wrapping the cause: name the cause
        cause = error
        while (cause.__cause__ or cause.__context__) is not None:
            cause = cause.__cause__ or cause.__context__
        reason = " ".join(str(cause).split()) or type(cause).__name__
        raise ValueError(f"{path} is not a loadable Keras model ({type(cause).__name__}: {reason[:300]})") from None
    class_names_of(model)  # a Keras model that is not ours fails here, naming it
    return model
