"""The networks: the zoo registry (zoo: families, heads, ensembles, loading), layers/ (one concept per file),
hyper-parameters, training recipes, losses, a run's resolved configuration (run_config) and the forward pass over
examples (inference).

May import: protloc.data, protloc.utils.

The registry's names are available here too (``protloc.models.build_model``), imported on first use so that
``protloc.models.hyperparameters`` and ``protloc.models.recipes`` stay free of Keras.
"""
import pkgutil

_SUBMODULES = {module.name for module in pkgutil.iter_modules(__path__)}


def __getattr__(name):
    if name.startswith("__") or name in _SUBMODULES:  # dunders, and submodules the import system loads itself
        raise AttributeError(name)
    from protloc.models import zoo

    try:
        return getattr(zoo, name)
    except AttributeError:
        raise AttributeError(f"module 'protloc.models' has no attribute {name!r}") from None
