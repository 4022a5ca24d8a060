"""protloc: subcellular localization of proteins from sequence (Sønderby et al. 2015 and beyond).

``protloc.Localizer.from_preset(NAME_OR_DIRECTORY).predict(records)`` turns sequences into results
(:mod:`protloc.prediction.predictor`); importing ``protloc`` itself loads nothing heavy.

The package is grouped by role, dependencies pointing down (docs/reference.md, "Code layout"):
``apps`` -> ``training`` -> ``prediction`` -> ``evidence`` -> ``models`` -> ``data`` -> ``utils``. The names users
import most are available here too, each imported on first use: ``Localizer``, ``datasets``, ``pipeline`` and
``sequences`` (``protloc.models`` and ``protloc.training`` are subpackages that forward their main module's names).
"""
__version__ = "0.2.0"


def __getattr__(name):
    if name == "Localizer":
        from protloc.prediction.predictor import Localizer

        return Localizer
    if name == "datasets":
        from protloc.data import datasets

        return datasets
    if name == "pipeline":
        from protloc.data import pipeline

        return pipeline
    if name == "sequences":
        from protloc.data import sequences

        return sequences
    raise AttributeError(f"module 'protloc' has no attribute {name!r}")
