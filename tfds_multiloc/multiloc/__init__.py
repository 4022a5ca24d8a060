"""The ``multiloc`` TFDS dataset (Höglund et al. 2006), as used by Sønderby et al. 2015."""
