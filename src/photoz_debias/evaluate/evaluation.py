"""Evaluation of a part's catalogue: every method's metrics with the evaluation settings of
the part and each test galaxy's Eq. 6 quadratic error measured on the test data (Sect. 4.2),
into the tidy metrics table and the Appendix E tables (Tables E.1-E.3)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid, activated_outputs
from photoz_debias.evaluate.metrics import (
    wls_line,
    binned_metric,
    bootstrap_errors,
    eq9_fit_of_curve,
    mean_redshift_residual,
    mean_residual,
    mean_residual_vs_zphoto,
    mean_residual_vs_zspec,
    outlier_fraction,
    per_galaxy_sigma2_sq,
    sigma_mad,
    simulated_tv_floor,
    total_variation,
    wasserstein1,
)
from photoz_debias.evaluate.table import METRICS_COLUMNS
from photoz_debias.debias.soft_labels import error_curves


def evaluation_config(grid: RedshiftGrid, part: dict, seed: int = 0) -> dict:
    """``evaluation.evaluate_methods`` settings of a part: z bins of width ``tv_bins`` over the
    original range for the residual curves, over the extended range for D_TV and W1 (Step 3
    estimates may fall outside the original range), the part's r bins and thresholds.

    The bin width is ``tv_bins`` rounded to a whole number of grid bins and the edges lie on
    the grid's edges (:meth:`RedshiftGrid.aligned_edges`): zmode estimates are grid centres,
    and misaligned bins would stripe their histograms and inflate D_TV (Eq. 10)."""
    w = float(part["tv_bins"])
    curve_bins = grid.aligned_edges(w, grid.z_min, grid.z_max)
    span = grid.z_max - grid.z_min
    tv_bins = grid.aligned_edges(w, grid.z_min - span / 2, grid.z_max + span)
    return {
        "z_break": float(part["z_break"]),
        "outlier_threshold": float(part["outlier_threshold"]),
        "zspec_bins": curve_bins,
        "zphoto_bins": curve_bins,
        "tv_bins": tv_bins,
        "r_bins": np.asarray(part["r_bins"], dtype=np.float64),
        "seed": int(seed),
    }


def mean_sigma1(curve_tables: list[pd.DataFrame]) -> np.ndarray:
    """sigma_1 per magnitude output (redshift units), averaged over the ensemble's seeds."""
    per_seed = [t.groupby("output")["sigma1"].first().sort_index() for t in curve_tables]
    return pd.concat(per_seed, axis=1).mean(axis=1).to_numpy()


def sigma2_sq_on_test(
    z_spec: np.ndarray, z_photo: np.ndarray, mag_row: np.ndarray, grid: RedshiftGrid, sigma1: np.ndarray
) -> np.ndarray:
    """Each test galaxy's sigma_2^2 (redshift^2) from Eq. 6 curves measured on the test data
    with sigma_1 fitted on the balanced training subset (Sect. 4.2); the two outputs of an
    odd row are averaged (footnote 7).  Outputs without test galaxies borrow the mean curve."""
    _, curves = error_curves(z_spec, z_photo, mag_row, grid, np.asarray(sigma1) / grid.width)
    curves = curves * grid.width**2
    fill = np.nanmean(curves, axis=0)
    empty = ~np.isfinite(curves).all(axis=1)
    curves[empty] = fill
    lo, hi = activated_outputs(mag_row)
    return per_galaxy_sigma2_sq(curves, grid.bin_index(z_spec), lo, hi)


def evaluate_catalogue(cat: pd.DataFrame, methods, grid_cfg: dict, part: dict,
                       curve_tables: list[pd.DataFrame],
                       estimates=("zmode", "zmean", "zmedian")) -> pd.DataFrame:
    """``evaluation.evaluate_methods`` of a part's catalogue columns, each weighted with its own
    Eq. 6 curves measured on the test data (sigma_1 from the seeds' ``error_curves`` tables)."""
    grid = RedshiftGrid.from_config(grid_cfg)
    sigma1 = mean_sigma1(curve_tables)
    sigma2 = {}
    for m in methods:
        for e in estimates:
            col = f"{m}_{e}"
            if col in cat:
                sigma2[(m, e)] = sigma2_sq_on_test(
                    cat["z_spec"].to_numpy(), cat[col].to_numpy(), cat["mag_row"].to_numpy(), grid, sigma1
                )
    return evaluate_methods(cat, methods, estimates, config=evaluation_config(grid, part),
                            sigma2_sq=sigma2)


