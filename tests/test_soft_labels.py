"""Step 3's soft labels: Eqs. 4-8 of Lin et al. 2022 against hand-computed answers."""

import numpy as np
import pytest
import torch
from scipy.special import ndtr

from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid
from photoz_debias.debias import soft_labels as sl


# ---------------------------------------------------------------- (a) sigma_1, Eq. 4
def _spiky_sample(n_gal, grid, true_sigma, rng):
    """z_photo on a few spikes (mode collapse); z_spec = z_photo + N(0, true_sigma bins)."""
    spikes = np.array([40, 55, 70, 90, 100, 120, 140, 150])
    j = rng.choice(spikes, n_gal, p=np.linspace(1, 2, spikes.size) / np.linspace(1, 2, spikes.size).sum())
    z_photo = grid.centres[j]
    z_spec = z_photo + rng.normal(0, true_sigma * grid.width, n_gal)
    return z_spec, z_photo


def test_sigma1_recovers_blur_width():
    grid = RedshiftGrid(0.0, 1.0, 200)
    rng = np.random.default_rng(0)
    z_spec, z_photo = _spiky_sample(200_000, grid, 3.0, rng)
    sigma1 = sl.fit_sigma1(z_spec, z_photo, np.zeros(z_spec.size, int), grid, n_outputs=1)
    # binning z_spec adds a uniform (variance 1/12) to the true blur: sqrt(9 + 1/12) = 3.014
    assert abs(sigma1[0] - 3.0) < 0.2


def test_sigma1_histograms_centre_sampled_kernel():
    n = 150
    p_photo = np.zeros(n)
    p_photo[[30, 60, 61, 100, 120]] = [1, 3, 2, 4, 1]
    d = np.arange(n)
    kernel = np.exp(-0.5 * ((d[:, None] - d[None, :]) / 3.0) ** 2)  # centre-sampled, width 3
    p_spec = kernel @ p_photo
    assert abs(sl.fit_sigma1_histograms(p_spec, p_photo) - 3.0) < 0.2
    # identical histograms: no softening needed
    assert sl.fit_sigma1_histograms(p_photo, p_photo) < 0.05
    assert np.isnan(sl.fit_sigma1_histograms(np.zeros(n), p_photo))


def test_sigma1_per_output_and_empty_output():
    grid = RedshiftGrid(0.0, 1.0, 200)
    rng = np.random.default_rng(1)
    zs0, zp0 = _spiky_sample(100_000, grid, 2.0, rng)
    zs1, zp1 = _spiky_sample(100_000, grid, 5.0, rng)
    # rows 0 -> output 0, row 2 -> output 1; output 2 (rows 3, 4) has no galaxies
    rows = np.r_[np.zeros(zs0.size, int), np.full(zs1.size, 2)]
    sigma1 = sl.fit_sigma1(np.r_[zs0, zs1], np.r_[zp0, zp1], rows, grid, n_outputs=3)
    assert abs(sigma1[0] - 2.0) < 0.2 and abs(sigma1[1] - 5.0) < 0.3
    assert np.isnan(sigma1[2])


def test_odd_rows_count_for_both_outputs():
    pairs_gal, pairs_out = sl.output_pairs(np.array([0, 1, 2, 3]))
    np.testing.assert_array_equal(pairs_gal, [0, 1, 1, 2, 3, 3])
    np.testing.assert_array_equal(pairs_out, [0, 0, 1, 1, 1, 2])
    grid = RedshiftGrid(0.0, 4.0, 4)
    p = sl.output_densities(np.array([0.5, 1.5, 2.5]), np.array([0, 1, 2]), grid, 2)
    np.testing.assert_allclose(p, [[0.5, 0.5, 0, 0], [0, 0.5, 0.5, 0]])


