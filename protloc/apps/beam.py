"""``protloc predict`` as an Apache Beam pipeline, for inputs past one machine (Dataflow, Flink, Spark, or local
processes with the DirectRunner / PrismRunner).

    python -m protloc.beam --input 'proteomes/*.fasta.gz' --output out/predictions [--model PRESET]
        [--no-homology] [--skip-invalid] [Beam pipeline options, e.g. --runner DataflowRunner ...]

Steps: match the input glob; read each (optionally gzipped) FASTA file record by record; check every record
(:func:`protloc.data.sequences.check_record`) — a bad record fails the run naming its file and record, or with
``--skip-invalid`` goes to the dead-letter output ``OUTPUT-invalid-*.tsv`` (file, record, reason); batch the
good ones and run them through Beam's ``RunInference`` with :class:`ProtlocModelHandler`, which loads the preset
(:class:`protloc.prediction.predictor.Localizer`: network, homology reference, fusion) once per worker and predicts
each batch
(the network, and the MMseqs2 search and fusion of the batch); write TSV shards ``OUTPUT-*.tsv`` whose header
and rows are exactly ``protloc predict``'s (rows in no particular order across shards). When stderr is a terminal,
each worker shows a progress line there (proteins, rate and, on local runners, time left).
"""
from __future__ import annotations

import argparse
import glob
import logging
import os
import pathlib
import shutil
import sys
from typing import Iterable, Sequence

from protloc.data import sequences
from protloc.data.features import KINGDOMS
from protloc.prediction import presets


