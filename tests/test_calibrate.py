"""Step 4 calibration (Sect. 3.2.4) and the Figs. 9-10 sample variants (Sect. 4.3)."""

import numpy as np
import pytest

from photoz_debias.debias.calibrate import (
    biased_test_sample,
    calibrate_photo_z,
    deplete_training,
    resample_training,
    step4_shift,
)
from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid

# 0.01-wide z_photo cells (SDSS's zphoto_cell) made as the workflow makes them, on the edges of
# a grid whose bins are 0.01 wide, so that the cells are exactly [0, 0.01), ..., [0.39, 0.4)
ZC = RedshiftGrid(0.0, 0.4, 40).aligned_edges(0.01, 0.0, 0.4)
N_ROWS = 11  # SDSS: 11 magnitude rows


def _offset(cell, row):
    """A known bias per (z_photo cell, row), distinct in every cell."""
    return 0.001 * ((cell * 7 + row * 3) % 11 - 5)


def _sample(rng, n, rows):
    """z_photo uniform in the cells, z_spec = z_photo - known offset of its cell."""
    z_photo = rng.uniform(0.0, 0.4, n)
    row = rng.choice(rows, n)
    cell = np.searchsorted(ZC, z_photo, side="right") - 1
    return z_photo, z_photo - _offset(cell, row), row


def test_known_offset_per_cell_is_removed():
    rng = np.random.default_rng(0)
    rows = np.array([0, 5, 10])
    zp_tr, zs_tr, row_tr = _sample(rng, 20000, rows)
    zp_te, zs_te, row_te = _sample(rng, 3000, rows)
    corrected = calibrate_photo_z(
        zp_te, row_te, zp_tr, zs_tr, row_tr, ZC, ZC, n_resamplings=5, seed=1
    )
    # every training galaxy of a cell has the same residual, so the correction is exact
    np.testing.assert_allclose(corrected, zs_te, atol=1e-12)
    assert np.abs(zp_te - zs_te).max() > 0.004  # the test really was biased


def test_cell_edge_and_last_row_are_corrected():
    # the authors' helper skipped values exactly on a cell edge (strict inequalities) and
    # never corrected the last rows (row edges shifted by one); both must be corrected here
    edge = ZC[5]
    zp_tr = np.array([edge, edge + 0.004, edge, edge + 0.004, ZC[7]])
    zs_tr = zp_tr - np.array([0.003, 0.003, 0.002, 0.002, 0.0])
    row_tr = np.array([10, 10, 4, 4, 10])
    zp_te = np.array([edge, edge, ZC[7] + 0.001])
    row_te = np.array([10, 4, 10])
    shift = step4_shift(zp_te, row_te, zp_tr, zs_tr, row_tr, ZC, ZC, n_resamplings=3, seed=0)
    np.testing.assert_allclose(shift, [0.003, 0.002, 0.0], atol=1e-15)


def test_cells_without_training_or_outside_are_not_corrected():
    zp_tr = np.array([0.105, 0.106])
    zs_tr = np.array([0.100, 0.101])
    row_tr = np.array([2, 2])
    # row 3 has no training galaxy; 0.45 lies outside the cells [0, 0.4)
    zp_te = np.array([0.105, 0.105, 0.45])
    row_te = np.array([2, 3, 2])
    corrected = calibrate_photo_z(zp_te, row_te, zp_tr, zs_tr, row_tr, ZC, ZC, seed=0)
    np.testing.assert_allclose(corrected, [0.100, 0.105, 0.45])


def test_resampling_reproduces_the_target_histogram():
    rng = np.random.default_rng(3)
    z_bins = np.linspace(0.0, 0.4, 9)
    zs_tr = rng.uniform(0.0, 0.4, 400)
    row_tr = rng.integers(0, 3, 400)
    zp_te = rng.uniform(0.0, 0.4, 900)  # ~37 per cell against ~17 training: with replacement
    zp_te[:100] = 0.01  # one very full cell
    row_te = rng.integers(0, 3, 900)
    idx = resample_training(zp_te, row_te, zs_tr, row_tr, z_bins, np.random.default_rng(0))
    assert idx.size == zp_te.size

    def hist(z, row):
        return np.histogram2d(z, row, bins=[z_bins, np.arange(4) - 0.5])[0]

    np.testing.assert_array_equal(hist(zs_tr[idx], row_tr[idx]), hist(zp_te, row_te))
    # without replacement first: a cell asking for more than it has uses all its galaxies
    cell_tr = np.searchsorted(z_bins, zs_tr, side="right") - 1
    sel = (cell_tr == 0) & (row_tr == row_te[0])
    assert set(np.flatnonzero(sel)) <= set(idx)


