"""From a data set to a preset: the training loop (loop: run directories, checkpoints, resume), fitting the evidence
of a run on held-out data (fitting), packaging runs into presets (packaging) and evaluation (scikit-learn metrics).

May import: protloc.prediction, protloc.evidence, protloc.models, protloc.data, protloc.utils.

The loop's names are available here too (``protloc.training.compile_model``), imported on first use.
"""
import pkgutil

_SUBMODULES = {module.name for module in pkgutil.iter_modules(__path__)}


def __getattr__(name):
    if name.startswith("__") or name in _SUBMODULES:  # dunders, and submodules the import system loads itself
        raise AttributeError(name)
    from protloc.training import loop

    try:
        return getattr(loop, name)
    except AttributeError:
        raise AttributeError(f"module 'protloc.training' has no attribute {name!r}") from None
