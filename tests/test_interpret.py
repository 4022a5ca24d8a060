"""protloc.prediction.interpret: effective PSSMs against brute force, figure files and sizes, terminus alignment."""
import numpy as np
import pytest
from keras import ops
from PIL import Image

from protloc.apps.cli import main
from protloc.data import datasets, encoding, pipeline
from protloc.models import zoo
from protloc.prediction import interpret
from protloc.training import evaluation
from tests.helpers import motif_task

pytestmark = pytest.mark.slow  # subprocesses or the real data: the full suite, not `make test-fast`

NAMES = [f"class{i}" for i in range(11)]

SMALL = dict(lstm_units=4, dense_units=4, attention_units=4, conv_filters=[2, 2, 0, 0, 0, 3])


@pytest.fixture(scope="module")
def alstm():
    return zoo.build_model("alstm", NAMES, **SMALL)


def batches():
    tokens, labels = motif_task(n_per_class=8, seed=2)
    labels = np.array(labels) * 3  # spread over the 11 compartments
    return pipeline.BucketedBatches([datasets.Example(str(i), {"tokens": t}, int(y), 0)
                                     for i, (t, y) in enumerate(zip(tokens, labels))], 8)


def test_effective_pssm_equals_the_conv_on_one_residue_inputs(alstm):
    table = encoding.feature_table()
    pssms = interpret.effective_pssms(alstm)
    assert [(w, k) for w, k, _ in pssms] == [(1, 0), (1, 1), (3, 0), (3, 1), (21, 0), (21, 1), (21, 2)]
    convolutions = {c.kernel_size[0]: c for c in alstm.get_layer("conv_bank").convolutions}
    for width, k, matrix in pssms:
        assert matrix.shape == (20, width)
        kernel = convolutions[width].kernel
        for a in range(20):
            for j in range(width):
                x = np.zeros((1, width, table.shape[1]), dtype=np.float32)
                x[0, j] = table[1 + a]
                response = np.asarray(ops.conv(x, kernel, padding="same"))[0, width // 2, k]
                assert matrix[a, j] == pytest.approx(response, abs=1e-5)


def test_logo_heights_are_non_negative_with_tallest_column_one():
    heights = interpret.logo_heights(np.random.default_rng(0).normal(size=(20, 5)))
    assert heights.min() >= 0 and heights.sum(axis=0).max() == pytest.approx(1)


def test_align_termini_puts_n_terminus_left_and_c_terminus_right():
    alpha = np.arange(1, 8, dtype=np.float32)  # 7 residues: 4 from the N-terminus, 3 to the C-terminus
    row = interpret.align_termini(alpha, 7, width=12)
    np.testing.assert_array_equal(row, [1, 2, 3, 4, 0, 0, 0, 0, 0, 5, 6, 7])
    full = interpret.align_termini(np.ones(1000), 1000)
    assert full.min() == 1
    with pytest.raises(ValueError, match="does not fit"):
        interpret.align_termini(alpha, 7, width=5)


def png_size(path):
    with Image.open(path) as image:
        return image.size


def test_figures_are_written_with_the_expected_size(alstm, tmp_path):
    paths = interpret.plot_filters(alstm, tmp_path, batches=batches(), top=3)
    assert [p.name for p in paths] == ["filters_width_1.png", "filters_width_3.png", "filters_width_21.png",
                                       "filters_top.png"]
    assert png_size(paths[2]) == (round(0.35 * 21 * 3 * interpret.DPI), round(2.6 * interpret.DPI))
    with Image.open(paths[2]) as image:  # a palette of at most 256 colours
        assert image.mode == "P" and len(image.getcolors(256)) <= interpret.PNG_COLOURS
    features, labels, alphas = interpret.representations(alstm, batches())
    assert features.shape == (24, 8) and len(alphas) == 24
    path, matrix = interpret.plot_attention(alphas, labels, zoo.class_names_of(alstm), tmp_path)
    assert png_size(path) == (1000, 800) and matrix.shape == (24, 1000)
    order = np.argsort(labels, kind="stable")
    first = alphas[order[0]]
    head = len(first) - len(first) // 2
    np.testing.assert_allclose(matrix[0, :head], first[:head])
    np.testing.assert_allclose(matrix[0, 1000 - len(first) // 2:], first[head:])
    assert png_size(interpret.plot_tsne(features, labels, zoo.class_names_of(alstm), tmp_path)) == (800, 700)
    report = evaluation.classification_report(labels, labels, zoo.class_names_of(alstm))
    for fmt in ("svg", "pdf"):
        assert interpret.plot_confusion(report, tmp_path, fmt).stat().st_size > 1000


def test_plot_cli_on_multiloc(multiloc_dir, tmp_path, capsys):
    rlstm = tmp_path / "rlstm.keras"
    zoo.build_model("rlstm", datasets.get("multiloc").class_names, **SMALL).save(rlstm)
    assert main(["plot", "confusion", str(rlstm), "--out", str(tmp_path / "fig"),
                 "--data-dir", str(multiloc_dir)]) == 0
    assert png_size(tmp_path / "fig" / "confusion.png") == (800, 700)
    assert main(["plot", "attention", str(rlstm), "--data-dir", str(multiloc_dir)]) == 2
    assert "needs an A-LSTM model" in capsys.readouterr().err
    assert main(["plot", "filters", "multiloc-ensemble", "--data-dir", str(multiloc_dir)]) == 2
    assert "is an ensemble of" in capsys.readouterr().err


def test_terminal_attention_measures_the_share_at_each_end():
    on_n_terminus = np.r_[np.full(50, 0.8 / 50), np.full(150, 0.2 / 150)]   # 200 residues, 80% on the first 50
    uniform = np.full(100, 0.01)
    short = np.full(20, 0.05)                                                # shorter than the window
    table = interpret.terminal_attention([on_n_terminus, uniform, short], [0, 1, 1], ["a", "b", "c"])
    rows = [line.split(" | ") for line in table.splitlines()[2:]]
    assert [row[0] for row in rows] == ["| a", "| b"]                        # class c has no protein
    assert rows[0][1:4] == ["1", "0.800", "0.067"] and rows[0][4] == "0.250 |"
    assert rows[1][1:4] == ["2", "0.750", "0.750"] and rows[1][4] == "0.750 |"
