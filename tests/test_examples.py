"""Every script under examples/ runs, on a tiny budget."""
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from protloc.apps.cli import main
from protloc.prediction import presets
from tests.helpers import REPO, toy_spec

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

TOY = toy_spec(f"{__name__}:TOY", n_per_class=8)


def load_example(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_with_model_fit_from_tfds(multiloc_tfds_dir, tmp_path, capsys):
    out = tmp_path / "rlstm.keras"
    accuracy = load_example("train_with_model_fit").main(
        ["--epochs", "1", "--limit", "96", "--data-dir", str(multiloc_tfds_dir), "--out", str(out)])
    assert 0 <= accuracy <= 1 and out.exists()
    assert capsys.readouterr().out.splitlines()[-1] == (f"test accuracy {accuracy:.3f} on 96 proteins; "
                                                         f"model saved to {out}")


@pytest.mark.parametrize("homology", [True, False])
def test_predict_in_python_prints_the_locations_the_cli_calls(capsys, homology, tmp_path):
    rows = load_example("predict_in_python").main([str(presets.EXAMPLES), *([] if homology else ["--no-homology"])])
    printed = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == len(printed) == 11 and printed[0][0] == "Q10061"
    assert {line[4] for line in printed} <= ({"network", "homology", "both"} if homology else {"network"})
    # the multi-label default: the locations the CLI writes, every one of them (Q03168: two)
    out = tmp_path / "cli.tsv"
    assert main(["predict", str(presets.EXAMPLES), "-o", str(out), *([] if homology else ["--no-homology"])]) == 0
    cli_rows = [line.split("\t") for line in out.read_text().splitlines()]
    column = cli_rows[0].index("locations")
    assert [line[1] for line in printed] == [row[column] for row in cli_rows[1:]]
    assert all(line[3].startswith("membrane ") for line in printed)


def test_tune_with_keras_tuner(tmp_path, capsys):
    best = load_example("tune_with_keras_tuner").main(["--max-trials", "1", "--epochs", "1", "--dataset", TOY.name,
                                                       "--out", str(tmp_path)])
    assert json.loads((tmp_path / "best_hparams.json").read_text()) == best
    assert best["model"] in ("rlstm", "alstm") and "learning_rate" in best


def test_tune_with_keras_tuner_on_the_real_data_with_a_tiny_budget(multiloc_dir, tmp_path):
    """As the example's docstring shows it: --data-dir and --limit, one trial of one epoch, in a fresh process."""
    result = subprocess.run([sys.executable, str(REPO / "examples" / "tune_with_keras_tuner.py"), "--max-trials", "1",
                             "--epochs", "1", "--limit", "30", "--data-dir", str(multiloc_dir), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=1800, cwd=REPO,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr[-2000:]
    best = json.loads((tmp_path / "best_hparams.json").read_text())
    assert best["model"] in ("rlstm", "alstm") and f"--config {tmp_path / 'best_hparams.json'}" in result.stdout


def test_tune_with_keras_tuner_without_data_says_where_in_one_line(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "PROTLOC_DATA_DIR"}
    code = ("import sys, runpy\nsys.argv = sys.argv[1:]\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "finally:\n    print('imported:', ','.join(n for n in ('keras', 'tensorflow', 'keras_tuner') "
            "if n in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(REPO / "examples" / "tune_with_keras_tuner.py"),
                             "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, env={**environment, "PYTHONPATH": str(REPO)}, cwd=tmp_path)
    assert result.returncode == 2 and result.stdout.strip() == "imported:"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and "nowhere" in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_the_example_fasta_the_readme_names_is_the_packaged_one():
    readme = (REPO / "examples" / "README.md").read_text()
    assert "protloc predict examples/proteins.fasta" in readme and "protloc/prediction/presets/examples.fasta" in readme
    assert (REPO / "examples" / "proteins.fasta").read_bytes() == presets.EXAMPLES.read_bytes()
