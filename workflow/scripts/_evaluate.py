"""Metrics of a set of catalogue columns, with the Eq. 6 test-data weights (Sect. 4.2)."""

import pandas as pd

from photoz_debias.evaluate.evaluation import evaluate_catalogue


def evaluate(cat, methods, grid_cfg, part, curve_files, estimates=("zmode", "zmean", "zmedian")):
    curves = [pd.read_parquet(f) for f in curve_files]
    return evaluate_catalogue(cat, methods, grid_cfg, part, curves, estimates)
