"""Data set specifications: what a data set is (class names, label scheme, folds) and how to read its examples.

A :class:`DatasetSpec` is all that training, evaluation, tuning, plots and benchmarks know of a data set; nothing
outside a data set's own module names it or its files. A data set is named by a string, the one recorded in a run's
``config.json``:

* a built-in data set: ``multiloc`` (single-label, a test split) or ``deeploc2`` (multi-label with membrane flags,
  cross-validation over five partitions);
* ``MODULE:ATTRIBUTE``, a spec defined in any importable module (the current directory is searched too), e.g.
  ``mylab.data:SPEC`` or, in this repository's tests, ``tests.toy_data:TINY``;
* a spec an installed package declares in the ``protloc.data.datasets`` entry-point group (``NAME = module:ATTRIBUTE``).

Nothing here can be changed at run time: the CLI, the tuner and Python code see the same data sets.

An :class:`Example` is one protein: its identifier, a dict of named per-residue features (``"tokens"`` int32
``[length]`` always; others, such as a ``"profile"`` float32 ``[length, 20]``, as a data set provides them), its
label (a class index, or a tuple of them for a multi-label data set) and its cross-validation fold.
"""
from __future__ import annotations

import importlib
import importlib.metadata
import os
import sys

from protloc.data.datasets import deeploc2, multiloc
from protloc.data.datasets.spec import (LABEL_SCHEMES, MULTI_LABEL, SINGLE_LABEL, SPLITS, TEST_FOLD, DataNotFoundError,
                                        DatasetSpec, Example, check_class_names, labels_of)

__all__ = ["BUILT_IN", "DEFAULT", "ENTRY_POINT_GROUP", "LABEL_SCHEMES", "MULTI_LABEL", "SINGLE_LABEL", "SPLITS",
           "TEST_FOLD", "DataNotFoundError", "DatasetSpec", "Example", "check_class_names", "get", "labels_of", "names"]

BUILT_IN = {multiloc.SPEC.name: multiloc.SPEC, deeploc2.SPEC.name: deeploc2.SPEC}
"""The data sets that come with protloc, by name."""
DEFAULT = multiloc.SPEC.name
"""The data set of a run that names none."""
ENTRY_POINT_GROUP = "protloc.data.datasets"
"""Entry-point group in which installed packages declare their data sets."""


def get(name: str) -> DatasetSpec:
    """The data set called ``name`` (see the module docstring for the three forms).

    Raises:
        ValueError: no such data set, or the reference does not lead to a :class:`DatasetSpec` (the message says
            which, and lists the known names).
    """
    if name in BUILT_IN:
        return BUILT_IN[name]
    declared = _entry_points()
    if name in declared:
        return _checked(declared[name].load(), name)
    module, sep, attribute = str(name).partition(":")
    if not sep or not module or not attribute:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(names())}, or MODULE:ATTRIBUTE naming a "
                         f"DatasetSpec")
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())
    try:
        found = getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f"data set {name!r}: cannot import it ({type(error).__name__}: {error})") from None
    return _checked(found, name)


def names() -> list[str]:
    """Names of the built-in data sets and of those installed packages declare."""
    return sorted({*BUILT_IN, *_entry_points()})


def _entry_points() -> dict:
    return {point.name: point for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _checked(found, name: str) -> DatasetSpec:
    if not isinstance(found, DatasetSpec):
        raise ValueError(f"data set {name!r} is a {type(found).__name__}, not a protloc.data.datasets.DatasetSpec")
    return found
