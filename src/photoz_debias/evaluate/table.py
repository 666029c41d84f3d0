"""The metrics table (``metrics.parquet``): its columns, its check, and the one way to read
a value or a per-bin curve of a method out of it (figures, claims and tables all read it so).

One row per (method, estimate, metric, bin): global metrics have NaN ``bin_lo``/``bin_hi``;
the peers (kNN, survey photo-z) carry one estimate of their own, which a look-up of any
estimate returns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError, require_columns
from photoz_debias.methods import method_key


#: the columns of the metrics table, in order
METRICS_COLUMNS = ["method", "estimate", "metric", "bin_lo", "bin_hi", "value", "error"]


def check_metrics(metrics: pd.DataFrame, what: str = "metrics", need=()) -> pd.DataFrame:
    """Check the tidy metrics schema and that each metric name in ``need`` occurs."""
    require_columns(metrics, METRICS_COLUMNS, what)
    present = set(metrics["metric"].unique())
    for name in need:
        if name not in present:
            raise InputError(
                f"{what} has no rows with metric {name!r}",
                field="metric",
                expected=f"one of the metric names of photoz_debias.evaluate.catalogue.METRIC_DOCS; present: {sorted(present)}",
            )
    return metrics


def _select(metrics, method, metric, estimate):
    m = metrics[(metrics["method"].map(method_key) == method_key(method)) & (metrics["metric"] == metric)]
    if m.empty:
        return m
    if estimate is not None:
        sel = m[m["estimate"] == estimate]
        # Peers (kNN, survey photo-z) carry one estimate of their own; use it.
        if sel.empty and m["estimate"].nunique() == 1:
            sel = m
        return sel
    if m["estimate"].nunique() > 1:
        m = m[m["estimate"] == ("zmode" if "zmode" in set(m["estimate"]) else m["estimate"].iloc[0])]
    return m


def get_curve(metrics: pd.DataFrame, method: str, metric: str, estimate: str | None = "zmode"):
    """A per-bin curve as arrays ``(x, lo, hi, value, error)`` sorted by bin, or None.

    ``x`` is the bin centre; empty bins (NaN value) are kept so lines break there.
    """
    m = _select(metrics, method, metric, estimate)
    m = m[np.isfinite(m["bin_lo"].to_numpy(float))]
    if m.empty:
        return None
    m = m.sort_values("bin_lo")
    lo = m["bin_lo"].to_numpy(float)
    hi = m["bin_hi"].to_numpy(float)
    err = m["error"].to_numpy(float) if "error" in m else np.full(len(m), np.nan)
    return 0.5 * (lo + hi), lo, hi, m["value"].to_numpy(float), err


def get_scalar(metrics: pd.DataFrame, method: str, metric: str, estimate: str | None = "zmode"):
    """A global metric as ``(value, error)``; ``(nan, nan)`` when absent.  A table without
    bin columns (global metrics only, as the claims read) is taken whole."""
    m = _select(metrics, method, metric, estimate)
    if "bin_lo" in m:
        m = m[~np.isfinite(m["bin_lo"].to_numpy(float))]
    if m.empty:
        return np.nan, np.nan
    return float(m["value"].iloc[0]), float(m["error"].iloc[0])


def present_methods(metrics: pd.DataFrame, wanted, metric: str | None = None) -> list[str]:
    """The methods of ``wanted`` that have rows (with ``metric`` if given), in order."""
    m = metrics if metric is None else metrics[metrics["metric"] == metric]
    have = {method_key(x) for x in m["method"].unique()}
    return [w for w in wanted if method_key(w) in have]
