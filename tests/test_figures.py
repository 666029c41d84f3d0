"""Tests of the figure functions (src/photoz_debias/figures/) on small synthetic inputs.

The synthetic test sample has a skewed z_spec distribution and photo-z's with a
redshift-dependent bias whose slope shrinks from Baseline to Step 3, plus a mode-collapsed
Baseline; the tidy metrics are computed from it here with plain numpy, in the schema of
docs/architecture.md.
"""

from __future__ import annotations

import math
import os
import struct

import matplotlib
import numpy as np
import pandas as pd
import pytest

from photoz_debias.errors import InputError
from photoz_debias.figures.fig03_grid import plot_fig03_grid
from photoz_debias.figures.fig04_balancing import cell_counts, plot_fig04_balancing
from photoz_debias.debias.scattering import expected_residuals, output_density
from photoz_debias.figures.fig05_soft_label import gaussian, pick_examples, plot_fig05_soft_label
from photoz_debias.figures.fig06_residuals import plot_fig06_residuals
from photoz_debias.figures.fig08_zphot_zspec import plot_fig08_zphot_zspec
from photoz_debias.figures.fig09_calibration import plot_fig09_calibration
from photoz_debias.figures.fig11_tomography import plot_fig11_tomography
from photoz_debias.figures.fig12_peers import plot_fig12_peers
from photoz_debias.figures.figB1_estimates import plot_figB1_estimates
from photoz_debias.figures.figC1_expected_residuals import (
    C1Part, binned_mean, plot_figC1_expected_residuals,
)
from photoz_debias.figures.figD_sweeps import plot_figD_curves, plot_figD_sweep
from photoz_debias.evaluate.table import get_curve, get_scalar
from photoz_debias.figures.style import merge_style, style_context
from photoz_debias.grid import MagnitudeRows, RedshiftGrid

GRID = RedshiftGrid(0.0, 0.4, 180)
ROWS = MagnitudeRows(12.5, 11)
EXTEND = (90, 90)
SLOPES = {"baseline": -0.16, "step1": -0.14, "step2": -0.07, "step3": -0.01, "step3_no_step2": 0.05,
          "step3a": -0.005, "step3b": -0.06, "step4": -0.04}
METHODS = ("baseline", "step1", "step2", "step3", "step3a", "step3b", "step3_no_step2")


# ---------------------------------------------------------------------------------------
# Synthetic inputs in the documented schemas

def make_catalogue(n=3000, seed=0, z_shift=0.0):
    rng = np.random.default_rng(seed)
    z = np.clip(rng.gamma(3.0, 0.035, n) + z_shift, 0.002, 0.398)
    r = np.clip(13.5 + 3.5 * np.sqrt(z / 0.4) + rng.normal(0, 0.7, n), 12.5, 18.0)
    cat = pd.DataFrame({"id": np.arange(n), "z_spec": z, "r_mag": r, "ebv": 0.03,
                        "mag_row": ROWS.row_index(r), "field": "SDSS", "quality": "HQ"})
    sig = 0.008 * (1 + z) * (1 + (r - 14) / 3)
    for m in METHODS + ("step4",):
        zm = z + SLOPES[m] * (z - 0.1) + rng.normal(0, 1, n) * sig
        if m == "baseline":  # mode collapse: half the estimates snap to a coarse comb
            snap = rng.random(n) < 0.5
            zm[snap] = np.round(zm[snap] / 0.02) * 0.02
        cat[f"{m}_zmode"] = zm
        cat[f"{m}_zmean"] = zm + 0.15 * (0.13 - zm)
        cat[f"{m}_zmedian"] = zm + 0.08 * (0.13 - zm)
        cat[f"{m}_zerr"] = sig
    cat["knn_z"] = z - 0.2 * (z - 0.12) + rng.normal(0, 1, n) * 1.5 * sig
    return cat


def _binned(x, y, edges, err="sem"):
    i = np.digitize(x, edges) - 1
    rows = []
    for b in range(len(edges) - 1):
        v = y[i == b]
        if v.size < 3:
            continue
        e = v.std() / np.sqrt(v.size) if err == "sem" else np.sqrt(np.mean(v ** 2))
        rows.append((edges[b], edges[b + 1], v.mean(), e))
    return rows


