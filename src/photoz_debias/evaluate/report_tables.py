"""One Markdown table per debiasing part, for the README: every method's global metrics.

    python -m photoz_debias.evaluate.report_tables results/mgs/mlp/all/metrics.parquet

prints, per method (Baseline, Steps 1-4, the Step 3 variants, the kNN peer and RAIL's
FlexZBoost and KNN when the metrics have them), on the zmode point estimate (the kNN peer's
own estimate): the mean residual <dz>, sigma_MAD (Eq. 11), the
outlier fraction, the slopes A (low z) and C (high z) of <dz> vs z_spec (Eq. 9), the slope of
<dz> vs z_photo, and the total variation distance D_TV (Eq. 10) with its simulated floor.
Values are read from ``metrics.parquet``; nothing is computed here but the formatting.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from photoz_debias.evaluate.table import get_scalar
from photoz_debias.methods import LABELS, METHODS

#: the rows of a table, in the paper's order, the peer last
TABLE_METHODS = (*METHODS, "step4", "knn", "rail_flexzboost", "rail_knn")
#: (metric, column header, with its bootstrap/fit error, number format)
COLUMNS = [
    ("mean_residual", "<Δz>", False, "{:.5f}"),
    ("sigma_mad", "σ_MAD", False, "{:.5f}"),
    ("outlier_fraction", "η", False, "{:.2%}"),
    ("slope_low", "A (z_spec < z_b)", True, "{:.3f}"),
    ("slope_high", "C (z_spec > z_b)", True, "{:.3f}"),
    ("slope_zphoto", "slope vs z_photo", True, "{:.3f}"),
    ("total_variation", "D_TV", True, "{:.3f}"),
]


def summary_table(metrics: pd.DataFrame) -> str:
    """The Markdown table of the module docstring.

    Parameters
    ----------
    metrics : the tidy ``metrics.parquet`` table (``method, estimate, metric, bin_lo, bin_hi,
        value, error``).

    Returns
    -------
    str
        One row per method present, in the paper's order; a value the table lacks is ``–``.
        The D_TV floor (Sect. 4.3) is given under the table when the Baseline has one.
    """
    head = "| method | " + " | ".join(c[1] for c in COLUMNS) + " |"
    lines = [head, "|---|" + "---:|" * len(COLUMNS)]
    present = set(metrics["method"])
    for method in TABLE_METHODS:
        label = LABELS[method]
        if method not in present:
            continue
        cells = []
        for metric, _, with_err, fmt in COLUMNS:
            v, e = get_scalar(metrics, method, metric)
            if not np.isfinite(v):
                cells.append("–")
            elif with_err and np.isfinite(e):
                cells.append(f"{fmt.format(v)} ± {fmt.format(e)}")
            else:
                cells.append(fmt.format(v))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    floor, floor_err = get_scalar(metrics, "baseline", "tv_floor")
    if np.isfinite(floor):
        lines.append("")
        lines.append(f"D_TV floor (simulated z_photo without mode collapse): {floor:.3f}"
                     + (f" ± {floor_err:.3f}" if np.isfinite(floor_err) else ""))
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", help="a part's metrics.parquet")
    args = ap.parse_args(argv)
    print(summary_table(pd.read_parquet(args.metrics)))


if __name__ == "__main__":
    main()
