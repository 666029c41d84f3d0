"""Step 2's near-balanced subset (Sect. 3.2.2 of Lin et al. 2022)."""

import numpy as np
import pytest

from photoz_debias.debias.balance import balanced_subset, downsample
from photoz_debias.debias.steps import select_subset
from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows, RedshiftGrid


def _cells(n=5000, seed=0):
    rng = np.random.default_rng(seed)
    # heavily imbalanced: most galaxies in a few cells
    z_bin = np.minimum(rng.geometric(0.15, n) - 1, 29)
    mag_row = np.minimum(rng.geometric(0.4, n) - 1, 10)
    return z_bin, mag_row


def test_cells_capped_and_small_cells_kept_whole():
    z_bin, mag_row = _cells()
    th = 20
    idx = balanced_subset(z_bin, mag_row, th, np.random.default_rng(1))
    assert np.all(np.diff(idx) > 0)
    cell = z_bin * 11 + mag_row
    full = np.bincount(cell, minlength=330)
    kept = np.bincount(cell[idx], minlength=330)
    assert kept.max() <= th
    np.testing.assert_array_equal(kept, np.minimum(full, th))
    # every galaxy of a cell at or below the threshold is in the subset
    small = np.isin(cell, np.flatnonzero(full <= th))
    assert set(np.flatnonzero(small)) <= set(idx)
    assert (full > th).any() and (full <= th).any()


def test_hand_example():
    # cell (0,0): 3 galaxies, cell (1,0): 1, cell (0,1): 2; threshold 2
    z_bin = np.array([0, 0, 0, 1, 0, 0])
    mag_row = np.array([0, 0, 0, 0, 1, 1])
    idx = balanced_subset(z_bin, mag_row, 2, np.random.default_rng(0))
    assert len(idx) == 5
    assert {3, 4, 5} <= set(idx)
    assert len(set(idx) & {0, 1, 2}) == 2


def test_seeds_differ_and_repeat():
    z_bin, mag_row = _cells()
    a = balanced_subset(z_bin, mag_row, 20, np.random.default_rng(1))
    b = balanced_subset(z_bin, mag_row, 20, np.random.default_rng(2))
    c = balanced_subset(z_bin, mag_row, 20, np.random.default_rng(1))
    assert len(a) == len(b)
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_eligible_mask():
    z_bin, mag_row = _cells()
    eligible = np.arange(z_bin.size) % 3 == 0
    idx = balanced_subset(z_bin, mag_row, 20, np.random.default_rng(0), eligible)
    assert eligible[idx].all()
    cell = z_bin * 11 + mag_row
    full = np.bincount(cell[eligible], minlength=330)
    np.testing.assert_array_equal(np.bincount(cell[idx], minlength=330), np.minimum(full, 20))


def test_downsample():
    rng = np.random.default_rng(0)
    idx = np.arange(0, 1000, 2)
    d = downsample(idx, 100, rng)
    assert len(d) == 100 and len(np.unique(d)) == 100 and np.isin(d, idx).all()
    np.testing.assert_array_equal(downsample(idx, None, rng), idx)
    np.testing.assert_array_equal(downsample(idx, 10_000, rng), idx)


def test_bad_input():
    with pytest.raises(InputError, match="threshold"):
        balanced_subset(np.zeros(3, int), np.zeros(3, int), 0, np.random.default_rng(0))
    with pytest.raises(InputError, match="mag_row"):
        balanced_subset(np.zeros(3, int), np.zeros(2, int), 5, np.random.default_rng(0))
    with pytest.raises(InputError, match="z_bin"):
        balanced_subset(np.array([0, -1]), np.zeros(2, int), 5, np.random.default_rng(0))


def test_select_subset_table():
    grid = RedshiftGrid(0.0, 0.3, 30)
    rows = MagnitudeRows(12.5, 11)
    z_bin, mag_row = _cells()
    z = grid.centres[z_bin]
    ids = np.arange(z.size) + 1000
    df = select_subset(ids, z, mag_row, None, grid, rows, 20, 300, seed=3)
    assert list(df.columns) == ["id", "z_bin", "mag_row", "cell", "in_fit"]
    assert df["in_fit"].sum() == 300
    assert df.groupby("cell").size().max() <= 20
    np.testing.assert_array_equal(df["cell"], df["z_bin"] * 11 + df["mag_row"])
    # no balancing: the whole eligible set (Step 3\2), down-sampled
    df2 = select_subset(ids, z, mag_row, ids % 2 == 0, grid, rows, None, None, seed=3)
    assert len(df2) == (ids % 2 == 0).sum() and df2["in_fit"].all()


def test_cell_occupancy_by_hand():
    from photoz_debias.debias.balance import cell_occupancy

    # cells (0, 0) x3, (0, 1) x1, (2, 0) x5; threshold 2
    z_bin = np.array([0, 0, 0, 0, 2, 2, 2, 2, 2])
    mag_row = np.array([0, 0, 0, 1, 0, 0, 0, 0, 0])
    assert cell_occupancy(z_bin, mag_row, 2) == {"populated": 3, "fullest": 5, "capped": 2, "kept": 5}
    idx = balanced_subset(z_bin, mag_row, 2, np.random.default_rng(0))
    assert len(idx) == 5  # the subset has the size the occupancy says
    assert cell_occupancy(z_bin[:0], mag_row[:0], 2)["kept"] == 0
