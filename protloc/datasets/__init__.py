"""Data set specifications: what a data set is (class names, folds) and how to read its examples.

A :class:`DatasetSpec` is all that training, evaluation, tuning, plots and benchmarks know of a data set; nothing
outside a data set's own module names it or its files. Specs are registered by name (the name recorded in a run's
``config.json``); ``multiloc`` is built in, and a user or a test registers more with :func:`register`.

An :class:`Example` is one protein: its identifier, a dict of named per-residue features (``"tokens"`` int32
``[length]`` always; others, such as a ``"profile"`` float32 ``[length, 20]``, as a data set provides them), its
class index and its cross-validation fold.
"""
from __future__ import annotations

from protloc.datasets import multiloc
from protloc.datasets.spec import SPLITS, TEST_FOLD, DataNotFoundError, DatasetSpec, Example, labels_of

__all__ = ["DEFAULT", "SPLITS", "TEST_FOLD", "DataNotFoundError", "DatasetSpec", "Example", "get", "labels_of",
           "names", "register"]

_REGISTRY: dict[str, DatasetSpec] = {multiloc.SPEC.name: multiloc.SPEC}
"""The data sets that come with protloc, and those registered since."""
DEFAULT = multiloc.SPEC.name
"""The data set of a run that names none."""


def register(spec: DatasetSpec) -> DatasetSpec:
    """Makes ``spec`` available as ``get(spec.name)`` (replacing a spec of the same name); returns it."""
    _REGISTRY[spec.name] = spec
    return spec


def get(name: str) -> DatasetSpec:
    """The registered spec called ``name``.

    Raises:
        ValueError: no such data set (the message lists the registered ones).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown data set {name!r}; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def names() -> list[str]:
    """Names of the registered data sets."""
    return sorted(_REGISTRY)

