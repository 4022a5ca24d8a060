"""The predictor: a preset loaded (network, inputs, evidence, fusion), the one way to turn sequences into results.

    localizer = Localizer.from_preset("pretrained")          # or a run directory, a preset directory
    for prediction in localizer.predict(sequences.read_fasta("proteins.fasta")):
        print(prediction.id, localizer.class_names[prediction.probabilities.argmax()], prediction.evidence)

Records are read in chunks (memory does not grow with the input); each chunk is checked, its proteins' inputs
computed (tokens; profiles for a profile model), run through the network by :class:`protloc.inference.Forward`
and, with homology evidence, searched against the preset's labelled reference by MMseqs2 (in a second thread, while
the network runs) and fused (:mod:`protloc.fusion`). Predictions come out in input order. The CLI, Beam, the demo,
the examples and the web page all predict through this class.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import Callable, Iterable, Iterator

import numpy as np

from protloc import fusion as fusion_rule
from protloc import homology, inference, input_flags, models, preset, presets, profiles, sequences
from protloc.datasets import SINGLE_LABEL, Example
from protloc.features import PROFILE, TOKENS
from protloc.recipes import DEFAULT_BATCH_SIZE

DEFAULT_CHUNK_SIZE = 4096
"""Records held in memory at once: the unit within which proteins are sorted by length and searched together."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One protein's result.

    Attributes:
        id: the record identifier.
        length: input length in residues (before truncation).
        probabilities: float32 ``(num_classes,)``: the final probabilities (fused with homology where it was
            used).
        network: float32 ``(num_classes,)``: the network's own probabilities.
        attention: alpha over the residues the network saw (after truncation), or None.
        neighbour: the closest reference protein (best bit score), or None (no hit, or no homology search).
        evidence: ``both``, ``homology`` or ``network`` (see :func:`protloc.fusion.evidence`); None without a
            homology search.
        flags: reasons to trust the prediction less (names from :data:`protloc.input_flags.FLAGS`).
    """

    id: str
    length: int
    probabilities: np.ndarray
    network: np.ndarray
    attention: np.ndarray | None = None
    neighbour: homology.Hit | None = None
    evidence: str | None = None
    flags: tuple[str, ...] = ()


class Localizer:
    """Predicts where proteins live with one preset (use :meth:`from_preset`).

    Args:
        network: the Keras network (its inputs: ``tokens`` and, for a profile model, ``profile``).
        card: the preset's card (class names, label scheme, inputs, provenance).
        search: the homology search of the preset's reference, or None for the network alone.
        fusion: the fusion rule fitted for this network (needed with ``search``).
        profile_search: where a profile model's profiles come from (needed by profile models).
        attention: also return each protein's attention (attention models only).
        batch_size: proteins per network batch.
        chunk_size: records read ahead and processed together.
        workers: network batches run at once (default: one per usable core).
    """

    def __init__(self, network, card: dict, search: homology.HomologySearch | None = None,
                 fusion: fusion_rule.Fusion | None = None, profile_search: profiles.ProfileSearch | None = None,
                 attention: bool = False, batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK_SIZE,
                 workers: int | None = None):
        if (search is None) != (fusion is None):
            raise ValueError("homology evidence needs both a reference search and a fusion rule")
        if chunk_size < 1:
            raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
        self.card, self.search, self.fusion, self.chunk_size = card, search, fusion, int(chunk_size)
        self.class_names = models.class_names_of(network)
        if search is not None and list(search.reference.class_names) != self.class_names:
            raise ValueError(f"the reference set's classes ({', '.join(search.reference.class_names)}) are not the "
                             f"network's ({', '.join(self.class_names)})")
        names = models.input_names(network)
        extra = [name for name in names if name not in (TOKENS, PROFILE)]
        if extra:
            raise ValueError(f"the network also needs the per-residue input(s) {', '.join(extra)}, which cannot be "
                             f"computed from sequences here")
        if PROFILE in names and profile_search is None:
            raise ValueError("the network takes sequence profiles: give the profile database it was trained with "
                             "(--profile-db)")
        self.profile_search = profile_search if PROFILE in names else None
        if attention:
            network, has_attention = models.with_attention_output(network)
            if not has_attention:
                raise ValueError("the network has no attention layer: attention needs an A-LSTM")
        self.network, self.attention = network, attention
        self.forward = inference.Forward(network, batch_size, workers)

    @classmethod
    def from_preset(cls, name_or_path=presets.DEFAULT, *, homology_evidence: bool = True, reference=None,
                    fusion=None, profile_db=None, attention: bool = False, batch_size: int = DEFAULT_BATCH_SIZE,
                    chunk_size: int = DEFAULT_CHUNK_SIZE, workers: int | None = None, cache_dir=None,
                    threads: int | None = None) -> "Localizer":
        """Loads a preset (a shipped name, a preset or run directory, a ``.keras`` file) with its evidence.

        Args:
            name_or_path: see :func:`protloc.preset.load`.
            homology_evidence: use the preset's reference and fusion (False: the network alone).
            reference: labelled FASTA to search instead of the preset's reference (its fusion is kept).
            fusion: a fusion file instead of the preset's (needed with ``reference`` for a preset without one).
            profile_db: a profile model's database instead of the one its card names.
            attention, batch_size, chunk_size, workers: see the class.
            cache_dir: where MMseqs2 databases and profiles are cached (default: the runtime's cache directory).
            threads: MMseqs2 threads (default: all cores).

        Raises:
            protloc.preset.PresetError: no preset there, an invalid card, or a card that disagrees with its network.
            ValueError: evidence options that do not fit the preset (the message names the option to give).
        """
        found = preset.load(name_or_path)
        network = models.load_model(found.file("model"))
        card = _card_of(found, network)
        search = rule = None
        if homology_evidence:
            fusion_path = fusion or found.file("fusion")
            reference_path = reference or found.file("reference")
            if reference is not None and fusion_path is None:
                raise ValueError(f"--reference: {found.name} has no fusion fitted for it (fusion.json); give --fusion "
                                 f"with weights fitted for this network (protloc fuse), or predict without --reference")
            if fusion is not None and reference_path is None:
                raise ValueError(f"--fusion: {found.name} has no labelled reference to fuse with; give --reference")
            if fusion_path is not None and reference_path is not None:
                rule = fusion_rule.Fusion.load(fusion_path)
                search = homology.HomologySearch(homology.ReferenceSet.read(reference_path, card["class_names"]),
                                                 cache_dir=cache_dir, threads=threads)
        profile_search = None
        if PROFILE in card["inputs"]:
            database = profile_db or found.profile_db
            if not database:
                raise ValueError(f"{found.name} is a profile model: give --profile-db (the database it was trained "
                                 f"with)")
            profile_search = profiles.ProfileSearch(profiles.ProfileDatabase(database, cache_dir), cache_dir=cache_dir,
                                                    threads=threads)
        elif profile_db:
            raise ValueError(f"--profile-db: {found.name} takes no sequence profiles")
        return cls(network, card, search, rule, profile_search, attention, batch_size, chunk_size, workers)

    @property
    def label_scheme(self) -> str:
        return self.card["label_scheme"]

    @property
    def uses_homology(self) -> bool:
        """Whether predictions carry homology evidence (a reference search and its fusion)."""
        return self.search is not None

    def predict(self, records: Iterable[sequences.ProteinRecord], source: str | None = None,
                on_invalid: Callable[[sequences.SequenceError], None] | None = None) -> Iterator[Prediction]:
        """Predicts every record, yielding results in input order.

        Args:
            records: e.g. ``sequences.read_fasta(path, validate=False)``.
            source: file name for error messages.
            on_invalid: called with the error of each bad record, which is then left out; None raises it.

        Raises:
            protloc.sequences.SequenceError: a bad record, when ``on_invalid`` is None.
            protloc.homology.HomologyError, protloc.profiles.ProfileError: MMseqs2 is missing or failed.
        """
        pool = concurrent.futures.ThreadPoolExecutor(self.forward.workers)
        searcher = concurrent.futures.ThreadPoolExecutor(1) if self.search else None
        try:
            chunk: list[tuple[sequences.ProteinRecord, np.ndarray]] = []
            for record in records:
                try:
                    chunk.append((record, sequences.check_record(record, source)))
                except sequences.SequenceError as error:
                    if on_invalid is None:
                        raise
                    on_invalid(error)
                    continue
                if len(chunk) == self.chunk_size:
                    yield from self._chunk(chunk, pool, searcher)
                    chunk = []
            yield from self._chunk(chunk, pool, searcher)
        finally:  # stopped early (an error, a signal, a consumer that quit): drop the work not yet started
            for executor in (pool, searcher):
                if executor is not None:
                    executor.shutdown(wait=True, cancel_futures=True)

    def _chunk(self, chunk, pool, searcher) -> Iterator[Prediction]:
        if not chunk:
            return
        residues = [record.sequence.rstrip("*").upper() for record, _ in chunk]
        examples = [Example(record.id, {TOKENS: tokens}, None, 0, sequence)
                    for (record, tokens), sequence in zip(chunk, residues)]
        final, network, attention, hits, calls = self._outputs(examples, pool, searcher)
        for index, (example, sequence) in enumerate(zip(examples, residues)):
            yield Prediction(example.id, len(sequence), final[index], network[index],
                             attention[index] if attention is not None else None,
                             hits[index][0] if hits is not None and hits[index] else None,
                             calls[index] if calls is not None else None, input_flags.flags_of(sequence))

    def _outputs(self, examples: list[Example], pool=None, searcher=None, exclude=None):
        """``(final (n, k), network (n, k), attention or None, hits or None, evidence calls or None)`` of examples
        that carry tokens and their whole ``sequence``."""
        searching = None
        if self.search is not None:
            work = (self.search.search, [e.sequence for e in examples], exclude)
            searching = searcher.submit(*work) if searcher is not None else None
        if self.profile_search is not None:
            examples = profiles.with_profiles(examples, self.profile_search)
        outputs = self.forward(examples, pool)
        network = outputs[inference.MAIN_OUTPUT]
        attention = outputs.get("attention")
        if self.search is None:
            return network, network, attention, None, None
        hits = searching.result() if searching is not None else work[0](*work[1:])
        evidence = homology.class_evidence(hits, len(self.class_names))
        final, scores = self.fusion.apply(network, evidence)
        return final, network, attention, hits, fusion_rule.evidence(network, scores, final, evidence.has_hit)

    def predict_examples(self, examples: list[Example], exclude=None) -> tuple[np.ndarray, np.ndarray]:
        """Final and network probabilities, each ``(n, classes)``, of data set examples (carrying tokens and, for
        homology, their whole ``sequence``), in their order; ``exclude``: per example, a reference index its
        search must not report (leave-one-out), or None."""
        final, network, *_ = self._outputs(list(examples), exclude=exclude)
        return final, network


def _card_of(found: preset.Preset, network) -> dict:
    """The preset's card, checked against its network (a bare ``.keras`` file's card is the network's own)."""
    names, inputs = models.class_names_of(network), models.input_names(network)
    if found.card.get("bare"):
        return {**found.card, "class_names": names, "inputs": inputs, "label_scheme": SINGLE_LABEL,
                "members": models.member_count(network)}
    if found.class_names != names:
        raise preset.PresetError(f"{found.name}: the card's class names ({', '.join(found.class_names)}) are not the "
                                 f"network's ({', '.join(names)})")
    if sorted(found.inputs) != sorted(inputs):
        raise preset.PresetError(f"{found.name}: the card's inputs ({', '.join(found.inputs)}) are not the network's "
                                 f"({', '.join(inputs)})")
    return found.card
