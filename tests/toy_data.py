"""Synthetic data sets for tests that start protloc in a subprocess: importable as ``tests.toy_data:NAME`` (run from
the repository root)."""
from tests.helpers import toy_spec

TINY = toy_spec("tests.toy_data:TINY", n_per_class=10)
SMALL = toy_spec("tests.toy_data:SMALL", n_per_class=16)
EXTRA = toy_spec("tests.toy_data:EXTRA", n_per_class=100, extra_width=3)
