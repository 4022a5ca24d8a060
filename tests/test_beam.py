"""python -m protloc.beam: sharded, gzipped FASTA through the Beam pipeline on two local worker processes gives
protloc predict's rows; bad records go to the dead-letter output or fail the run naming them."""
import gzip
import io
import os
import pickle
import sys

import pytest

from protloc.apps import beam
from protloc.apps.cli import main as protloc_main
from protloc.data import sequences
from protloc.prediction import presets, table

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

WORKERS = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


def write_shards(directory, bad=False):
    records = list(sequences.read_fasta(presets.EXAMPLES))
    text = lambda chosen: "".join(f">{r.description}\n{r.sequence}\n" for r in chosen)  # noqa: E731
    (directory / "a.fasta").write_text(text(records[:4]))
    with gzip.open(directory / "b.fasta.gz", "wt") as handle:
        handle.write(text(records[4:8]))
    (directory / "c.fasta").write_text(text(records[8:]) + (">bad1 broken\nMK1LA\n" if bad else ""))
    return records


def rows_of(paths):
    """The header (the same in every shard) and every shard's rows, sorted."""
    shards = [[line.split("\t") for line in path.read_text().splitlines()] for path in sorted(paths)]
    assert shards and all(shard[0] == shards[0][0] for shard in shards)
    return shards[0][0], sorted(row for shard in shards for row in shard[1:])


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    directory = tmp_path_factory.mktemp("shards")
    write_shards(directory, bad=True)
    return directory


def test_two_workers_give_protloc_predicts_rows_and_a_dead_letter_for_the_bad_record(inputs, tmp_path):
    out = tmp_path / "out" / "pred"
    assert beam.main(["--input", str(inputs / "*.fasta*"), "--output", str(out), "--skip-invalid", "--worker-threads",
                      "1", *WORKERS]) == 0
    header, rows = rows_of(out.parent.glob("pred-0*.tsv"))
    whole = tmp_path / "whole.fasta"
    whole.write_text("".join(f">{r.description}\n{r.sequence}\n" for r in sequences.read_fasta(presets.EXAMPLES)))
    assert protloc_main(["predict", str(whole), "-o", str(tmp_path / "direct.tsv")]) == 0
    direct_header, direct = rows_of([tmp_path / "direct.tsv"])
    assert header == direct_header and "neighbour" in header and len(rows) == len(direct) == 11
    assert table.same_rows(rows, direct)  # both sorted
    dead = (out.parent / "pred-invalid-00000-of-00001.tsv").read_text().splitlines()
    assert dead[0] == "file\trecord\treason"
    assert dead[1:] == [f"{inputs / 'c.fasta'}\tbad1\tinvalid character '1' (allowed: the 20 standard residues, "
                        f"B Z J X U O, any case, one trailing '*')"]


def test_a_bad_record_without_skip_invalid_fails_the_run_naming_it(inputs, tmp_path, capsys):
    out = tmp_path / "out" / "pred"
    assert beam.main(["--input", str(inputs / "*.fasta*"), "--output", str(out), "--no-homology"]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"protloc.apps.beam: error: {inputs / 'c.fasta'}, record 'bad1', position 3: invalid character")
    assert not list(out.parent.glob("pred*")) and not list(out.parent.glob("beam-temp-*"))


def test_a_failing_run_leaves_another_runs_temporary_folders_alone(inputs, tmp_path, capsys):
    out = tmp_path / "out" / "pred"
    other = [out.parent / "beam-temp-other-1234", out.parent / "beam-temp-pred-earlier"]
    for folder in other:
        folder.mkdir(parents=True)
        (folder / "part").write_text("another run's work\n")
    assert beam.main(["--input", str(inputs / "*.fasta*"), "--output", str(out), "--no-homology"]) == 2
    assert all((folder / "part").read_text() == "another run's work\n" for folder in other)
    assert sorted(out.parent.iterdir()) == sorted(other)


def test_an_input_that_matches_nothing_is_refused_and_no_apitools_notice(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "protloc.apps.beam", "--input", str(tmp_path / "missing" / "*.fasta"),
                             "--output", str(tmp_path / "out"), "--no-homology"], capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.strip() == (
        f"protloc.apps.beam: error: --input {tmp_path / 'missing' / '*.fasta'} matches no file")
    assert not list(tmp_path.iterdir())


def test_a_missing_model_fails_before_the_pipeline_starts(inputs, tmp_path, capsys):
    assert beam.main(["--input", str(inputs / "*.fasta*"), "--output", str(tmp_path / "p"),
                      "--model", str(tmp_path / "none.keras")]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("protloc.apps.beam: error: no preset called ")


def test_importing_the_module_changes_no_logging():
    import subprocess
    import sys

    code = ("import logging; before = (logging.getLogger().level, logging.getLogger('apache_beam').level); "
            "import protloc.apps.beam; print(before == (logging.getLogger().level, logging.getLogger('apache_beam').level))")
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert finished.returncode == 0 and finished.stdout.strip() == "True"


def test_the_worker_threads_option_limits_each_workers_network_batches_and_mmseqs2():
    localizer = beam.ProtlocModelHandler("pretrained", threads=1).load_model()
    assert localizer.forward.workers == 1 and localizer.search.threads == 1
    assert beam.ProtlocModelHandler("pretrained").load_model().search.threads is None  # MMseqs2's own: every core
    with pytest.raises(ValueError, match="--worker-threads must be at least 1"):
        beam.ProtlocModelHandler("pretrained", threads=0)


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize("terminal", [True, False])
def test_each_worker_shows_a_progress_line_on_a_terminal_only(inputs, monkeypatch, terminal):
    assert beam.count_records(str(inputs / "*.fasta*")) == 12  # the 11 examples and the bad record
    stderr = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    handler = beam.ProtlocModelHandler("multiloc", homology=False, threads=1, expected=11)
    records = list(sequences.read_fasta(presets.EXAMPLES))
    localizer = handler.load_model()
    rows = [result.inference for batch in (records[:6], records[6:])
            for result in handler.run_inference(batch, localizer)]
    assert len(rows) == 11
    shown = stderr.getvalue()
    if terminal:
        last = shown.split("\r")[-1]
        assert f"protloc.apps.beam worker {os.getpid()}" in last and "11/11" in last and "proteins" in last
    else:
        assert shown == ""
    assert pickle.loads(pickle.dumps(handler)).line is None  # a worker draws its own line


def test_the_kingdom_option_reaches_the_predictor_and_masks_absent_locations(inputs, tmp_path):
    assert beam.ProtlocModelHandler("multiloc", kingdom="Fungi").kingdom == "Fungi"
    assert beam.main(["--input", str(inputs / "a.fasta"), "--output", str(tmp_path / "out"), "--model", "multiloc",
                      "--kingdom", "Fungi", "--no-homology"]) == 0
    header, rows = rows_of(tmp_path.glob("out-0*.tsv"))
    assert rows and all(float(row[header.index("chloroplast")]) == 0 for row in rows)
