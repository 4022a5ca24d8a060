"""The model shipped with the package (the built-in default of ``protloc predict``).

``model.keras`` is the model; ``model.json`` its card: what it is, how it was trained (command, epochs,
hyper-parameters, data), the class names and its measured test accuracy.
"""
from __future__ import annotations

import json
import pathlib

DIRECTORY = pathlib.Path(__file__).parent
MODEL_PATH = DIRECTORY / "model.keras"
CARD_PATH = DIRECTORY / "model.json"


def load_pretrained():
    """The shipped Keras model (tokens -> probabilities over the 11 MultiLoc compartments)."""
    from protloc import models

    return models.load_model("pretrained")


def model_card() -> dict:
    """The shipped model's description (``model.json``)."""
    return json.loads(CARD_PATH.read_text())
