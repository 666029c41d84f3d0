"""Metrics of a set of catalogue columns, with the Eq. 6 test-data weights (Sect. 4.2)."""

import pandas as pd

from photoz_debias.evaluation import evaluation_config, mean_sigma1, sigma2_sq_on_test
from photoz_debias.grid import RedshiftGrid
from photoz_debias.metrics import evaluate_methods


def evaluate(cat, methods, grid_cfg, part, curve_files, estimates=("zmode", "zmean", "zmedian")):
    grid = RedshiftGrid(grid_cfg["z_min"], grid_cfg["z_max"], grid_cfg["n_bins"])
    sigma1 = mean_sigma1([pd.read_parquet(f) for f in curve_files])
    sigma2 = {}
    for m in methods:
        for e in estimates:
            col = f"{m}_{e}"
            if col in cat:
                sigma2[(m, e)] = sigma2_sq_on_test(
                    cat["z_spec"].to_numpy(), cat[col].to_numpy(), cat["mag_row"].to_numpy(), grid, sigma1
                )
    cfg = evaluation_config(grid, part)
    return evaluate_methods(cat, methods, estimates, config=cfg, sigma2_sq=sigma2)
