"""protloc: subcellular localization of proteins from sequence (Sønderby et al. 2015 and beyond).

``protloc.Localizer.from_preset(NAME_OR_DIRECTORY).predict(records)`` turns sequences into results
(:mod:`protloc.predictor`); importing ``protloc`` itself loads nothing heavy.
"""
__version__ = "0.2.0"


def __getattr__(name):
    if name == "Localizer":  # imported on first use: it brings Keras
        from protloc.predictor import Localizer

        return Localizer
    raise AttributeError(f"module 'protloc' has no attribute {name!r}")
