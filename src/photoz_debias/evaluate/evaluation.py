"""Glue between the catalogue and the metrics: the evaluation settings of a dataset part and
each test galaxy's Eq. 6 quadratic error, measured on the test data (Sect. 4.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.grid import RedshiftGrid, activated_outputs
from photoz_debias.evaluate.metrics import evaluate_methods, per_galaxy_sigma2_sq
from photoz_debias.debias.soft_labels import error_curves


def evaluation_config(grid: RedshiftGrid, part: dict, seed: int = 0) -> dict:
    """``metrics.evaluate_methods`` settings of a part: z bins of width ``tv_bins`` over the
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
    """``metrics.evaluate_methods`` of a part's catalogue columns, each weighted with its own
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
