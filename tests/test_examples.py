"""Every script under examples/ runs, on a tiny budget."""
import importlib.util
import json

import pytest

from protloc import presets
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
def test_predict_in_python(capsys, homology):
    rows = load_example("predict_in_python").main([str(presets.EXAMPLES), *([] if homology else ["--no-homology"])])
    printed = capsys.readouterr().out.splitlines()
    assert len(rows) == len(printed) == 11 and printed[0].startswith("Q10061\t")
    assert {line.split("\t")[3] for line in printed} <= ({"network", "homology", "both"} if homology else {"network"})


def test_tune_with_keras_tuner(tmp_path, capsys):
    best = load_example("tune_with_keras_tuner").main(["--max-trials", "1", "--epochs", "1", "--dataset", TOY.name,
                                                       "--out", str(tmp_path)])
    assert json.loads((tmp_path / "best_hparams.json").read_text()) == best
    assert best["model"] in ("rlstm", "alstm") and "learning_rate" in best
