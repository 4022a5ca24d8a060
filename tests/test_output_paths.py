"""What an output path is decides how it is written: regular files atomically (through a symbolic link, which stays
one), devices, FIFOs and process substitutions written through and never replaced, an output that is the input
refused; explanation files named uniquely and safely whatever the identifiers."""
import os
import pathlib
import stat
import subprocess
import sys
import threading

import pytest

from protloc.prediction import explain, presets
from protloc.utils import files

REPO = pathlib.Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow
HEADER = "id\tlength\tprediction\tconfidence\tflags"


@pytest.fixture
def environment(tmp_path):
    return {**os.environ, "PROTLOC_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}


def predict(*argv, env, **options):
    return subprocess.run([sys.executable, "-m", "protloc.apps.cli", "predict", str(presets.EXAMPLES), "--model",
                           "multiloc", "--no-homology", *map(str, argv)], capture_output=True, text=True, env=env,
                          **options)


def test_output_kinds():
    assert files.output_kind("/dev/null") == "stream" and files.output_kind("/nonexistent/x") == "file"
    assert files.output_kind(REPO / "README.md") == "file"


def test_a_symbolic_link_as_output_writes_its_target_and_stays_a_link(tmp_path, environment):
    target, link = tmp_path / "real.tsv", tmp_path / "link.tsv"
    target.write_text("old\n")
    link.symlink_to(target)
    assert predict("-o", link, env=environment).returncode == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith(HEADER) and len(target.read_text().splitlines()) == 12


@pytest.mark.skipif(not os.access("/dev/null", os.W_OK), reason="needs a writable /dev/null")
def test_dev_null_and_dev_stdout_are_written_through_and_stay_devices(environment):
    before = os.stat("/dev/null")
    result = predict("-o", "/dev/null", env=environment)
    assert result.returncode == 0 and stat.S_ISCHR(os.stat("/dev/null").st_mode), result.stderr
    assert os.stat("/dev/null").st_rdev == before.st_rdev
    result = predict("-o", "/dev/stdout", env=environment)
    assert result.returncode == 0 and result.stdout.startswith(HEADER) and len(result.stdout.splitlines()) == 12


def test_a_fifo_with_a_reader_receives_the_table_and_stays_a_fifo(tmp_path, environment):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    result = predict("-o", fifo, env=environment, timeout=600)
    reader.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and received[0].startswith(HEADER)


def test_process_substitution_is_written_through(tmp_path, environment):
    out = tmp_path / "through-cat.tsv"
    command = (f"{sys.executable} -m protloc.apps.cli predict {presets.EXAMPLES} --model multiloc --no-homology "
               f"-o >(cat > {out})")
    result = subprocess.run(["bash", "-c", command + "; wait"], capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    for _ in range(100):  # the substituted process may finish just after bash
        if out.exists() and len(out.read_text().splitlines()) == 12:
            break
        threading.Event().wait(0.1)
    assert out.read_text().startswith(HEADER) and len(out.read_text().splitlines()) == 12


def test_an_output_that_is_the_input_by_any_name_is_refused(tmp_path, environment):
    fasta = tmp_path / "in.fasta"
    fasta.write_text(presets.EXAMPLES.read_text())
    (tmp_path / "alias.fasta").symlink_to(fasta)
    for output in (fasta, tmp_path / "alias.fasta", tmp_path / "." / "in.fasta"):
        result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "predict", str(fasta), "-o", str(output)],
                                capture_output=True, text=True, env=environment)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and "is the input" in lines[0], result.stderr
    assert fasta.read_text() == presets.EXAMPLES.read_text()


def test_explanation_file_names_are_unique_safe_and_short():
    long = "sp|" + "Q" * 300
    stems = explain.file_stems(["a/b", "a_b", "A_B", "", "..hidden", long, "a/b", "caf\u00e9"])
    assert len(set(stem.lower() for stem in stems)) == len(stems)
    assert stems[:3] == ["a_b", "a_b-2", "A_B-3"] and stems[3] == "record4" and stems[4] == "hidden"
    assert all(len(stem) <= explain.STEM_LENGTH + 4 and stem.isascii() and "/" not in stem for stem in stems)


def test_explain_writes_one_track_per_protein_even_when_identifiers_collide(tmp_path, environment):
    sequence = "MKVLAAGIVALLLAAGCSSSKEETPAMKVLAAGIVALLLAAG"
    fasta = tmp_path / "colliding.fasta"
    fasta.write_text(f">a/b\n{sequence}\n>a_b\n{sequence}\n>{'x' * 400}\n{sequence}\n")
    out = tmp_path / "tracks"
    result = subprocess.run([sys.executable, "-m", "protloc.apps.cli", "predict", str(fasta), "--model", "multiloc",
                             "--no-homology", "--explain", str(out), "-o", str(tmp_path / "t.tsv")],
                            capture_output=True, text=True, env=environment)
    assert result.returncode == 0, result.stderr
    assert "3 occlusion tracks" in result.stderr
    assert len(list(out.glob("*.csv"))) == 3 and len(list(out.glob("*.png"))) == 3
