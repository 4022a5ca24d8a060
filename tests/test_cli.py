"""The protloc command itself: help without TensorFlow, defaults in help, quiet logs, one-line errors."""
import subprocess
import sys

import pytest

HELP_WITHOUT_BACKEND = """
import sys
from protloc.apps import cli
for argv in ([], {commands}):
    try:
        cli.main([*argv, "--help"])
    except SystemExit as stop:
        assert stop.code == 0
heavy = sorted(name for name in ("keras", "tensorflow", "jax") if name in sys.modules)
print("imported:", ",".join(heavy))
"""
COMMANDS = ["train", "evaluate", "predict", "preset", "fuse", "serve", "export", "plot"]


def run_protloc(*argv, **kwargs):
    return subprocess.run([sys.executable, "-m", "protloc.apps.cli", *argv], capture_output=True, text=True, **kwargs)


@pytest.mark.slow
def test_help_of_every_command_imports_no_keras_tensorflow_or_jax():
    code = HELP_WITHOUT_BACKEND.format(commands=", ".join(f"[{c!r}]" for c in COMMANDS))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "imported:"


BAD_INPUT_WITHOUT_BACKEND = """
import sys
from protloc.apps import cli
print("exit", cli.main(sys.argv[1:]))
heavy = sorted(name for name in ("keras", "tensorflow", "jax") if name in sys.modules)
print("imported:", ",".join(heavy))
"""


@pytest.mark.slow
@pytest.mark.parametrize("case", ["missing", "directory", "same as output"])
def test_a_bad_input_file_is_refused_before_keras_or_tensorflow_is_imported(case, tmp_path):
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">P1\nMKV\n")
    argv = {"missing": [str(tmp_path / "missing.fasta")], "directory": [str(tmp_path)],
            "same as output": [str(fasta), "-o", str(fasta)]}[case]
    result = subprocess.run([sys.executable, "-c", BAD_INPUT_WITHOUT_BACKEND, "predict", *argv],
                            capture_output=True, text=True)
    assert [line.strip() for line in result.stdout.splitlines()] == ["exit 2", "imported:"], result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("protloc predict: error: ") and str(tmp_path) in lines[0]
    assert fasta.read_text() == ">P1\nMKV\n"


@pytest.mark.slow
def test_the_tuning_search_answers_help_and_bad_arguments_without_keras_or_tensorflow():
    code = ("import sys\nfrom tuning import search\nfor argv in (['--help'], ['--out', 'x', '--tuner', 'nope']):\n"
            "    try:\n        search.main(argv)\n    except SystemExit as stop:\n        print('exit', stop.code)\n"
            "print('imported:', ','.join(sorted(n for n in ('keras', 'tensorflow', 'jax', 'keras_tuner') "
            "if n in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert [line.strip() for line in result.stdout.splitlines()[-3:]] == ["exit 0", "exit 2", "imported:"], result.stderr


def test_help_shows_defaults_and_plain_text():
    top = run_protloc("--help", check=True).stdout
    assert "``" not in top and "COMMAND" in top and "--verbose" in top
    train = " ".join(run_protloc("train", "--help", check=True).stdout.split())
    assert "(default: 0)" in train  # --seed
    assert "epochs (default: the recipe's, see --recipe)" in train
    assert "dropout rate of every layer (default 0.5)" in train
    predict = " ".join(run_protloc("predict", "--help", check=True).stdout.split())
    assert "proteins per network batch (default: 32)" in predict


@pytest.mark.parametrize("verbose", [False, True])
def test_an_error_is_one_line_on_stderr_and_tensorflow_logs_only_with_verbose(tmp_path, verbose):
    missing = tmp_path / "missing.fasta"
    result = run_protloc(*(["--verbose"] if verbose else []), "predict", str(missing), "--no-homology")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("protloc predict: error: ") and str(missing) in lines[-1]
    if not verbose:
        assert len(lines) == 1, result.stderr


@pytest.mark.slow
def test_a_truncated_model_file_is_named_as_not_loadable(tmp_path):
    from protloc.models import zoo

    whole = tmp_path / "whole.keras"
    zoo.build_model("rlstm", ["a", "b"], lstm_units=4, dense_units=4).save(whole)
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole.read_bytes()[:2000])
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">P1\nMKVLA\n")
    result = run_protloc("predict", str(fasta), "--model", str(cut))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().startswith(f"protloc predict: error: {cut} is not a loadable Keras model")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_plot_without_the_data_names_protloc_data_dir_at_once(tmp_path):
    import os

    environment = {k: v for k, v in os.environ.items() if k != "PROTLOC_DATA_DIR"}
    result = run_protloc("plot", "confusion", "pretrained", "--out", str(tmp_path), env=environment, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "set PROTLOC_DATA_DIR (or pass --data-dir)" in lines[0], result.stderr


@pytest.mark.slow
def test_predict_shows_a_progress_line_on_a_terminal_and_is_silent_otherwise(tmp_path):
    import os
    import pty

    fasta = tmp_path / "in.fasta"
    fasta.write_text(">P1\nMKVLAAGIVALLLAAG\n>P2\nMSTNPKPQRKTKRNT\n")
    command = [sys.executable, "-m", "protloc.apps.cli", "predict", str(fasta), "--no-homology", "-o",
               str(tmp_path / "out.tsv")]
    plain = subprocess.run(command, capture_output=True, text=True)
    assert plain.returncode == 0 and plain.stderr.strip().splitlines() == ["2 predictions written to " +
                                                                          str(tmp_path / "out.tsv")]
    import fcntl
    import struct
    import termios

    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a terminal 100 columns wide
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the process is done
            break
        if not chunk:
            break
        shown += chunk
    process.wait(timeout=120)
    os.close(controller)
    text = shown.decode(errors="replace")
    assert process.returncode == 0 and "protloc predict: " in text and " proteins" in text, text