def _sdss_defaults() -> dict:
    w = 0.4 / 180
    return {
        "z_break": 0.15,
        "outlier_threshold": 0.05,
        "zspec_bins": np.linspace(0.0, 0.4, 41),
        "zphoto_bins": np.linspace(0.0, 0.4, 41),
        "tv_bins": -0.2 + w * np.arange(361),
        "r_bins": np.linspace(12.5, 18.0, 12),
        "n_boot": 100,
        "n_boot_bins": 20,
        "n_sim": 20,
        "min_count": 10,
        "floor_methods": ("baseline",),
        "seed": 0,
        "z_col": "z_spec",
        "r_col": "r_mag",
    }


#: evaluate_methods' configuration defaults (SDSS, Table 1 and Sect. 4.2)
DEFAULT_EVAL_CONFIG = _sdss_defaults()

#: the global metrics of Appendix E, in the paper's column order
APPENDIX_E_METRICS = ("mean_residual", "sigma_mad", "outlier_fraction")


def _estimate_columns(df: pd.DataFrame, method: str, estimates: Sequence[str]) -> dict[str, str]:
    cols = {e: f"{method}_{e}" for e in estimates if f"{method}_{e}" in df.columns}
    if cols:
        return cols
    if f"{method}_z" in df.columns:
        return {"z": f"{method}_z"}
    if method in df.columns:
        return {"z": method}
    return {}