def _sigma_mad(dz):
    return 1.4826 * np.median(np.abs(dz - np.median(dz)))


def _tv(a, b, edges):
    pa = np.histogram(a, edges)[0] / len(a)
    pb = np.histogram(b, edges)[0] / len(b)
    return 0.5 * np.abs(pa - pb).sum()


def make_metrics(cat, z_break=0.15, methods=METHODS + ("step4",)):
    """Tidy metrics (method, estimate, metric, bin_lo, bin_hi, value, error) from ``cat``."""
    out = []
    z, r = cat["z_spec"].to_numpy(), cat["r_mag"].to_numpy()
    zedges, redges, tomo = np.linspace(0, 0.4, 21), np.arange(12.5, 18.01, 0.5), np.linspace(0, 0.4, 9)
    series = [(m, e, cat[f"{m}_{e}"].to_numpy()) for m in methods for e in ("zmode", "zmean", "zmedian")]
    series.append(("knn", "z", cat["knn_z"].to_numpy()))
    for m, e, zp in series:
        dz = (zp - z) / (1 + z)

        def add(metric, lo, hi, v, err):
            out.append((m, e, metric, lo, hi, v, err))

        for lo, hi, v, err in _binned(z, dz, zedges):
            add("mean_residual_zspec", lo, hi, v, err)
        for lo, hi, v, err in _binned(zp, dz, zedges, err="rms"):
            add("mean_residual_zphoto", lo, hi, v, err)
        ri = np.digitize(r, redges) - 1
        for b in range(len(redges) - 1):
            s = ri == b
            if s.sum() > 5:
                add("sigma_mad_rmag", redges[b], redges[b + 1], _sigma_mad(dz[s]), np.nan)
                add("delta_mean_z_rmag", redges[b], redges[b + 1],
                    (zp[s].mean() - z[s].mean()) / (1 + z[s].mean()), 0.0005)
                add("wasserstein1_rmag", redges[b], redges[b + 1], np.mean(np.abs(np.sort(zp[s]) - np.sort(z[s]))), np.nan)
        ti = np.digitize(zp, tomo) - 1
        for b in range(len(tomo) - 1):
            s = ti == b
            if s.sum() > 5:
                add("delta_mean_z_zphoto", tomo[b], tomo[b + 1],
                    (zp[s].mean() - z[s].mean()) / (1 + z[s].mean()), 0.0006)
        low, high = z < z_break, z >= z_break
        a, b = np.polyfit(z[low], dz[low], 1)
        c, d = np.polyfit(z[high], dz[high], 1)
        nan = np.nan
        for name, v, err in (("sigma_mad", _sigma_mad(dz), nan), ("outlier_fraction", np.mean(np.abs(dz) > 0.05), nan),
                             ("mean_residual", dz.mean(), nan), ("slope_low", a, 0.005), ("intercept_low", b, nan),
                             ("slope_high", c, 0.01), ("intercept_high", d, nan),
                             ("total_variation", _tv(zp, z, GRID.edges), 0.003)):
            add(name, nan, nan, v, err)
    rng = np.random.default_rng(1)
    tvs = [_tv(z + rng.normal(0, 0.012, z.size), z, GRID.edges) for _ in range(5)]
    out.append(("baseline", "zmode", "tv_floor", np.nan, np.nan, np.mean(tvs), np.std(tvs)))
    return pd.DataFrame(out, columns=["method", "estimate", "metric", "bin_lo", "bin_hi", "value", "error"])


def make_error_curves(m=6):
    rows = [(o, j, zc, (0.01 * (1 + zc)) ** 2, (0.01 * (1 + zc)) ** 2 * (1 + 0.2 * o), 0.004 + 0.001 * o)
            for o in range(m) for j, zc in enumerate(GRID.centres)]
    return pd.DataFrame(rows, columns=["output", "z_bin", "z_centre", "d2", "sigma2_sq", "sigma1"])


