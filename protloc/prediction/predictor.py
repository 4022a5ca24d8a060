"""The predictor: a preset loaded (network, inputs, evidence, fusion), the one way to turn sequences into results.

    localizer = Localizer.from_preset("multiloc-paper")      # or a run directory, a preset directory
    for prediction in localizer.predict(sequences.read_fasta("proteins.fasta")):
        print(prediction.id, localizer.class_names[prediction.probabilities.argmax()], prediction.evidence)

Records are read in chunks (memory does not grow with the input); each chunk is checked, its proteins' inputs
computed (tokens; profiles for a profile model), run through the network by :class:`protloc.models.inference.Forward`
and, with homology evidence, searched against the preset's labelled reference by MMseqs2 (in a second thread, while
the network runs) and fused (:mod:`protloc.evidence.fusion`). Predictions come out in input order. The CLI, Beam, the
demo,
the examples and the web page all predict through this class.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
from typing import Callable, Iterable, Iterator

import numpy as np

from protloc.data import input_flags, kingdoms, sequences, signal_regions
from protloc.data.datasets import MULTI_LABEL, Example
from protloc.data.features import KINGDOM, PROFILE, SIGNAL_TYPES, TOKENS
from protloc.evidence import (fusion as fusion_rule, homology, network_inputs, profiles,
                              thresholds as decision_thresholds)
from protloc.models import inference, zoo
from protloc.models.recipes import DEFAULT_BATCH_SIZE
from protloc.prediction import loading, presets

DEFAULT_CHUNK_SIZE = 4096
"""Records held in memory at once: the unit within which proteins are sorted by length and searched together."""


@dataclasses.dataclass(frozen=True)
class Prediction:
    """One protein's result.

    Attributes:
        id: the record identifier.
        length: input length in residues (before truncation).
        probabilities: float32 ``(num_classes,)``: the final probabilities (fused with homology where it was
            used): a distribution over the classes (single-label), or one probability per location (multi-label).
        network: float32 ``(num_classes,)``: the network's own probabilities.
        attention: alpha over the residues the network saw (after truncation), or None.
        neighbour: the closest reference protein (best bit score), or None (no hit, or no homology search).
        evidence: ``both``, ``homology`` or ``network`` (see :func:`protloc.evidence.fusion.evidence`; multi-label:
            ``homology`` when the hits changed the locations decided, ``both`` when they have hits and did not);
            None without a homology search.
        flags: reasons to trust the prediction less (names from :data:`protloc.data.input_flags.FLAGS`).
        locations: (multi-label) the class indices decided by the thresholds (at least one); else the most
            probable class alone.
        membrane: (multi-label with a membrane output) the probability of membrane association, else None.
        signals: (a network with a sorting-signal head) the signal types called (codes of
            :data:`protloc.data.features.SIGNAL_TYPES`, whose probability reaches :data:`SIGNAL_THRESHOLD`), else None.
        signal_regions: (with ``signals``) ``(type, first, last)`` per region of a called type, residues numbered
            from 1 in the input sequence (the head's most probable class per residue), else None.
    """

    id: str
    length: int
    probabilities: np.ndarray
    network: np.ndarray
    attention: np.ndarray | None = None
    neighbour: homology.Hit | None = None
    evidence: str | None = None
    flags: tuple[str, ...] = ()
    locations: tuple[int, ...] = ()
    membrane: float | None = None
    signals: tuple[str, ...] | None = None
    signal_regions: tuple[tuple[str, int, int], ...] | None = None


@dataclasses.dataclass(frozen=True)
class Outputs:
    """A batch of proteins' results as arrays (:meth:`Localizer.predict_examples`).

    Attributes:
        final: float32 ``(n, classes)``: the final probabilities (fused where homology was used).
        network: float32 ``(n, classes)``: the network's own.
        decided: bool ``(n, classes)``: the locations decided (multi-label thresholds; single-label: the most
            probable class).
        membrane: float32 ``(n,)`` membrane probabilities, or None.
        attention: per protein, alpha over its residues, or None.
        hits: per protein, its hits (best first), or None without homology.
        calls: per protein, its evidence call, or None without homology.
        signal_types: float32 ``(n, 9)`` signal-type probabilities, or None (no signal head).
        signal_residues: per protein, int ``(residues seen,)`` the most probable residue class, or None.
    """

    final: np.ndarray
    network: np.ndarray
    decided: np.ndarray
    membrane: np.ndarray | None = None
    attention: list | None = None
    hits: list | None = None
    calls: list | None = None
    signal_types: np.ndarray | None = None
    signal_residues: list | None = None


SIGNAL_THRESHOLD = 0.5
"""A signal type is called where its probability reaches this, unless the preset's thresholds.json holds thresholds
fitted per type on a held-out fold (``signal_types``: each type's largest MCC)."""


def signal_calls(types: np.ndarray, residues: np.ndarray, length: int, seen: int,
                 thresholds=SIGNAL_THRESHOLD) -> tuple[tuple, tuple]:
    """One protein's called signal types and their regions (see :class:`Prediction`) from the head's type
    probabilities ``(9,)`` (called at ``thresholds``: one number, or one per type) and per-residue classes over the
    ``seen`` residues the network read of ``length`` (the middle cut of a long protein: positions after the cut are
    mapped back onto the input)."""
    called = tuple(SIGNAL_TYPES[i] for i in np.flatnonzero(np.asarray(types) >= np.asarray(thresholds)))
    head = seen - seen // 2 if seen < length else seen
    mapped = [(name, *(i if i < head else i + length - seen for i in (first, last)))
              for name, first, last in signal_regions.regions(residues) if name in called]
    return called, tuple((name, first + 1, last + 1) for name, first, last in mapped)


class Localizer:
    """Predicts where proteins live with one preset (use :meth:`from_preset`).

    Args:
        network: the Keras network (its inputs: ``tokens`` and, for a profile model, ``profile``; for a kingdom
            model, ``kingdom``).
        card: the preset's card (class names, label scheme, inputs, provenance).
        search: the homology search of the preset's reference, or None for the network alone.
        fusion: the fusion rule fitted for this network (needed with ``search``;
        :class:`protloc.evidence.fusion.Fusion`,
            or :class:`protloc.evidence.fusion.MultiLabelFusion` for a multi-label network).
        profile_search: where a profile model's profiles come from (needed by profile models).
        thresholds: a multi-label network's decision thresholds by source (``network``, ``fused``; see
            :mod:`protloc.evidence.thresholds`); default 0.5 for every location.
        attention: also return each protein's attention (attention models only).
        batch_size: proteins per network batch.
        chunk_size: records read ahead and processed together.
        workers: network batches run at once (default: one per usable core).
        kingdom: the organism group of every protein (:data:`protloc.data.features.KINGDOMS`): a kingdom model's input,
            and for any network the locations that group has not (:data:`protloc.data.kingdoms.ABSENT_LOCATIONS`: no
            plastid in Metazoa or Fungi) get probability 0, before and after homology evidence; None: not given (a
            kingdom model then takes each data set example's own, and nothing for sequences read from FASTA).
    """

    def __init__(self, network, card: dict, search: homology.HomologySearch | None = None,
                 fusion=None, profile_search: profiles.ProfileSearch | None = None, attention: bool = False,
                 batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK_SIZE, workers: int | None = None,
                 thresholds: dict | None = None, kingdom: str | None = None):
        if (search is None) != (fusion is None):
            raise ValueError("homology evidence needs both a reference search and a fusion rule")
        if chunk_size < 1:
            raise ValueError(f"chunk size must be at least 1, got {chunk_size}")
        self.card, self.search, self.fusion, self.chunk_size = card, search, fusion, int(chunk_size)
        self.class_names = zoo.class_names_of(network)
        self.multi_label = zoo.label_scheme_of(network) == MULTI_LABEL
        if self.multi_label != isinstance(fusion, fusion_rule.MultiLabelFusion) and fusion is not None:
            raise ValueError("the fusion rule is not for this network's label scheme")
        default = {"network": np.full(len(self.class_names), 0.5)}
        self.thresholds = {**default, **(thresholds or {})} if self.multi_label else None
        if search is not None and list(search.reference.class_names) != self.class_names:
            raise ValueError(f"the reference set's classes ({', '.join(search.reference.class_names)}) are not the "
                             f"network's ({', '.join(self.class_names)})")
        names = zoo.input_names(network)
        extra = [name for name in names if name not in (TOKENS, PROFILE, KINGDOM)]
        if extra:
            raise ValueError(f"the network also needs the per-residue input(s) {', '.join(extra)}, which cannot be "
                             f"computed from sequences here")
        if PROFILE in names and profile_search is None:
            raise ValueError("the network takes sequence profiles: give the profile database it was trained with "
                             "(--profile-db)")
        self.input_names, self.profile_search = names, profile_search if PROFILE in names else None
        self.kingdom = kingdoms.check_kingdom(kingdom)
        self.absent = kingdoms.absent_mask(self.class_names, self.kingdom)
        if attention:
            network, has_attention = zoo.with_attention_output(network)
            if not has_attention:
                raise ValueError("the network has no attention layer: attention needs an A-LSTM")
        self.network, self.attention = network, attention
        self.forward = inference.Forward(network, batch_size, workers)

    @classmethod
    def from_preset(cls, name_or_path=presets.DEFAULT, *, homology_evidence: bool = True, reference=None,
                    fusion=None, profile_db=None, cache_dir=None, **options) -> "Localizer":
        """Loads a preset (a shipped name, a preset or run directory, a ``.keras`` file) with its evidence:
        :func:`protloc.prediction.loading.load` (which names the errors), then :meth:`from_loaded` with ``options``
        (``attention``, ``batch_size``, ``chunk_size``, ``workers``, ``threads``, ``kingdom``) and ``cache_dir``."""
        loaded = loading.load(name_or_path, homology_evidence=homology_evidence, reference=reference, fusion=fusion,
                              profile_db=profile_db, cache_dir=cache_dir)
        return cls.from_loaded(loaded, cache_dir=cache_dir, **options)

    @classmethod
    def from_loaded(cls, loaded: loading.LoadedPreset, *, attention: bool = False,
                    batch_size: int = DEFAULT_BATCH_SIZE, chunk_size: int = DEFAULT_CHUNK_SIZE,
                    workers: int | None = None, cache_dir=None, threads: int | None = None,
                    kingdom: str | None = None) -> "Localizer":
        """A predictor over a loaded preset: its reference searched and its profiles computed by MMseqs2.

        Args:
            loaded: from :func:`protloc.prediction.loading.load`.
            attention, batch_size, chunk_size, workers, kingdom: see the class.
            cache_dir: where MMseqs2 databases and profiles are cached (default: the runtime's cache directory).
            threads: MMseqs2 threads (default: all cores).
        """
        search = profile_search = None
        if loaded.reference is not None:
            search = homology.HomologySearch(loaded.reference, cache_dir=cache_dir, threads=threads)
        if loaded.profile_db is not None:
            profile_search = profiles.ProfileSearch(profiles.ProfileDatabase(loaded.profile_db, cache_dir),
                                                    cache_dir=cache_dir, threads=threads)
        return cls(loaded.network, loaded.card, search, loaded.fusion, profile_search, attention, batch_size,
                   chunk_size, workers, loaded.thresholds, kingdom)

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
            protloc.data.sequences.SequenceError: a bad record, when ``on_invalid`` is None.
            protloc.evidence.homology.HomologyError, protloc.evidence.profiles.ProfileError: MMseqs2 is missing or
            failed.
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
        found = self._outputs(examples, pool, searcher)
        for index, (example, sequence) in enumerate(zip(examples, residues)):
            signals = regions = None
            if found.signal_types is not None:
                signals, regions = signal_calls(found.signal_types[index], found.signal_residues[index],
                                                len(sequence), len(example.features[TOKENS]),
                                                self.thresholds.get(decision_thresholds.SIGNAL_TYPES_KEY,
                                                                    SIGNAL_THRESHOLD))
            yield Prediction(example.id, len(sequence), found.final[index], found.network[index],
                             found.attention[index] if found.attention is not None else None,
                             found.hits[index][0] if found.hits is not None and found.hits[index] else None,
                             found.calls[index] if found.calls is not None else None, input_flags.flags_of(sequence),
                             tuple(int(i) for i in np.flatnonzero(found.decided[index])),
                             float(found.membrane[index]) if found.membrane is not None else None, signals, regions)

    def _outputs(self, examples: list[Example], pool=None, searcher=None, exclude=None) -> Outputs:
        """The outputs of examples that carry tokens and their whole ``sequence``."""
        searching = None
        if self.search is not None:
            work = (self.search.search, [e.sequence for e in examples], exclude)
            searching = searcher.submit(*work) if searcher is not None else None
        examples = network_inputs.with_network_inputs(examples, self.input_names, self.profile_search, self.kingdom)
        outputs = self.forward(examples, pool)
        network = outputs[zoo.LOCATIONS_OUTPUT if self.multi_label else inference.MAIN_OUTPUT]
        membrane = outputs[zoo.MEMBRANE_OUTPUT][:, 0] if zoo.MEMBRANE_OUTPUT in outputs else None
        if not (np.all(np.isfinite(network)) and (membrane is None or np.all(np.isfinite(membrane)))):
            raise ValueError(f"the network gives non-finite probabilities (NaN or infinity) for "
                             f"{examples[0].id if examples else 'its input'} and others: its weights are not usable "
                             f"(a training that diverged?)")
        attention = outputs.get("attention")
        signals = {}
        if zoo.SIGNAL_TYPES_OUTPUT in outputs:
            signals = {"signal_types": outputs[zoo.SIGNAL_TYPES_OUTPUT],
                       "signal_residues": [row.argmax(-1) for row in outputs[zoo.SIGNAL_RESIDUES_OUTPUT]]}
        network = kingdoms.masked(network, self.absent, self.multi_label)
        decided = self.decide(network, "network")
        if self.search is None:
            return Outputs(network, network, decided, membrane, attention, **signals)
        hits = searching.result() if searching is not None else work[0](*work[1:])
        evidence = homology.class_evidence(hits, len(self.class_names))
        final, scores = self.fusion.apply(network, evidence)
        final = kingdoms.masked(final, self.absent, self.multi_label)
        if self.multi_label:
            fused = self.decide(final, "fused")
            changed = np.any(fused != decided, axis=1)
            calls = ["homology" if hit and change else "both" if hit else "network"
                     for hit, change in zip(evidence.has_hit, changed)]
            return Outputs(final, network, fused, membrane, attention, hits, calls, **signals)
        calls = fusion_rule.evidence(network, scores, final, evidence.has_hit)
        return Outputs(final, network, self.decide(final, "fused"), membrane, attention, hits, calls, **signals)

    def decide(self, probabilities: np.ndarray, source: str) -> np.ndarray:
        """bool ``(n, classes)``: the locations of each protein: for a multi-label network the thresholds fitted for
        ``source`` (``network`` or ``fused``; the network's where no fused ones were fitted); else the most
        probable class."""
        if not self.multi_label:
            return np.eye(len(self.class_names), dtype=bool)[np.argmax(probabilities, axis=1)]
        return decision_thresholds.decide(probabilities, self.thresholds.get(source, self.thresholds["network"]))

    def predict_examples(self, examples: list[Example], exclude=None) -> Outputs:
        """The outputs of data set examples (carrying tokens and, for homology, their whole ``sequence``), in their
        order; ``exclude``: per example, a reference index its search must not report (leave-one-out), or None."""
        return self._outputs(list(examples), exclude=exclude)