# ---------------------------------------------------------- (b) error curves, Eqs. 5-6
def test_carry_forward():
    v = np.array([np.nan, np.nan, 2.0, np.nan, 5.0, np.nan])
    np.testing.assert_array_equal(sl.carry_forward(v, np.isfinite(v)), [2, 2, 2, 2, 5, 5])
    assert np.isnan(sl.carry_forward(np.full(3, np.nan), np.zeros(3, bool))).all()


def test_error_curve_by_hand():
    grid = RedshiftGrid(0.0, 5.0, 5)  # width 1: redshift = bin units
    # bin 1: squared distances 1, 1, 4 -> (mean 2 + median 1) / 2 = 1.5; bin 3: 9 -> 9
    z_spec = np.array([1.5, 1.5, 1.5, 3.5])
    z_photo = np.array([2.5, 0.5, 3.5, 0.5])
    d2, s2 = sl.error_curves(z_spec, z_photo, np.zeros(4, int), grid, np.array([0.0]))
    np.testing.assert_allclose(d2[0], [1.5, 1.5, 1.5, 9.0, 9.0])
    np.testing.assert_allclose(s2[0], d2[0])  # sigma_1 = 0: identity kernel
    _, s2 = sl.error_curves(z_spec, z_photo, np.zeros(4, int), grid, np.array([1.0]))
    # Eq. 6 by hand: bin-integrated Gaussian weights w(d) = Phi(d + 1/2) - Phi(d - 1/2),
    # renormalised over the bins inside the grid
    j = np.arange(5)
    w = ndtr(j[None, :] - j[:, None] + 0.5) - ndtr(j[None, :] - j[:, None] - 0.5)
    expected = (w @ d2[0]) / w.sum(axis=1)
    np.testing.assert_allclose(s2[0], expected, rtol=1e-6)
    assert 1.5 < s2[0, 0] < s2[0, 2] < s2[0, 3] < s2[0, 4] < 9.0


def test_smoothing_keeps_constants_at_the_edges():
    np.testing.assert_allclose(sl.smooth_on_grid(np.full(50, 7.0), 4.0), 7.0)


# ------------------------------------------------------------- (c) means, Eq. 8
def test_flat_density_gives_no_shift():
    grid = RedshiftGrid(0.0, 2.0, 400)
    dens = np.ones((1, 400)) / 400
    var = np.full((1, 400), 25.0)  # bins^2
    z0 = np.array([0.5, 1.0, 1.234])
    z_bar, z_star = sl.soft_label_means(z0, np.zeros(3, int), var, dens, grid)
    np.testing.assert_allclose(z_bar, z0, atol=1e-12)
    np.testing.assert_allclose(z_star, z0, atol=1e-12)


def test_linear_density_shift_by_hand():
    """N(z; z0, V) (a + b z) has mean  [a z0 + b (V + z0^2)] / (a + b z0) = z0 + V b / (a + b z0),
    so z* = z0 - V b / (a + b z0): the label moves away from the denser side."""
    grid = RedshiftGrid(0.0, 4.0, 400)  # width 0.01
    a, b = 1.0, 0.01  # density per bin, bin units
    centres_bins = np.arange(400) + 0.5
    dens = (a + b * centres_bins)[None, :]
    V = 36.0  # bins^2 (sigma = 6 bins)
    var = np.full((1, 400), V)
    z0 = np.array([1.003, 2.0, 2.507])
    pos = grid.position(z0)
    expected_shift = V * b / (a + b * pos) * grid.width
    z_bar, z_star = sl.soft_label_means(z0, np.zeros(3, int), var, dens, grid)
    np.testing.assert_allclose(z_bar - z0, expected_shift, rtol=0.01)
    np.testing.assert_allclose(z_star, z0 - expected_shift, rtol=1e-4)
    assert np.all(z_star < z0)


def test_edge_pushes_label_outward():
    grid = RedshiftGrid(0.0, 1.0, 100)
    dens = np.ones((1, 100)) / 100
    var = np.full((1, 100), 16.0)
    z_bar, z_star = sl.soft_label_means(np.array([0.99, 0.01]), np.zeros(2, int), var, dens, grid)
    assert z_star[0] > 0.99 and z_star[1] < 0.01


