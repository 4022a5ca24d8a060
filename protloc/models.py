"""The model zoo: registry name -> builder, paper defaults, and ensembles as one Keras model.

Every model takes ``tokens`` (int, ``(batch, length)``, 0 = padding; see :mod:`protloc.sequences`) and
returns class probabilities ``(batch, num_classes)`` from a :class:`ClassProbabilities` head that carries the
class names, so they travel inside the saved ``.keras`` file.

Defaults follow Sønderby et al. 2015: conv bank of widths 1, 3, 5, 9, 15, 21 with 10 filters each, 50%
dropout on every layer, uniform initialisation in [-0.05, 0.05], Adam with learning rate 2e-4, attention
width 400. LSTM and dense widths are not fixed by the paper's text; the defaults here (128 LSTM units per
direction, 128 dense units) are those of our first measured prototype.
"""
from __future__ import annotations

import pathlib

import keras
from keras import ops

from protloc import encoding
from protloc.classes import CLASS_NAMES
from protloc.layers import AttentionPooling, ConvBank, ReversedLSTMPair, ResidueEncoding
from protloc.layers.conv_bank import PAPER_FILTERS, PAPER_WIDTHS

PAPER_HPARAMS = {
    "blocks": list(encoding.FEATURE_BLOCKS),
    "conv_widths": list(PAPER_WIDTHS),
    "conv_filters": list(PAPER_FILTERS),
    "lstm_units": 128,
    "dense_units": 128,
    "attention_units": 400,
    "dropout": 0.5,
    "init_scale": 0.05,
    "learning_rate": 2e-4,
}
"""Every hyper-parameter a zoo model accepts, with its default (``attention_units`` is used by alstm only)."""


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

    def __init__(self, class_names, **kwargs):
        kwargs.pop("units", None)
        kwargs.pop("activation", None)
        class_names = [str(name) for name in class_names]
        if len(class_names) < 2 or len(set(class_names)) != len(class_names):
            raise ValueError(f"class_names must hold at least two distinct names, got {class_names}")
        super().__init__(units=len(class_names), activation="softmax", **kwargs)
        self.class_names = class_names

    def get_config(self):
        return {**super().get_config(), "class_names": list(self.class_names)}


def resolve_hparams(**hparams) -> dict:
    """Paper defaults updated by ``hparams``; unknown names are a ``ValueError``."""
    unknown = sorted(set(hparams) - set(PAPER_HPARAMS))
    if unknown:
        raise ValueError(f"unknown hyper-parameter(s) {unknown}; known: {sorted(PAPER_HPARAMS)}")
    resolved = {**PAPER_HPARAMS, **{k: v for k, v in hparams.items() if v is not None}}
    if not 0 <= resolved["dropout"] < 1:
        raise ValueError(f"dropout must be in [0, 1), got {resolved['dropout']}")
    return resolved