def test_resampling_without_replacement_when_enough():
    zs_tr = np.linspace(0.0, 0.399, 200)
    row_tr = np.zeros(200, dtype=int)
    zp_te = np.full(10, 0.05)
    idx = resample_training(
        zp_te,
        np.zeros(10, dtype=int),
        zs_tr,
        row_tr,
        np.linspace(0, 0.4, 5),
        np.random.default_rng(0),
    )
    assert len(set(idx)) == 10 and np.all((zs_tr[idx] >= 0) & (zs_tr[idx] < 0.1))


def test_empty_bin_borrows_from_nearest_populated_bin_same_row():
    z_bins = np.linspace(0.0, 0.4, 9)  # 0.05 bins
    zs_tr = np.array([0.02, 0.27, 0.28, 0.17, 0.37])
    row_tr = np.array([1, 1, 1, 0, 1])
    # target bin 3 (0.15-0.2) of row 1 is empty; bin 5 (0.25-0.3) is nearer than bin 0
    # (row 0's galaxy at 0.17 must not be borrowed); target bin 6 of row 1: bins 5 and 7
    # are equidistant and pooled
    zp_te = np.array([0.16, 0.17, 0.31, 0.32, 0.33, 0.34])
    row_te = np.ones(6, dtype=int)
    idx = resample_training(zp_te, row_te, zs_tr, row_tr, z_bins, np.random.default_rng(0))
    assert sorted(idx[:2]) == [1, 2]
    assert set(idx[2:]) == {1, 2, 4}


def test_reproducible_with_seed():
    rng = np.random.default_rng(5)
    zs_tr = rng.uniform(0, 0.4, 3000)
    zp_tr = zs_tr + rng.normal(0, 0.02, 3000)
    row_tr = rng.integers(0, 11, 3000)
    zp_te = rng.uniform(0, 0.4, 2000)
    row_te = rng.integers(0, 11, 2000)
    args = (zp_te, row_te, zp_tr, zs_tr, row_tr, ZC, ZC)
    a = calibrate_photo_z(*args, seed=7)
    np.testing.assert_array_equal(a, calibrate_photo_z(*args, seed=7))
    assert not np.array_equal(a, calibrate_photo_z(*args, seed=8))


def test_bad_input_is_rejected():
    with pytest.raises(InputError, match="row_test"):
        step4_shift(
            np.zeros(3),
            np.zeros(2, dtype=int),
            np.zeros(3),
            np.zeros(3),
            np.zeros(3, dtype=int),
            ZC,
            ZC,
        )
    with pytest.raises(InputError, match="integer"):
        step4_shift(
            np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3), np.zeros(3, dtype=int), ZC, ZC
        )
    with pytest.raises(InputError, match="galaxy row 1"):
        step4_shift(
            np.array([0.1, np.nan]),
            np.zeros(2, dtype=int),
            np.zeros(3),
            np.zeros(3),
            np.zeros(3, dtype=int),
            ZC,
            ZC,
        )


def test_biased_test_sample():
    rng = np.random.default_rng(2)
    z = rng.uniform(0.0, 0.4, 20000)
    r = rng.uniform(14.0, 18.0, 20000)
    np.testing.assert_array_equal(biased_test_sample(z, r, "none"), np.arange(20000))
    idx = biased_test_sample(z, r, "zspec", seed=1)
    np.testing.assert_array_equal(idx, biased_test_sample(z, r, "zspec", seed=1))
    # kept fraction = mean Gaussian weight: sqrt(2 pi) 0.03 / 0.4 = 0.188 for a uniform z
    assert abs(idx.size / 20000 - 0.188) < 0.01
    assert abs(np.mean(z[idx]) - 0.12) < 0.003
    idx_r = biased_test_sample(z, r, "rmag", centre=17.5, width=0.5, seed=1)
    # r is cut at 18 = centre + 1 width: truncated-Gaussian mean 17.5 - 0.5 phi(1) / Phi(1) = 17.356
    assert abs(np.mean(r[idx_r]) - 17.356) < 0.02 and np.mean(r) < 16.5
    with pytest.raises(InputError):
        biased_test_sample(z, r, "colour")


def test_deplete_training():
    z = np.array([0.05, 0.08, 0.09, 0.1, 0.11, 0.115, 0.12, 0.13] + [0.1] * 12)
    keep = deplete_training(z, seed=0)
    inside = (z > 0.08) & (z < 0.12)  # 16 galaxies; 90% -> round(14.4) = 14 removed
    assert (~keep).sum() == 14 and np.all(keep[~inside])
    np.testing.assert_array_equal(keep, deplete_training(z, seed=0))
