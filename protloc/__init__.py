"""protloc: subcellular localization of proteins from sequence (Sønderby et al. 2015 and beyond)."""
__version__ = "0.1.0"


def load_pretrained():
    """The model shipped with the package; see :mod:`protloc.pretrained`."""
    from protloc.pretrained import load_pretrained as load

    return load()