def _encoder(hp: dict, initializer):
    """Shared front end: tokens -> (residue features -> conv bank -> dropout), with the mask carried."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    features = ResidueEncoding(hp["blocks"], name="residue_encoding")(tokens)
    features = ConvBank(hp["conv_widths"], hp["conv_filters"], kernel_initializer=initializer,
                        name="conv_bank")(features)
    return tokens, keras.layers.Dropout(hp["dropout"], name="conv_dropout")(features)


def _classifier(representation, hp: dict, initializer, class_names):
    """Fixed-length representation -> dropout -> dense ReLU -> dropout -> class probabilities."""
    hidden = keras.layers.Dropout(hp["dropout"], name="representation_dropout")(representation)
    hidden = keras.layers.Dense(hp["dense_units"], activation="relu", kernel_initializer=initializer,
                                name="dense")(hidden)
    hidden = keras.layers.Dropout(hp["dropout"], name="dense_dropout")(hidden)
    return ClassProbabilities(class_names, kernel_initializer=initializer, name="probabilities")(hidden)


def build_rlstm(hp: dict, class_names) -> keras.Model:
    """R-LSTM: conv bank -> dropout -> ReversedLSTMPair -> dense ReLU -> softmax."""
    initializer = keras.initializers.RandomUniform(-hp["init_scale"], hp["init_scale"])
    tokens, features = _encoder(hp, initializer)
    representation = ReversedLSTMPair(hp["lstm_units"], kernel_initializer=initializer,
                                      name="representation")(features)
    return keras.Model(tokens, _classifier(representation, hp, initializer, class_names), name="rlstm")


def build_alstm(hp: dict, class_names) -> keras.Model:
    """A-LSTM: conv bank -> dropout -> bidirectional LSTM (every position) -> AttentionPooling -> dense -> softmax."""
    initializer = keras.initializers.RandomUniform(-hp["init_scale"], hp["init_scale"])
    tokens, features = _encoder(hp, initializer)
    lstm = keras.layers.LSTM(hp["lstm_units"], return_sequences=True, kernel_initializer=initializer,
                             recurrent_initializer=initializer)
    states = keras.layers.Bidirectional(lstm, name="bidirectional_lstm")(features)
    context, _ = AttentionPooling(hp["attention_units"], kernel_initializer=initializer,
                                  name="representation")(states)
    return keras.Model(tokens, _classifier(context, hp, initializer, class_names), name="alstm")


MODEL_BUILDERS = {"rlstm": build_rlstm, "alstm": build_alstm}
"""Registry: model name -> builder(hparams, class_names)."""


def build_model(name: str, class_names=CLASS_NAMES, compile: bool = True, **hparams) -> keras.Model:
    """Builds (and by default compiles) a zoo model.

    Args:
        name: a key of ``MODEL_BUILDERS`` ("rlstm", "alstm").
        class_names: output class names, in label order.
        compile: compile with Adam(``learning_rate``), sparse categorical cross-entropy and accuracy.
        **hparams: overrides of ``PAPER_HPARAMS``.

    Returns:
        an uncompiled or compiled ``keras.Model`` from ``tokens`` to probabilities.
    """
    if name not in MODEL_BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_BUILDERS)}")
    hp = resolve_hparams(**hparams)
    model = MODEL_BUILDERS[name](hp, class_names)
    if compile:
        model.compile(optimizer=keras.optimizers.Adam(hp["learning_rate"]),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def class_names_of(model: keras.Model) -> list[str]:
    """The class names a zoo model or ensemble was built with."""
    for layer in _walk(model):
        if isinstance(layer, ClassProbabilities):
            return list(layer.class_names)
    raise ValueError(f"model {model.name!r} has no ClassProbabilities layer: not a protloc model")


def member_count(model: keras.Model) -> int:
    """How many zoo models ``model`` holds: 1 for a single model, N for an ensemble of N members."""
    return sum(isinstance(layer, ClassProbabilities) for layer in _walk(model))


def _walk(model):
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def representation_model(model: keras.Model) -> keras.Model:
    """Sub-model from tokens to the fixed-length representation (and, for attention models, alpha).

    Returns a model whose outputs are ``representation`` ``(batch, features)`` for R-LSTM, or
    ``[context (batch, features), alpha (batch, length)]`` for A-LSTM.
    """
    layer = model.get_layer("representation")
    return keras.Model(model.inputs, layer.output, name=f"{model.name}_representation")


def with_attention_output(model: keras.Model) -> tuple[keras.Model, bool]:
    """For attention models, a model with outputs ``[probabilities, alpha (batch, length)]``; else the model.

    Returns ``(model, has_attention)``.
    """
    try:
        layer = model.get_layer("representation")
    except ValueError:
        return model, False
    if not isinstance(layer, AttentionPooling):
        return model, False
    return keras.Model(model.inputs, [model.output, layer.output[1]], name=f"{model.name}_with_attention"), True


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
        members: trained zoo models with the same class names.

    Returns:
        an uncompiled model from ``tokens`` to the members' mean probabilities.
    """
    members = list(members)
    if not members:
        raise ValueError("an ensemble needs at least one member")
    names = class_names_of(members[0])
    for member in members[1:]:
        if class_names_of(member) != names:
            raise ValueError(f"ensemble members disagree on class names: {names} vs {class_names_of(member)}")
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    outputs = []
    for index, member in enumerate(members):
        copy = keras.models.clone_model(member)  # uncompiled: the ensemble file carries no optimizer state
        copy.set_weights(member.get_weights())
        copy.name = f"member_{index}"
        outputs.append(copy(tokens))
    average = AverageProbabilities(name="average")(outputs) if len(outputs) > 1 else outputs[0]
    return keras.Model(tokens, average, name=name)


def load_model(path) -> keras.Model:
    """Loads a zoo model or ensemble from a ``.keras`` file, a run directory (its ``model.keras``), or the name
    of a model shipped in :mod:`protloc.pretrained` (``"pretrained"``, ``"pretrained-ensemble"``).

    Raises:
        FileNotFoundError: nothing at ``path``.
        ValueError: the file is not a Keras model, or not a protloc one.
    """
    from protloc import pretrained

    if str(path) in pretrained.SHIPPED:
        name, path = str(path), pretrained.model_path(str(path))
        if not path.exists():
            raise FileNotFoundError(f"no {name} model is shipped in {path.parent}; pass a model file")
    path = pathlib.Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.exists():
        raise FileNotFoundError(f"no model at {path}")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as error:  # Keras raises many types for a bad file; name the file instead
        raise ValueError(f"{path} is not a loadable Keras model ({type(error).__name__}: {error})") from None
    class_names_of(model)  # a Keras model that is not ours fails here, naming it
    return model