class _WithoutApitoolsNotice(logging.Filter):
    """Drops the warning Beam logs at import where Google's apitools (BigQuery only) is not installed: protloc reads
    and writes files, and the notice is noise on every run."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("apitools not found")


logging.getLogger().addFilter(_WithoutApitoolsNotice())

import apache_beam as beam  # noqa: E402  (after the filter above)
from apache_beam.io import fileio
from apache_beam.ml.inference.base import ModelHandler, PredictionResult, RunInference
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions

INVALID = "invalid"
"""Tag of the dead-letter output."""
DEAD_LETTER_HEADER = "file\trecord\treason"


class ProtlocModelHandler(ModelHandler):
    """RunInference handler: a protloc predictor (:class:`protloc.prediction.predictor.Localizer`) per worker, a batch
    of
    :class:`protloc.data.sequences.ProteinRecord` in, one ``protloc predict`` row (str) per record out.

    Args:
        model_name: as ``protloc predict --model``: a shipped preset's name, a preset or run directory, or a
            ``.keras`` file (readable by every worker).
        homology: use the preset's homology evidence as ``protloc predict`` does.
        reference: labelled FASTA to search instead of the shipped reference.
        fusion_file: fusion parameters JSON.
        profile_db: a profile model's database (default: its run directory's).
        min_batch_size, max_batch_size: records per inference batch (each batch is one MMseqs2 search).
        threads: CPU threads each worker uses (TensorFlow's concurrent ops, network batches in flight, MMseqs2's
            threads); None: every core of the machine, as ``protloc predict``. With several workers on one machine,
            1 each makes them share the cores instead of contending for all of them.
        kingdom: the organism group of every protein, for a model trained with the kingdom input.
        expected: records a worker expects to predict, for its progress line's time left (None: unknown). Each
            worker shows a progress line on its stderr when that is a terminal (:func:`protloc.utils.progress.counter`).
    """

    def __init__(self, model_name: str = presets.DEFAULT, homology: bool = True, reference: str | None = None,
                 fusion_file: str | None = None, profile_db: Sequence[str] | None = None, min_batch_size: int = 64,
                 max_batch_size: int = 2048, threads: int | None = None, kingdom: str | None = None,
                 expected: int | None = None):
        super().__init__()
        if threads is not None and threads < 1:
            raise ValueError(f"--worker-threads must be at least 1, got {threads}")
        self.model_name, self.homology, self.profile_db = model_name, homology, profile_db
        self.reference, self.fusion_file, self.threads = reference, fusion_file, threads
        self.batch_sizes = {"min_batch_size": min_batch_size, "max_batch_size": max_batch_size}
        self.kingdom, self.expected, self.line = kingdom, expected, None

    def load_model(self):
        from protloc.utils import runtime

        runtime.select_backend()
        runtime.quiet_tensorflow()
        runtime.run_branches_in_parallel(self.threads)
        from protloc.prediction.predictor import Localizer

        return Localizer.from_preset(self.model_name, homology_evidence=self.homology, reference=self.reference,
                                     fusion=self.fusion_file, profile_db=self.profile_db, workers=self.threads,
                                     threads=self.threads, kingdom=self.kingdom)

    def run_inference(self, batch: Sequence[sequences.ProteinRecord], model, inference_args=None
                      ) -> Iterable[PredictionResult]:
        from protloc.prediction import table
        from protloc.utils import progress

        if self.line is None:  # in the worker: one line per worker process
            self.line = progress.counter(f"protloc.apps.beam worker {os.getpid()}", "proteins", self.expected)
        model.chunk_size = max(1, len(batch))
        layout = table.Layout.of(model)
        for record, prediction in zip(batch, model.predict(batch)):
            yield PredictionResult(record, table.format_row(prediction, layout))
        self.line.update(len(batch))

    def __getstate__(self):  # the progress line stays with the process that drew it
        return {**self.__dict__, "line": None}

    def batch_elements_kwargs(self):
        return self.batch_sizes

    def share_model_across_processes(self) -> bool:
        return False


def count_records(pattern: str) -> int:
    """Records in the FASTA files matching ``pattern`` (plain or gzipped), on any Beam file system."""
    from apache_beam.io.filesystem import CompressionTypes
    from apache_beam.io.filesystems import FileSystems

    count = 0
    for found in FileSystems.match([pattern])[0].metadata_list:
        with FileSystems.open(found.path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
            count += sum(1 for _ in sequences.read_fasta(raw, validate=False, name=found.path))
    return count


def read_records(readable: fileio.ReadableFile) -> Iterable[sequences.ProteinRecord]:
    """Every record of one matched FASTA file (plain or gzipped, told apart by content), unchecked."""
    from apache_beam.io.filesystem import CompressionTypes

    with readable.open(compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        yield from sequences.read_fasta(raw, validate=False, name=readable.metadata.path)


class CheckRecords(beam.DoFn):
    """Passes good records on; a bad one raises :class:`protloc.data.sequences.SequenceError` naming it, or with
    ``skip_invalid`` goes to the ``INVALID`` output as ``file<TAB>record<TAB>reason``."""

    def __init__(self, skip_invalid: bool):
        self.skip_invalid = skip_invalid

    def process(self, element):
        path, record = element
        try:
            sequences.check_record(record, path)
        except sequences.SequenceError as error:
            if not self.skip_invalid:
                raise
            name = record.id or f"record #{record.index + 1}"
            yield beam.pvalue.TaggedOutput(INVALID, f"{path}\t{name}\t{error.problem}")
            return
        yield record


def build(pipeline: beam.Pipeline, pattern: str, output: str, handler: ProtlocModelHandler, table_header: str,
          skip_invalid: bool = False) -> None:
    """Adds the prediction steps (module docstring) to ``pipeline``."""
    records = (pipeline
               | "Match" >> fileio.MatchFiles(pattern)
               | "Open" >> fileio.ReadMatches()
               | "Read" >> beam.FlatMap(lambda f: ((f.metadata.path, r) for r in read_records(f)))
               | "Spread" >> beam.Reshuffle()
               | "Check" >> beam.ParDo(CheckRecords(skip_invalid)).with_outputs(INVALID, main="good"))
    (records.good
     | "Predict" >> RunInference(handler)
     | "Rows" >> beam.Map(lambda result: result.inference)
     | "Write" >> beam.io.WriteToText(output, file_name_suffix=".tsv", header=table_header))
    if skip_invalid:
        (records[INVALID]
         | "WriteInvalid" >> beam.io.WriteToText(f"{output}-{INVALID}", file_name_suffix=".tsv",
                                                  header=DEAD_LETTER_HEADER))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m protloc.beam", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="glob of FASTA files (.gz read as gzip)")
    parser.add_argument("--output", required=True, help="prefix of the TSV shards (PREFIX-00000-of-0000N.tsv)")
    parser.add_argument("--model", default=presets.DEFAULT,
                        help="as protloc predict's --model (default: %(default)s)")
    parser.add_argument("--no-homology", action="store_true", help="the network alone")
    parser.add_argument("--reference", help="labelled FASTA to search instead of the shipped reference")
    parser.add_argument("--fusion", help="fusion parameters JSON")
    parser.add_argument("--profile-db", nargs="+", metavar="PATH",
                        help="profile models: their profile database (default: the run's own), readable by every worker")
    parser.add_argument("--skip-invalid", action="store_true",
                        help="send bad records to PREFIX-invalid-*.tsv instead of failing the run")
    parser.add_argument("--verbose", action="store_true", help="keep Beam's own logs, tracebacks included")
    parser.add_argument("--worker-threads", type=int, metavar="N",
                        help="CPU threads per worker (default: all cores; 1 when several workers share a machine)")
    parser.add_argument("--kingdom", choices=KINGDOMS,
                        help="the organism group of every protein: its absent locations get 0 (no plastid in "
                             "Metazoa or Fungi), and a kingdom model reads it")
    parser.add_argument("--max-batch-size", type=int, default=2048,
                        help="records per inference batch, one MMseqs2 search each (default: 2048)")
    args, beam_args = parser.parse_known_args(argv)
    from apache_beam.io.filesystems import FileSystems

    if not FileSystems.match([args.input])[0].metadata_list:
        print(f"protloc.apps.beam: error: --input {args.input} matches no file", file=sys.stderr)
        return 2
    from protloc.utils import runtime

    runtime.select_backend()
    if not args.verbose:  # TensorFlow's start-up lines, and a failing worker's traceback logged by Beam
        runtime.quiet_tensorflow()
        logging.getLogger().setLevel(logging.ERROR)  # Beam's start-up notes go to the root logger
        logging.getLogger("apache_beam").setLevel(logging.CRITICAL)
        if not any(arg.startswith("--default_sdk_harness_log_level") for arg in beam_args):
            beam_args = [*beam_args, "--default_sdk_harness_log_level=ERROR"]  # worker processes' logs
    from protloc.prediction import table

    options = PipelineOptions(beam_args)
    expected = None
    if sys.stderr.isatty() and options.view_as(StandardOptions).runner in (None, "DirectRunner", "PrismRunner"):
        # the progress lines' time left: each local worker's share of the records (0 workers: one per core)
        workers = options.view_as(DirectOptions).direct_num_workers or os.cpu_count() or 1
        expected = -(-count_records(args.input) // workers)
    handler = ProtlocModelHandler(args.model, not args.no_homology, args.reference, args.fusion, args.profile_db,
                                  max_batch_size=args.max_batch_size, threads=args.worker_threads,
                                  kingdom=args.kingdom, expected=expected)
    output_directory, prefix = pathlib.Path(args.output).parent, pathlib.Path(args.output).name
    before = set(output_directory.glob(f"beam-temp-{glob.escape(prefix)}*"))
    try:  # loaded here once so that a bad model, reference or fusion file fails before any worker starts
        loaded = handler.load_model()
        table_header = "\t".join(table.header(table.Layout.of(loaded)))
        with beam.Pipeline(options=options) as pipeline:
            build(pipeline, args.input, args.output, handler, table_header, args.skip_invalid)
    except Exception as error:  # noqa: BLE001  (a worker's failure comes back as whatever Beam re-raises)
        lines = str(error).strip().splitlines() or [type(error).__name__]
        print(f"protloc.apps.beam: error: {lines[-1] if len(lines) > 1 and 'Traceback' in lines[0] else lines[0]}",
              file=sys.stderr)
        # what this run left half-written: its own temporary folders (named after its output), not another run's
        for partial in set(output_directory.glob(f"beam-temp-{glob.escape(prefix)}*")) - before:
            shutil.rmtree(partial, ignore_errors=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