def make_soft_labels(subset, ec):
    """Eq. 8 evaluated directly (per activated output) for the subset galaxies."""
    ext = GRID.extend(*EXTEND)
    z = subset["z_spec"].to_numpy()
    rows = subset["mag_row"].to_numpy()
    out = []
    for i in range(len(subset)):
        for o in sorted({rows[i] // 2, (rows[i] + 1) // 2}):
            e = ec[ec["output"] == o]
            s1 = e["sigma1"].iloc[0]
            var = s1 ** 2 + np.interp(z[i], e["z_centre"], e["sigma2_sq"])
            dens = np.zeros(ext.n_bins)
            dens[EXTEND[0]:EXTEND[0] + GRID.n_bins] = output_density(z, rows, o, GRID)
            w = gaussian(ext.centres, z[i], var) * dens
            zbar = (w * ext.centres).sum() / w.sum()
            out.append((int(subset["id"].iloc[i]), o, z[i], zbar, 2 * z[i] - zbar, s1, var))
    return pd.DataFrame(out, columns=["id", "output", "z0", "z_bar", "z_star", "sigma1", "var"])


def make_sweep():
    th = [25, 50, 100, 200, 400, 800, 2626]
    rows, curves = [], []
    for t in th:
        f = np.log10(t / 200.0)
        for m, s in (("baseline", -0.16), ("step1", -0.14), ("step2", -0.07 - 0.04 * f), ("step3", -0.01 + 0.03 * f),
                     ("step3_no_step2", 0.06)):
            for metric, v in (("sigma_mad", 0.0095 + 0.0004 * abs(f)), ("slope_low", s / 3), ("slope_high", s),
                              ("total_variation", 0.12 + 0.04 * (m == "baseline") - 0.01 * f),
                              ("tv_floor", 0.08)):
                rows.append((t, m, "zmode", metric, v, 0.002))
            for zl in np.arange(0, 0.4, 0.02):
                zc = zl + 0.01
                curves.append((t, m, "zmode", "mean_residual_zspec", zl, zl + 0.02, s * (zc - 0.1), 0.001))
    return (pd.DataFrame(rows, columns=["threshold", "method", "estimate", "metric", "value", "error"]),
            pd.DataFrame(curves, columns=["threshold", "method", "estimate", "metric", "bin_lo", "bin_hi",
                                          "value", "error"]))


def make_data():
    cat = make_catalogue()
    train = make_catalogue(6000, seed=3)
    # A crude Step 2 subset: at most 15 galaxies per (z bin, row) cell.
    cell = GRID.bin_index(train["z_spec"]) * 100 + train["mag_row"]
    bal = train.groupby(cell, group_keys=False).head(15).reset_index(drop=True)
    bal = bal.assign(z_photo=bal["step2_zmode"])
    ec = make_error_curves()
    labels = make_soft_labels(bal.iloc[:120], ec)
    met = make_metrics(cat)
    sweep, curves = make_sweep()
    return dict(cat=cat, train=train, bal=bal, ec=ec, labels=labels, met=met, sweep=sweep, curves=curves)


@pytest.fixture(scope="module")
def data():
    return make_data()


STYLE = merge_style({"dpi": 40, "width": 7.0})


def png_size(path):
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def check_outputs(paths, style=STYLE):
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    for p in paths:
        assert p.exists() and p.stat().st_size > 1000, p
    w, h = png_size(paths[0])
    assert w == round(style["width"] * style["dpi"])
    assert 0.25 * w <= h <= 1.5 * w
    assert not [f for f in os.listdir(paths[0].parent) if f.endswith(".tmp")]  # atomic writes


# ---------------------------------------------------------------------------------------
# Style

def test_merge_style_rejects_unknown_key_and_bad_values():
    with pytest.raises(ValueError, match="'colour_map'"):
        merge_style({"colour_map": "viridis"})
    with pytest.raises(ValueError, match="formats"):
        merge_style({"formats": ["png", "jpeg"]})
    with pytest.raises(ValueError, match="dpi"):
        merge_style({"dpi": 0})
    s = merge_style({"colors": {"step3": "#123456"}, "n_example_stamps": 4})
    assert s["colors"]["step3"] == "#123456" and s["colors"]["baseline"] == "#000000"
    assert merge_style()["colors"]["step3"] != "#123456"  # defaults not mutated


def test_style_context_has_no_global_side_effects():
    before = matplotlib.rcParams["font.size"]
    with style_context(merge_style({"font_size": 17})):
        assert matplotlib.rcParams["font.size"] == 17
    assert matplotlib.rcParams["font.size"] == before


def test_metric_lookups(data):
    met = data["met"]
    x, lo, hi, v, e = get_curve(met, "baseline", "mean_residual_zspec")
    assert np.all(np.diff(lo) > 0) and np.allclose(x, 0.5 * (lo + hi))
    # kNN carries its own estimate label ('z'); the look-up falls back to it.
    assert get_curve(met, "knn", "mean_residual_zspec") is not None
    assert np.isnan(get_scalar(met, "nonexistent", "sigma_mad")[0])
    a, _ = get_scalar(met, "baseline", "slope_high")
    assert a < -0.1  # the synthetic baseline's negative high-z slope


# ---------------------------------------------------------------------------------------
# Pure helpers, against hand-computed values

def test_cell_counts_by_hand():
    df = pd.DataFrame({"z_spec": [0.001, 0.001, 0.399, 0.2], "mag_row": [0, 0, 10, 5]})
    c = cell_counts(df, GRID, ROWS, "t")
    assert c.shape == (11, 180) and c[0, 0] == 2 and c[10, 179] == 1 and c[5, 90] == 1 and c.sum() == 4
    with pytest.raises(InputError, match="mag_row"):
        cell_counts(df.assign(mag_row=[0, 0, 11, 5]), GRID, ROWS, "t")


def test_expected_residuals_flat_density_and_edge():
    # Flat subset density over [0, 0.4] (one galaxy per bin centre, all in row 0 -> output 0).
    fine = RedshiftGrid(0.0, 0.4, 400)
    zc = fine.centres
    ec = pd.DataFrame({"output": 0, "z_centre": zc, "sigma2_sq": 0.01 ** 2})
    z0 = np.array([0.2, 0.0005])
    dz = expected_residuals(z0, np.zeros(2, int), ec, fine, (200, 200), k=1.0,
                            density_z=zc, density_rows=np.zeros(zc.size, int))
    # Deep inside the flat density the profile stays symmetric: no shift.
    assert abs(dz[0]) < 1e-6
    # At the lower edge the profile is a normal truncated at z = 0 (a = -z0 / sigma below
    # its centre), whose mean shift is sigma phi(a) / (1 - Phi(a)): 0.7663 sigma here.
    def shift(sigma, z):
        a = -z / sigma
        pdf, sf = math.exp(-0.5 * a * a) / math.sqrt(2 * math.pi), 0.5 * math.erfc(a / math.sqrt(2))
        return sigma * pdf / sf / (1 + z)

    assert dz[1] == pytest.approx(shift(0.01, 0.0005), rel=2e-3)
    # k rescales the variance (Appendix C): sigma -> 2 sigma for k = 4.
    dz4 = expected_residuals(z0[1:], np.zeros(1, int), ec, fine, (200, 200), k=4.0,
                             density_z=zc, density_rows=np.zeros(zc.size, int))
    assert dz4[0] == pytest.approx(shift(0.02, 0.0005), rel=2e-3)


def test_binned_mean_by_hand():
    v = binned_mean([0.05, 0.15, 0.16, 0.9], [1.0, 2.0, 4.0, 7.0], np.array([0.0, 0.1, 0.2, 0.3]))
    assert v[0] == 1.0 and v[1] == 3.0 and np.isnan(v[2])


def test_soft_label_examples_consistent_with_eq8(data):
    ex = pick_examples(data["labels"])
    assert len(ex) == 2
    shifts = (ex["z_star"] - ex["z0"]).abs().to_numpy()
    assert shifts[1] == (data["labels"]["z_star"] - data["labels"]["z0"]).abs().max()
    # z* = z0 - (z_bar - z0) (Eq. 8) holds in the synthetic labels the figure draws.
    assert np.allclose(data["labels"]["z_star"], 2 * data["labels"]["z0"] - data["labels"]["z_bar"])


# ---------------------------------------------------------------------------------------
# Every figure renders PNG + PDF at the style's size

def test_fig03(tmp_path):
    check_outputs(plot_fig03_grid(GRID, ROWS, STYLE, tmp_path / "fig03", n_extend=EXTEND))


def test_fig04(tmp_path, data):
    check_outputs(plot_fig04_balancing(data["train"], data["bal"], GRID, ROWS, STYLE, tmp_path / "fig04",
                                       threshold=15))


def test_fig05(tmp_path, data):
    check_outputs(plot_fig05_soft_label(pick_examples(data["labels"]), data["bal"], GRID, EXTEND, STYLE,
                                        tmp_path / "fig05"))


def test_fig06(tmp_path, data):
    check_outputs(plot_fig06_residuals(data["met"], data["cat"], 0.15, STYLE, tmp_path / "fig06",
                                       z_edges=GRID.edges, title="SDSS"))


def test_fig08(tmp_path, data):
    check_outputs(plot_fig08_zphot_zspec(data["cat"], STYLE, tmp_path / "fig08.png"))


def test_fig09(tmp_path, data):
    cats = {"unmodified": data["cat"], "biased to z~0.12": make_catalogue(2000, 5, z_shift=0.03),
            "biased to r~17.5": make_catalogue(2000, 6, z_shift=0.06)}
    exps = {k: data["met"] for k in cats}
    check_outputs(plot_fig09_calibration(exps, STYLE, tmp_path / "fig09", train=data["train"], samples=cats))
    png_only = merge_style({"dpi": 30, "width": 5.0, "formats": ["png"]})
    (p,) = plot_fig09_calibration(exps, png_only, tmp_path / "fig09b")  # no distribution row
    assert png_size(p)[0] == 150


def test_fig11(tmp_path, data):
    parts = {"SDSS": data["met"], "CFHTLS-WIDE": data["met"]}
    check_outputs(plot_fig11_tomography(parts, STYLE, tmp_path / "fig11"))


def test_fig12(tmp_path, data):
    check_outputs(plot_fig12_peers({"SDSS": data["met"], "CFHTLS-WIDE": data["met"]}, STYLE, tmp_path / "fig12"))


def test_figB1(tmp_path, data):
    check_outputs(plot_figB1_estimates(data["met"], STYLE, tmp_path / "figB1", catalogue=data["cat"]))


def test_figC1(tmp_path, data):
    part = C1Part(data["bal"], data["ec"], GRID, EXTEND)
    check_outputs(plot_figC1_expected_residuals({"SDSS": part}, STYLE, tmp_path / "figC1"))


def test_figD(tmp_path, data):
    check_outputs(plot_figD_sweep(data["sweep"], "threshold", STYLE, tmp_path / "figD1", curves=data["curves"]))
    nets = data["sweep"].assign(threshold=data["sweep"]["threshold"].map(
        dict(zip([25, 50, 100, 200, 400, 800, 2626], ["S1", "S2", "S3", "T", "P", "P2", "P3"]))))
    png_only = merge_style({"dpi": 30, "formats": ["png"]})
    (p,) = plot_figD_sweep(nets.rename(columns={"threshold": "net"}), "net", png_only, tmp_path / "figD9")
    assert png_size(p)[0] == 210


def test_figD6_curves(tmp_path, data):
    zphoto = data["curves"].assign(metric="mean_residual_zphoto", value=lambda d: -0.5 * d["value"])
    curves = pd.concat([data["curves"], zphoto]).rename(columns={"threshold": "iterations"})
    check_outputs(plot_figD_curves(curves, "iterations", STYLE, tmp_path / "figD6", title="SDSS"))
    with pytest.raises(ValueError, match="no curves"):
        plot_figD_curves(curves, "iterations", STYLE, tmp_path / "x", methods=("step9",))


# ---------------------------------------------------------------------------------------
# Bad input: clear errors naming what is missing

def test_missing_column_is_named(tmp_path, data):
    with pytest.raises(InputError, match="step2_zmode"):
        plot_fig08_zphot_zspec(data["cat"].drop(columns="step2_zmode"), STYLE, tmp_path / "x")
    with pytest.raises(InputError, match="'value'"):
        plot_fig06_residuals(data["met"].drop(columns="value"), data["cat"], 0.15, STYLE, tmp_path / "x")
    with pytest.raises(InputError, match="wasserstein1_rmag"):
        plot_fig11_tomography({"SDSS": data["met"][data["met"]["metric"] != "wasserstein1_rmag"]}, STYLE, tmp_path / "x")
    with pytest.raises(InputError, match="z_photo"):
        plot_figC1_expected_residuals({"S": C1Part(data["bal"].drop(columns="z_photo"), data["ec"], GRID, EXTEND)},
                                      STYLE, tmp_path / "x")
    assert not list(tmp_path.iterdir())  # nothing half-written on failure