def test_tiny_variance_gives_no_shift():
    grid = RedshiftGrid(0.0, 1.0, 100)
    dens = np.linspace(1, 3, 100)[None, :]
    z0 = np.array([0.4321])
    _, z_star = sl.soft_label_means(z0, np.zeros(1, int), np.full((1, 100), 1e-10), dens, grid)
    np.testing.assert_allclose(z_star, z0, atol=1e-9)


# ---------------------------------------------------------------- (d) labels
def test_soft_labels_normalised_and_centred():
    lab = sl.GaussianLabels(np.array([100.3, 5.0, 355.0, 170.0]), np.array([4.0, 3.0, 10.0, 0.05]), 360)
    y = lab.dense()
    assert y.shape == (4, 360)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-6)
    assert np.sum(y[0] * (np.arange(360) + 0.5)) == pytest.approx(100.3, abs=1e-3)
    # sigma_1 < 0.1 bin: hard one-hot at the bin holding the mean
    np.testing.assert_array_equal(y[3], np.eye(360)[170])
    # per-batch build equals the dense one
    torch.testing.assert_close(lab(torch.tensor([2, 0])), torch.from_numpy(y[[2, 0]]))


def test_fit_soft_labels_tables_and_variants():
    grid = RedshiftGrid(0.0, 1.0, 100)
    ext = grid.extend(20, 30)
    rng = np.random.default_rng(2)
    n = 4000
    z_spec = rng.uniform(0.05, 0.95, n) ** 1.5
    z_photo = grid.centres[grid.bin_index(z_spec + rng.normal(0, 0.02, n))]
    rows = rng.integers(0, 5, n)  # m = 3
    ids = np.arange(n) * 10
    table, curves = sl.fit_soft_labels(ids, z_spec, z_photo, rows, grid, 3)
    assert list(table.columns) == sl.SOFT_LABEL_COLUMNS
    assert list(curves.columns) == sl.ERROR_CURVE_COLUMNS
    assert len(table) == n + np.sum(rows % 2 == 1)
    assert len(curves) == 3 * 100
    assert np.all(table["var"] >= table["sigma1"] ** 2 - 1e-15)
    # sigma_1 about the 0.02 scatter (4 bins at width 0.01), in redshift units
    assert 0.01 < table["sigma1"].median() < 0.04
    np.testing.assert_allclose(table["z_star"] - table["z0"], table["z0"] - table["z_bar"])

    lo_b, hi_b = sl.labels_from_table(table, ids, rows, ext, "step3b")
    np.testing.assert_allclose(lo_b.mu, ext.position(z_spec))
    lo_s, hi_s = sl.labels_from_table(table, ids, rows, ext, "step3")
    odd = np.flatnonzero(rows % 2 == 1)[0]
    t_hi = table[(table.id == ids[odd]) & (table.output == (rows[odd] + 1) // 2)]
    assert hi_s.mu[odd] == pytest.approx(ext.position(t_hi.z_star.iloc[0]))
    assert hi_s.sigma[odd] == pytest.approx(t_hi.sigma1.iloc[0] / ext.width)
    lo_a, _ = sl.labels_from_table(table, ids, rows, ext, "step3a")
    np.testing.assert_array_equal(lo_a, np.floor(lo_s.mu).astype(int))
    with pytest.raises(InputError, match="variant"):
        sl.labels_from_table(table, ids, rows, ext, "step5")
    with pytest.raises(InputError, match="soft-label row"):
        sl.labels_from_table(table.iloc[1:], ids, rows, ext, "step3")


def test_fit_soft_labels_rejects_bad_rows():
    grid = RedshiftGrid(0.0, 1.0, 10)
    with pytest.raises(InputError, match="mag_row"):
        sl.fit_soft_labels(np.arange(2), np.array([0.1, 0.2]), np.array([0.1, 0.2]),
                           np.array([0, 7]), grid, 3)


# ------------------------------------------ Eq. 8 with the variance measured on Step 3b
def _fit_sample(n=4000, seed=3):
    grid = RedshiftGrid(0.0, 1.0, 100)
    rng = np.random.default_rng(seed)
    z_spec = rng.uniform(0.05, 0.95, n) ** 1.5
    z_photo = grid.centres[grid.bin_index(z_spec + rng.normal(0, 0.02, n))]
    return grid, rng, z_spec, z_photo, rng.integers(0, 5, n), np.arange(n) * 10


def test_measured_variance_is_eq7_without_sigma1_squared():
    # the same z_photo in both: Eq. 7's Var = sigma_1^2 + sigma_2^2, the measured one sigma_2^2
    grid, _, z_spec, z_photo, rows, ids = _fit_sample()
    table, curves = sl.fit_soft_labels(ids, z_spec, z_photo, rows, grid, 3)
    meas, mcurves = sl.fit_soft_labels_measured(table, z_spec, z_photo, rows, grid, 3)
    assert list(meas.columns) == sl.SOFT_LABEL_COLUMNS
    assert list(mcurves.columns) == sl.ERROR_CURVE_COLUMNS
    np.testing.assert_array_equal(meas[["id", "output"]], table[["id", "output"]])
    np.testing.assert_allclose(meas["sigma1"], table["sigma1"])
    np.testing.assert_allclose(meas["var"], table["var"] - table["sigma1"] ** 2, atol=1e-15)
    np.testing.assert_allclose(mcurves["sigma2_sq"], curves["sigma2_sq"])


def test_measured_variance_constant_offset_by_hand():
    # Step 3b off by a constant 1.5 bins: d2 = 2.25 bins^2 in every bin (mean = median), a
    # constant survives the sigma_1 smoothing, so Var = 2.25 bins^2 and Eq. 8 follows by hand
    grid, _, z_spec, z_photo, rows, ids = _fit_sample(n=3000, seed=4)
    table, _ = sl.fit_soft_labels(ids, z_spec, z_photo, rows, grid, 3)
    step3b = z_spec + 1.5 * grid.width
    meas, _ = sl.fit_soft_labels_measured(table, z_spec, step3b, rows, grid, 3)
    np.testing.assert_allclose(meas["var"], 2.25 * grid.width**2, rtol=1e-9)
    dens = sl.output_densities(z_spec, rows, grid, 3)
    zbar = sl.skewed_profile_mean(grid.position(meas["z0"].to_numpy()), np.full(len(meas), 2.25),
                                  dens, meas["output"].to_numpy())
    np.testing.assert_allclose(meas["z_bar"], grid.z_min + grid.width * zbar, rtol=1e-12)
    np.testing.assert_allclose(meas["z_star"], 2 * meas["z0"] - meas["z_bar"], rtol=1e-12)


def test_measured_variance_perfect_step3b_gives_no_shift():
    grid, _, z_spec, z_photo, rows, ids = _fit_sample(n=2000, seed=5)
    table, _ = sl.fit_soft_labels(ids, z_spec, z_photo, rows, grid, 3)
    meas, _ = sl.fit_soft_labels_measured(table, z_spec, z_spec, rows, grid, 3)
    np.testing.assert_allclose(meas["z_star"], meas["z0"], atol=1e-9)


def test_measured_variance_rejects_misaligned_predictions():
    grid, _, z_spec, z_photo, rows, ids = _fit_sample(n=500, seed=6)
    table, _ = sl.fit_soft_labels(ids, z_spec, z_photo, rows, grid, 3)
    with pytest.raises(InputError, match="z_photo"):
        sl.fit_soft_labels_measured(table, z_spec, z_photo[:-1], rows, grid, 3)
