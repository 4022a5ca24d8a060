"""protloc: subcellular localization of proteins from sequence (Sønderby et al. 2015 and beyond)."""
__version__ = "0.1.0"


def load_pretrained(name: str = "pretrained"):
    """A model shipped with the package: "pretrained" (one R-LSTM, the default) or "pretrained-ensemble"; see
    :mod:`protloc.pretrained` and :func:`protloc.models.load_pretrained`."""
    from protloc import models

    return models.load_pretrained(name)
