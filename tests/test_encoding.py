"""Feature tables of protloc.data.encoding: known cells, symmetry, scaling and ambiguity rows."""
import numpy as np
import pytest

from protloc.data import encoding
from protloc.data.sequences import STANDARD_RESIDUES, tokenize

W, C = STANDARD_RESIDUES.index("W"), STANDARD_RESIDUES.index("C")


def test_blosum80_known_cells_and_symmetry():
    matrix = encoding.blosum80_matrix()
    assert matrix.shape == (20, 20)
    assert matrix[W, W] == 16
    assert matrix[STANDARD_RESIDUES.index("A"), STANDARD_RESIDUES.index("R")] == -3  # 1/3-bit units
    np.testing.assert_array_equal(matrix, matrix.T)


def test_hsdm_known_cells_and_symmetry():
    matrix = encoding.hsdm_matrix()
    assert matrix.shape == (20, 20)
    assert matrix[C, C] == pytest.approx(19.05)
    assert matrix[W, STANDARD_RESIDUES.index("P")] == pytest.approx(-11.46)
    np.testing.assert_array_equal(matrix, matrix.T)


def test_default_table_layout_padding_row_and_onehot_block():
    table = encoding.feature_table()
    assert table.shape == (25, 60) and table.dtype == np.float32
    np.testing.assert_array_equal(table[0], 0)
    np.testing.assert_array_equal(table[1:21, :20], np.eye(20))


def test_substitution_blocks_are_standardised_to_unit_scale():
    table = encoding.feature_table()
    for block in (table[1:21, 20:40], table[1:21, 40:60]):
        assert block.mean() == pytest.approx(0, abs=1e-6)
        assert block.std() == pytest.approx(1, abs=1e-5)
    hsdm = encoding.hsdm_matrix()
    assert table[1 + C, 40 + C] == pytest.approx((19.05 - hsdm.mean()) / hsdm.std(), rel=1e-6)


def test_ambiguity_rows_are_means_of_their_residues():
    table = encoding.feature_table()
    b, d, n = tokenize("BDN")
    np.testing.assert_allclose(table[b], (table[d] + table[n]) / 2, rtol=1e-6)
    x = tokenize("X")[0]
    np.testing.assert_allclose(table[x], table[1:21].mean(0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(table[x, :20], 0.05)


def test_block_selection_and_order():
    table = encoding.feature_table(("hsdm", "onehot"))
    assert table.shape == (25, 40)
    np.testing.assert_array_equal(table[1:21, 20:], np.eye(20))


@pytest.mark.parametrize("blocks, message", [((), "at least one"), (("pssm",), "unknown"),
                                             (("onehot", "onehot"), "repeat")])
def test_bad_block_selection_is_a_clear_error(blocks, message):
    with pytest.raises(ValueError, match=message):
        encoding.feature_table(blocks)
