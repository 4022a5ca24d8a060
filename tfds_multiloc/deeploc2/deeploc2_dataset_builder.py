"""DeepLoc 2.0's data (28,303 Swiss-Prot proteins, one or more of 10 locations, membrane flag, kingdom, five
homology partitions) as a TFDS builder.

Sources, in order of precedence:
  1. the directory named by the ``PROTLOC_DEEPLOC2_DIR`` environment variable;
  2. the manual directory (``tfds build ... --manual_dir DIR`` or ``download_config``), if it holds the files;
  3. the pinned raw files of bivekpok/esm_deeploc on GitHub (checksums in ``checksums.tsv``).
Local files (``partition{0..4}.csv``, or gzipped ``.csv.gz``) are checked against the same SHA-256 sums as
downloads (of the uncompressed content). Rows are read and checked by :mod:`protloc.data.datasets.deeploc2`, so a model
sees the same proteins whichever way it reads them.

One split, ``train``: the data set's protocol is cross-validation over the five partitions (``fold``); hold one out
with ``split="train"`` and a filter on ``fold``, or use ``protloc train --dataset deeploc2 --fold K``.

Sorting signals (:mod:`protloc.data.datasets.deeploc2_signals`), where ``PROTLOC_DEEPLOC2_SIGNALS_DIR`` names the
directory of ``signals.csv.gz`` (there is no pinned download of it): ``signal_types`` (multi-hot over the nine types)
and ``signal_residues`` (one code per token), both -1 for a protein without signal labels (and the residues -1 for
the 129 proteins with types only).
"""
from __future__ import annotations

from os import environ  # only the environment: builders read files through epath

import numpy as np
import tensorflow_datasets.public_api as tfds
from etils import epath

from protloc.data import sequences
from protloc.data.datasets import deeploc2_signals
from protloc.data.datasets.deeploc2 import (CLASS_NAMES, DATA_DIR_VARIABLE, KINGDOMS, LOCATIONS, NUM_PARTITIONS,
                                            SOURCE_URL, parse_rows, partition_text)
from tfds_multiloc import reachable

MAX_LENGTH = sequences.DEFAULT_MAX_LENGTH


def check_source_reachable(url: str = SOURCE_URL) -> None:
    """Stops an offline build at once, naming the local alternatives (:mod:`tfds_multiloc.reachable`)."""
    reachable.check_source_reachable(url, (
        f"set {DATA_DIR_VARIABLE} to a directory holding partition0.csv .. partition{NUM_PARTITIONS - 1}.csv (or "
        f".csv.gz), or put them in the manual directory (`tfds build --manual_dir DIR`)"), "DeepLoc 2.0")


def local_examples(directory) -> list:
    """The examples of the five partition files in ``directory``, each checked against its pinned SHA-256."""
    found = []
    for k in range(NUM_PARTITIONS):
        path, text = partition_text(directory, k)
        found += parse_rows(text, k, str(path))
    return found


class Builder(tfds.core.GeneratorBasedBuilder):
    """DeepLoc 2.0: proteins labelled with one or more of 10 subcellular locations and membrane association."""

    VERSION = tfds.core.Version("1.1.0")
    RELEASE_NOTES = {"1.0.0": "The five homology partitions of DeepLoc 2.0 as one train split with a fold feature.",
                     "1.1.0": "Sorting signals per protein and per residue (-1 where not labelled)."}
    MANUAL_DOWNLOAD_INSTRUCTIONS = f"""
    Optional. Place partition0.csv .. partition{NUM_PARTITIONS - 1}.csv (plain or gzipped, .csv.gz) in the manual
    directory, or point the {DATA_DIR_VARIABLE} environment variable at their directory. Without either, the files
    are downloaded from {SOURCE_URL.format(fold="K")} (K = partition + 1).
    """

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            features=tfds.features.FeaturesDict({
                "accession": tfds.features.Text(),
                "sequence": tfds.features.Text(doc=f"residues after middle truncation to {MAX_LENGTH}"),
                "length": tfds.features.Scalar(np.int32, doc="original sequence length"),
                "tokens": tfds.features.Tensor(shape=(None,), dtype=np.int32,
                                               doc="protloc.data.sequences tokens of `sequence`"),
                "locations": tfds.features.Tensor(shape=(len(CLASS_NAMES),), dtype=np.int32, doc=(
                    "multi-hot, one column per location: " + ", ".join(CLASS_NAMES) + " (DeepLoc 2.0's "
                    + ", ".join(LOCATIONS) + ")")),
                "membrane": tfds.features.Scalar(np.float32, doc="1.0 for a membrane-associated protein, else 0.0"),
                "kingdom": tfds.features.ClassLabel(names=KINGDOMS),
                "fold": tfds.features.Scalar(np.int32, doc="homology partition 0-4 (at most 30% identity between)"),
                "signal_types": tfds.features.Tensor(
                    shape=(len(deeploc2_signals.SIGNAL_TYPES),), dtype=np.int32,
                    doc="multi-hot sorting signals: " + ", ".join(deeploc2_signals.SIGNAL_TYPES) + "; -1 if unlabelled"),
                "signal_residues": tfds.features.Tensor(shape=(None,), dtype=np.int32, doc=(
                    "per token, its signal: 0 none, k the k-th signal type; -1 where not labelled")),
            }),
            supervised_keys=("tokens", "locations"),
            homepage="https://services.healthtech.dtu.dk/services/DeepLoc-2.0/",
        )

    def _split_generators(self, dl_manager: tfds.download.DownloadManager):
        examples = self._read(dl_manager)
        signals = deeploc2_signals.data_directory()
        if signals is not None:
            examples = deeploc2_signals.attach(examples, deeploc2_signals.read_signals(signals))
        return {"train": self._generate_examples(examples)}

    def _read(self, dl_manager) -> list:
        """The examples of every partition, from the local files or the downloads."""
        if environ.get(DATA_DIR_VARIABLE):
            return local_examples(epath.Path(environ[DATA_DIR_VARIABLE]))
        try:
            return local_examples(dl_manager.manual_dir)
        except (AssertionError, FileNotFoundError):  # no manual directory, or not the DeepLoc 2.0 files there
            pass
        check_source_reachable()
        paths = dl_manager.download({k: SOURCE_URL.format(fold=k + 1) for k in range(NUM_PARTITIONS)})
        return [example for k in range(NUM_PARTITIONS)
                for example in parse_rows(epath.Path(paths[k]).read_text(), k, str(paths[k]))]

    def _generate_examples(self, examples):
        for example in examples:
            locations = np.zeros(len(CLASS_NAMES), dtype=np.int32)
            locations[list(example.label)] = 1
            tokens = example.features["tokens"]
            types = np.full(len(deeploc2_signals.SIGNAL_TYPES), -1, np.int32)
            residues = np.full(len(tokens), -1, np.int32)
            if example.signals is not None:
                types = example.signals.multi_hot().astype(np.int32)
                if example.signals.residues is not None:
                    residues = np.asarray(example.signals.residues, np.int32)
            yield example.id, {
                "accession": example.id,
                "sequence": sequences.truncate_middle(example.sequence, MAX_LENGTH),
                "length": len(example.sequence),
                "tokens": tokens,
                "locations": locations,
                "membrane": example.membrane,
                "kingdom": example.kingdom,
                "fold": example.fold,
                "signal_types": types,
                "signal_residues": residues,
            }
