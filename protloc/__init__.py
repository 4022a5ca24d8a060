"""protloc: subcellular localization of proteins from sequence (Sønderby et al. 2015 and beyond)."""
__version__ = "0.1.0"
