"""The features a network takes beyond its tokens, added to examples in one place for training, evaluation, fusion
fitting and prediction: the sequence profile (:data:`protloc.data.features.PROFILE`, ``(length, 20)``, computed by
MMseqs2
or read from its cache) and the organism group (:data:`protloc.data.features.KINGDOM`, ``(4,)`` one-hot)."""
from __future__ import annotations

import sys
from typing import Collection, Sequence

from protloc.data import kingdoms
from protloc.data.datasets.spec import Example
from protloc.data.features import KINGDOM, PROFILE
from protloc.evidence import profiles
from protloc.models.run_config import RunConfig


def with_network_inputs(examples: Sequence[Example], names: Collection[str],
                        profile_search: profiles.ProfileSearch | None = None,
                        kingdom: str | None = None) -> list[Example]:
    """``examples`` with each feature in ``names`` (a network's input names) that is computed rather than read:

    - :data:`PROFILE`: from ``profile_search`` (a ``ValueError`` when it is None);
    - :data:`KINGDOM`: ``kingdom`` for every protein where given, else each example's own (a data set's; all zeros,
      "not given", where it has none).

    Other names (tokens, a data set's own per-residue inputs) are the examples' already.
    """
    examples = list(examples)
    if PROFILE in names:
        if profile_search is None:
            raise ValueError("a profile network's examples need a profile_search")
        examples = profiles.with_profiles(examples, profile_search)
    if KINGDOM in names:
        examples = kingdoms.with_kingdoms(examples, kingdom)
    return examples


def run_input_names(config: RunConfig) -> list[str]:
    """The computed inputs of a run's network (:data:`PROFILE`, :data:`KINGDOM`), from its resolved settings."""
    return [name for name, wanted in ((PROFILE, config.hparams["profile"]), (KINGDOM, config.hparams["kingdom"]))
            if wanted]


def with_run_inputs(config: RunConfig, examples: Sequence[Example]) -> list[Example]:
    """:func:`with_network_inputs` for a run's network on data-set examples (each with its own kingdom), profiles
    from the run's database, with a line on stderr counting cached and computed profiles."""
    search = profiles.ProfileSearch(profiles.ProfileDatabase(config.profile_db)) if config.profile_db else None
    found = with_network_inputs(examples, run_input_names(config), search)
    if search is not None:
        print(f"profiles of {len(found)} proteins: {len(found) - search.searched} from the cache, {search.searched} "
              f"computed", file=sys.stderr)
    return found
