"""Metrics of Lin et al. 2022: Eqs. 9-13, the residual curves, the D_TV floor, App. E."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wasserstein_distance

from photoz_debias.errors import InputError
from photoz_debias.evaluate.evaluation import appendix_e_table, evaluate_methods
from photoz_debias.evaluate.metrics import (
    binned_metric,
    bootstrap_errors,
    mean_redshift_residual,
    mean_residual,
    mean_residual_vs_zphoto,
    mean_residual_vs_zspec,
    outlier_fraction,
    per_galaxy_sigma2_sq,
    piecewise_linear_fit,
    sigma_mad,
    simulated_tv_floor,
    total_variation,
    wasserstein1,
)
from photoz_debias.evaluate.table import METRICS_COLUMNS

# five galaxies with dz = 0.01, 0.02, 0.03, 0.05, 0.10 at various z_spec
ZS5 = np.array([0.0, 1.0, 0.5, 0.0, 1.0])
DZ5 = np.array([0.01, 0.02, 0.03, 0.05, 0.10])
ZP5 = ZS5 + DZ5 * (1 + ZS5)


def test_sigma_mad_five_galaxies():
    # median dz = 0.03; |dz - 0.03| = 0.02, 0.01, 0, 0.02, 0.07 -> median 0.02
    assert sigma_mad(ZP5, ZS5) == pytest.approx(1.4826 * 0.02)
    assert np.isnan(sigma_mad([], []))


def test_outlier_fraction_and_mean_residual():
    assert outlier_fraction(ZP5, ZS5, 0.05) == pytest.approx(
        0.2
    )  # only dz = 0.10; 0.05 is not > 0.05
    assert outlier_fraction(ZP5, ZS5, 0.015) == pytest.approx(0.8)
    assert mean_residual(ZP5, ZS5) == pytest.approx(0.042)
    with pytest.raises(InputError):
        mean_residual([0.1, 0.2], [0.1])


def test_mean_redshift_residual_eq12():
    # (<z_photo> - <z_spec>) / (1 + <z_spec>) = (0.2 - 0.3) / 1.3
    assert mean_redshift_residual([0.1, 0.3], [0.2, 0.4]) == pytest.approx(-0.1 / 1.3)


def test_total_variation_eq10():
    bins = np.array([0.0, 0.1, 0.2, 0.3])
    z = np.array([0.05, 0.15, 0.25])
    assert total_variation(z, z, bins) == 0.0
    assert total_variation([0.05, 0.05], [0.25], bins) == 1.0
    # P = (1/4, 1/2, 1/4), Q = (1/2, 1/4, 1/4): (1/4 + 1/4) / 2; 0.35 lies outside and is ignored
    assert total_variation(
        [0.05, 0.15, 0.15, 0.25], [0.05, 0.05, 0.15, 0.25, 0.35], bins
    ) == pytest.approx(0.25)


def test_wasserstein1_eq13():
    bins = np.array([0.0, 0.1, 0.2, 0.3])
    # two deltas one bin apart: one bin width
    assert wasserstein1([0.05], [0.15], bins) == pytest.approx(0.1)
    # half the mass one bin each side of the other: cumulative differences 1/2, -1/2 -> 0.1
    assert wasserstein1([0.05, 0.25], [0.15], bins) == pytest.approx(0.1)
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0, 0.3, 500), rng.uniform(0.05, 0.3, 400)
    c = 0.5 * (bins[1:] + bins[:-1])
    ref = wasserstein_distance(c, c, np.histogram(a, bins)[0], np.histogram(b, bins)[0])
    assert wasserstein1(a, b, bins) == pytest.approx(ref)


def test_piecewise_linear_fit_recovers_noiseless_lines():
    z = np.linspace(0.0, 0.4, 41)
    dz = np.where(z < 0.15, -0.1 * z + 0.01, 0.3 * z - 0.05)  # discontinuous at z_b
    a, b, c, d = piecewise_linear_fit(z, dz, 0.15)
    assert (a, b, c, d) == pytest.approx((-0.1, 0.01, 0.3, -0.05), abs=1e-12)
    w = np.random.default_rng(1).uniform(0.5, 2.0, z.size)
    assert piecewise_linear_fit(z, dz, 0.15, w) == pytest.approx(
        (-0.1, 0.01, 0.3, -0.05), abs=1e-12
    )
    # a point exactly at z_b belongs to the upper line
    z2 = np.array([0.0, 0.1, 0.15, 0.3])
    _, _, c2, d2 = piecewise_linear_fit(z2, np.array([0.0, 0.0, 1.0, 2.0]), 0.15)
    assert (c2, d2) == pytest.approx((1 / 0.15, 0.0))
    assert np.isnan(piecewise_linear_fit(np.array([0.1, 0.2, 0.3]), np.zeros(3), 0.15)[0])


def test_mean_residual_vs_zspec_weighted_by_error_curves():
    zs = np.array([0.0, 0.0, 0.3])
    zp = np.array([0.01, 0.04, 0.3])
    s2 = np.array([1e-4, 4e-4, 1e-4])
    curve = mean_residual_vs_zspec(zp, zs, s2, [0.0, 0.1, 0.2])
    # weights 1e4 and 2.5e3: (100 + 100) / 12500 = 0.016; error 1 / sqrt(12500)
    assert curve["value"][0] == pytest.approx(0.016)
    assert curve["error"][0] == pytest.approx(1 / np.sqrt(12500))
    assert curve["n"].tolist() == [2, 0] and np.isnan(curve["value"][1])
    plain = mean_residual_vs_zspec(zp, zs, None, [0.0, 0.1])
    assert plain["value"][0] == pytest.approx(0.025) and plain["error"][0] == pytest.approx(0.015)
    with pytest.raises(InputError, match="galaxy row 1"):
        mean_residual_vs_zspec(zp, zs, np.array([1e-4, 0.0, 1e-4]), [0.0, 0.1])


def test_per_galaxy_sigma2_sq_averages_two_outputs():
    curves = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_allclose(per_galaxy_sigma2_sq(curves, [1, 0], [0, 0], [1, 0]), [3.0, 1.0])


def test_mean_residual_vs_zphoto_rms_errors():
    zs = np.array([0.0, 0.0, 0.0])
    zp = np.array([0.03, -0.01, 0.5])
    curve = mean_residual_vs_zphoto(zp, zs, [-0.05, 0.05, 0.1])
    assert curve["value"][0] == pytest.approx(0.01)
    assert curve["error"][0] == pytest.approx(np.sqrt(5e-4))
    assert curve["n"].tolist() == [2, 0]


def test_binned_metric_per_r_bin():
    rng = np.random.default_rng(0)
    zs = rng.uniform(0, 0.4, 300)
    zp = zs + rng.normal(0, 0.01, 300)
    r = rng.uniform(14, 18, 300)
    out = binned_metric(sigma_mad, zp, zs, r, [14, 16, 18], min_count=5, n_boot=10)
    sel = r < 16
    assert out["value"][0] == pytest.approx(sigma_mad(zp[sel], zs[sel]))
    assert out["n"].sum() == 300 and np.all(out["error"] > 0)


def test_bootstrap_errors_match_standard_error():
    rng = np.random.default_rng(4)
    zs = rng.uniform(0, 0.4, 2000)
    zp = zs + rng.normal(0, 0.02, 2000) * (1 + zs)
    err = bootstrap_errors({"m": mean_residual}, zp, zs, n_boot=200, seed=1)["m"]
    assert err == pytest.approx(0.02 / np.sqrt(2000), rel=0.15)
    assert err == bootstrap_errors({"m": mean_residual}, zp, zs, n_boot=200, seed=1)["m"]


def test_simulated_tv_floor():
    rng = np.random.default_rng(5)
    zs = rng.uniform(0.02, 0.38, 4000)
    bins, tv_bins = np.linspace(0, 0.4, 41), np.linspace(-0.1, 0.5, 241)
    # constant <dz> and (almost) no scatter: the simulated sample is the estimate itself
    zp = zs + 0.01 * (1 + zs)
    m, s = simulated_tv_floor(zp, zs, bins, tv_bins, sigma2_sq=np.full(4000, 1e-30), n_sim=3)
    assert m == pytest.approx(total_variation(zp, zs, tv_bins)) and s < 1e-12
    # a smooth estimate sits on the floor; a mode-collapsed one lies far above it
    smooth = zs + rng.normal(0, 0.01, 4000)
    collapsed = np.round(smooth / 0.03) * 0.03
    m, s = simulated_tv_floor(smooth, zs, bins, tv_bins, n_sim=10, seed=1)
    assert abs(total_variation(smooth, zs, tv_bins) - m) < 4 * s + 0.01
    assert total_variation(collapsed, zs, tv_bins) > m + 10 * s


def _toy_catalogue(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    zs = rng.uniform(0.0, 0.4, n)
    r = rng.uniform(13.0, 18.0, n)
    # Baseline-like: <dz> = -0.05 (z_spec - 0.2), scatter 0.01
    zmode = zs + (1 + zs) * (-0.05 * (zs - 0.2) + rng.normal(0, 0.01, n))
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "z_spec": zs,
            "r_mag": r,
            "baseline_zmode": zmode,
            "baseline_zmean": zmode + 0.001,
            "baseline_zmedian": zmode - 0.001,
            "step4_zmode": zmode,
            "knn_z": zs + rng.normal(0, 0.02, n),
        }
    )


def test_evaluate_methods_and_appendix_table():
    df = _toy_catalogue()
    cfg = {"n_boot": 10, "n_boot_bins": 0, "n_sim": 4, "min_count": 5}
    m = evaluate_methods(df, ["baseline", "step4", "knn"], config=cfg)
    assert list(m.columns) == METRICS_COLUMNS
    glob = m[m["bin_lo"].isna()].set_index(["method", "estimate", "metric"])
    assert glob.loc[("baseline", "zmode", "sigma_mad"), "value"] == pytest.approx(
        sigma_mad(df.baseline_zmode, df.z_spec)
    )
    assert glob.loc[("baseline", "zmode", "sigma_mad"), "error"] > 0
    for slope in ("slope_low", "slope_high"):
        row = glob.loc[("baseline", "zmode", slope)]
        assert abs(row["value"] + 0.05) < 4 * row["error"] + 0.005
    assert ("baseline", "zmode", "tv_floor") in glob.index
    assert ("step4", "zmode", "tv_floor") not in glob.index
    assert ("knn", "z", "sigma_mad") in glob.index
    assert {
        "mean_residual_zspec",
        "mean_residual_zphoto",
        "sigma_mad_rmag",
        "wasserstein1_rmag",
        "delta_mean_z_rmag",
        "delta_mean_z_zphoto",
        "slope_zphoto",
        "slope_zphoto_high",
        "total_variation",
        "wasserstein1",
        "outlier_fraction",
    } <= set(m["metric"])
    curve = m[
        (m.method == "baseline") & (m.estimate == "zmode") & (m.metric == "mean_residual_zspec")
    ]
    assert len(curve) == 40 and curve["bin_lo"].iloc[0] == 0.0

    table = appendix_e_table(m)
    assert table["method"].tolist() == ["baseline", "step4"]  # peers ('z') are not in App. E
    assert table.loc[0, "mean_residual_zmean"] == pytest.approx(
        mean_residual(df.baseline_zmean, df.z_spec)
    )
    assert np.isnan(table.loc[1, "sigma_mad_zmean"])
    with pytest.raises(InputError, match="unknown keys"):
        evaluate_methods(df, ["baseline"], config={"zbreak": 0.1})
    with pytest.raises(InputError, match="no estimate column"):
        evaluate_methods(df, ["step9"], config=cfg)


def test_histograms_are_half_open_for_uniform_and_nonuniform_edges():
    from photoz_debias.evaluate.metrics import normalised_histogram

    z = np.array([0.0, 0.1, 0.1, 0.2, 0.3, -0.01])  # 0.3 is the last edge: outside
    np.testing.assert_allclose(normalised_histogram(z, [0.0, 0.1, 0.2, 0.3]), [0.25, 0.5, 0.25])
    np.testing.assert_allclose(normalised_histogram(z, [0.0, 0.1, 0.25, 0.3]), [0.25, 0.75, 0.0])
    assert np.isnan(normalised_histogram([0.5], [0.0, 0.1])).all()


def test_d_tv_of_a_lattice_sample_needs_grid_aligned_bins():
    """A smooth, collapse-free sample snapped to the 0.4/180 grid's centres (what zmode does):
    on 0.01 bins (4 or 5 centres each) its histogram is striped and D_TV against the
    continuous sample is inflated; on grid-aligned bins (5 grid bins = 0.0111) it is at the
    sampling-noise level of two independent draws."""
    from photoz_debias.grid import RedshiftGrid
    from photoz_debias.evaluate.metrics import total_variation

    grid = RedshiftGrid(0.0, 0.4, 180)
    rng = np.random.default_rng(3)
    z = rng.gamma(4.0, 0.025, 400_000)
    z = z[z < 0.4]
    half = len(z) // 2
    snapped = grid.centres[grid.bin_index(z[:half])]
    ref = z[half:]
    naive = np.arange(0.0, 0.4 + 1e-9, 0.01)
    aligned = grid.aligned_edges(0.01, 0.0, 0.4)
    assert np.isclose(grid.aligned_width(0.01), 5 * grid.width)
    np.testing.assert_allclose(aligned[[0, -1]], [0.0, 0.4])
    noise = total_variation(z[:half], ref, aligned)  # two continuous draws: the floor
    tv_naive = total_variation(snapped, ref, naive)
    tv_aligned = total_variation(snapped, ref, aligned)
    assert tv_naive > 0.04                      # ~11% striping, halved by D_TV's 1/2
    assert tv_aligned < 2 * noise + 0.003       # no striping left
    assert tv_naive > 5 * tv_aligned


def test_aligned_edges_lie_on_the_grid_and_cover_the_range():
    from photoz_debias.grid import RedshiftGrid

    grid = RedshiftGrid(0.0, 0.4, 180)
    e = grid.aligned_edges(0.01, -0.2, 0.8)
    k = (e - grid.z_min) / grid.width
    np.testing.assert_allclose(k, np.round(k), atol=1e-9)     # on grid edges
    np.testing.assert_allclose(np.diff(k), 5)                  # 5 grid bins each
    assert e[0] <= -0.2 and e[-1] >= 0.8
    # widths that are already whole multiples are kept: CFHTLS 0.04 on 4.0/200, MGS 0.01 on 0.3/60
    assert np.isclose(RedshiftGrid(0.0, 4.0, 200).aligned_width(0.04), 0.04)
    assert np.isclose(RedshiftGrid(0.0, 0.3, 60).aligned_width(0.01), 0.01)
    assert np.isclose(grid.aligned_width(0.0001), grid.width)  # at least one grid bin