def evaluate_methods(
    catalogue_df: pd.DataFrame,
    methods: Sequence[str],
    estimates: Sequence[str] = ("zmode", "zmean", "zmedian"),
    config: Mapping | None = None,
    sigma2_sq: Mapping | None = None,
) -> pd.DataFrame:
    """All metrics of all methods and point estimates as one tidy table (``metrics.parquet``).

    Columns: ``method, estimate, metric, bin_lo, bin_hi, value, error``; global metrics
    have NaN bins.  For each method and estimate (catalogue column ``<method>_<estimate>``;
    a method without such columns is looked up as ``<method>_z`` or ``<method>``, e.g. the
    peers ``knn`` -> ``knn_z`` and ``survey_photoz``, with estimate ``'z'``):

    Global (error = bootstrap standard deviation, ``n_boot`` resamples):
      ``n_galaxies``; ``mean_residual`` (<dz>); ``sigma_mad`` (Eq. 11);
      ``outlier_fraction`` (|dz| > ``outlier_threshold``); ``mean_redshift_residual``
      (Eq. 12); ``total_variation`` (Eq. 10 on ``tv_bins``); ``wasserstein1`` (Eq. 13 on
      ``tv_bins``).
    Eq. 9 fit of the z_spec curve (error = least-squares standard error):
      ``slope_low`` (A), ``intercept_low`` (B), ``slope_high`` (C), ``intercept_high`` (D).
    Linear fits of the z_photo curve (weights ``n / RMS^2``, bins with >= ``min_count``):
      ``slope_zphoto`` over all ``zphoto_bins``; ``slope_zphoto_high`` over bins with
      ``bin_lo >= z_break`` (the high-z interval).
    ``tv_floor`` (methods in ``floor_methods``, the Baseline by default): mean and 1-sigma of
      D_TV of ``n_sim`` simulated samples without mode collapse (:func:`simulated_tv_floor`).
    Curves (one row per bin): ``mean_residual_zspec`` (weighted, Eq. 6 errors),
      ``mean_residual_zphoto`` (RMS errors), ``sigma_mad_rmag``, ``wasserstein1_rmag``,
      ``delta_mean_z_zphoto`` and ``delta_mean_z_rmag`` (Eq. 12 per tomographic / magnitude
      bin); per-bin errors from ``n_boot_bins`` bootstrap resamples; bins with fewer than
      ``min_count`` galaxies give NaN.

    Parameters
    ----------
    catalogue_df : the catalogue (``z_spec``, ``r_mag`` and the estimate columns).
    methods : method names, e.g. ``baseline step1 ... step3 step4 knn survey_photoz``.
    estimates : point estimates to evaluate where present.
    config : overrides of :data:`DEFAULT_EVAL_CONFIG` (``z_break``, ``outlier_threshold``,
        ``zspec_bins``, ``zphoto_bins``, ``tv_bins``, ``r_bins``, ``n_boot``, ``n_boot_bins``,
        ``n_sim``, ``min_count``, ``floor_methods``, ``seed``, ``z_col``, ``r_col``).
    sigma2_sq : optional mapping ``method`` or ``(method, estimate)`` -> (N,) ``sigma_2^2``
        per galaxy (Eq. 6 curves measured on the test data, :func:`per_galaxy_sigma2_sq`).
        Without it the z_spec curve is an unweighted mean with standard errors.

    Returns
    -------
    DataFrame with :data:`METRICS_COLUMNS`.
    """
    cfg = {**DEFAULT_EVAL_CONFIG, **(config or {})}
    unknown = set(config or {}) - set(DEFAULT_EVAL_CONFIG)
    if unknown:
        raise InputError(
            f"unknown keys {sorted(unknown)}",
            field="config",
            expected=f"keys among {sorted(DEFAULT_EVAL_CONFIG)}",
        )
    for col in (cfg["z_col"], cfg["r_col"]):
        if col not in catalogue_df.columns:
            raise InputError(
                f"column {col!r} missing", field=col, expected="a catalogue with z_spec and r_mag"
            )
    zs = catalogue_df[cfg["z_col"]].to_numpy(np.float64)
    r = catalogue_df[cfg["r_col"]].to_numpy(np.float64)
    thr, zb, seed = cfg["outlier_threshold"], cfg["z_break"], cfg["seed"]
    tv_bins = np.asarray(cfg["tv_bins"], dtype=np.float64)
    rows: list[dict] = []

    def add(method, est, metric, value, error=np.nan, lo=np.nan, hi=np.nan):
        rows.append(
            dict(
                method=method,
                estimate=est,
                metric=metric,
                bin_lo=float(lo),
                bin_hi=float(hi),
                value=float(value),
                error=float(error),
            )
        )

    def add_curve(method, est, metric, frame):
        for lo, hi, v, e in frame[["bin_lo", "bin_hi", "value", "error"]].itertuples(index=False):
            add(method, est, metric, v, e, lo, hi)

    scalar = {
        "mean_residual": mean_residual,
        "sigma_mad": sigma_mad,
        "outlier_fraction": lambda p, s: outlier_fraction(p, s, thr),
        "mean_redshift_residual": mean_redshift_residual,
        "total_variation": lambda p, s: total_variation(p, s, tv_bins),
        "wasserstein1": lambda p, s: wasserstein1(p, s, tv_bins),
    }
    found_any = False
    for method in methods:
        for est, col in _estimate_columns(catalogue_df, method, estimates).items():
            found_any = True
            zp = catalogue_df[col].to_numpy(np.float64)
            ok = np.isfinite(zp)
            zp_ok, zs_ok, r_ok = zp[ok], zs[ok], r[ok]
            add(method, est, "n_galaxies", ok.sum())
            errs = bootstrap_errors(scalar, zp_ok, zs_ok, n_boot=cfg["n_boot"], seed=seed)
            for name, fn in scalar.items():
                add(method, est, name, fn(zp_ok, zs_ok), errs[name])

            s2 = None
            if sigma2_sq is not None:
                s2 = sigma2_sq.get((method, est), sigma2_sq.get(method))
                s2 = None if s2 is None else np.asarray(s2, dtype=np.float64)[ok]
            curve = mean_residual_vs_zspec(zp_ok, zs_ok, s2, cfg["zspec_bins"])
            add_curve(method, est, "mean_residual_zspec", curve)
            (a, b, c, d), (ea, eb, ec, ed) = eq9_fit_of_curve(curve, zb, cfg["min_count"])
            for name, v, e in (
                ("slope_low", a, ea),
                ("intercept_low", b, eb),
                ("slope_high", c, ec),
                ("intercept_high", d, ed),
            ):
                add(method, est, name, v, e)

            pcurve = mean_residual_vs_zphoto(zp_ok, zs_ok, cfg["zphoto_bins"])
            add_curve(method, est, "mean_residual_zphoto", pcurve)
            n = pcurve["n"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                wp = np.where(n >= cfg["min_count"], n / pcurve["error"].to_numpy() ** 2, 0.0)
            pc = 0.5 * (pcurve["bin_lo"] + pcurve["bin_hi"]).to_numpy()
            pv = pcurve["value"].to_numpy()
            (sa, _), (sea, _) = wls_line(pc, pv, wp)
            add(method, est, "slope_zphoto", sa, sea)
            high = pcurve["bin_lo"].to_numpy() >= zb - 1e-12
            (sh, _), (seh, _) = wls_line(pc[high], pv[high], wp[high])
            add(method, est, "slope_zphoto_high", sh, seh)

            if method in cfg["floor_methods"]:
                m, s = simulated_tv_floor(
                    zp_ok, zs_ok, cfg["zspec_bins"], tv_bins, s2, cfg["n_sim"], seed
                )
                add(method, est, "tv_floor", m, s)

            nbb, mc = cfg["n_boot_bins"], cfg["min_count"]
            per_bin = [
                ("sigma_mad_rmag", sigma_mad, r_ok, cfg["r_bins"]),
                ("wasserstein1_rmag", scalar["wasserstein1"], r_ok, cfg["r_bins"]),
                ("delta_mean_z_rmag", mean_redshift_residual, r_ok, cfg["r_bins"]),
                ("delta_mean_z_zphoto", mean_redshift_residual, zp_ok, cfg["zphoto_bins"]),
            ]
            for name, fn, x, bins in per_bin:
                add_curve(
                    method, est, name, binned_metric(fn, zp_ok, zs_ok, x, bins, mc, nbb, seed)
                )
    if not found_any:
        raise InputError(
            f"no estimate column for methods {list(methods)}",
            field="methods",
            expected="columns named <method>_<estimate>, <method>_z or <method>",
        )
    return pd.DataFrame(rows, columns=METRICS_COLUMNS)


def appendix_e_table(
    metrics_df: pd.DataFrame, estimates: Sequence[str] = ("zmode", "zmean", "zmedian")
) -> pd.DataFrame:
    """Tables E.1-E.3: ``<dz>``, ``sigma_MAD`` and ``eta`` per method and point estimate.

    Parameters
    ----------
    metrics_df : the tidy table of :func:`evaluate_methods`.
    estimates : the point estimates, in column order.

    Returns
    -------
    DataFrame with a ``method`` column (methods in their order in ``metrics_df``; methods
    without any of ``estimates``, such as the peers' ``'z'``, are left out) and one
    column ``<metric>_<estimate>`` per metric of :data:`APPENDIX_E_METRICS` and estimate
    (``outlier_fraction`` as a fraction, not percent); NaN where a method lacks an estimate.
    """
    missing = set(METRICS_COLUMNS) - set(metrics_df.columns)
    if missing:
        raise InputError(
            f"columns {sorted(missing)} missing",
            field="metrics_df",
            expected=f"columns {METRICS_COLUMNS}",
        )
    g = metrics_df[
        metrics_df["bin_lo"].isna()
        & metrics_df["metric"].isin(APPENDIX_E_METRICS)
        & metrics_df["estimate"].isin(estimates)
    ]
    methods = list(dict.fromkeys(g["method"]))
    out = pd.DataFrame({"method": methods})
    for est in estimates:
        for metric in APPENDIX_E_METRICS:
            sel = g[(g["estimate"] == est) & (g["metric"] == metric)].set_index("method")["value"]
            out[f"{metric}_{est}"] = [float(sel.get(m, np.nan)) for m in methods]
    return out
