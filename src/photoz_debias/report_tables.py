"""One Markdown table per debiasing part, for the README: every method's global metrics.

    python -m photoz_debias.report_tables results/mgs/mlp/all/metrics.parquet

prints, per method (Baseline, Steps 1-4, the Step 3 variants, the kNN peer), on the zmode
point estimate (the kNN peer's own estimate): the mean residual <dz>, sigma_MAD (Eq. 11), the
outlier fraction, the slopes A (low z) and C (high z) of <dz> vs z_spec (Eq. 9), the slope of
<dz> vs z_photo, and the total variation distance D_TV (Eq. 10) with its simulated floor.
Values are read from ``metrics.parquet``; nothing is computed here but the formatting.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

METHOD_LABELS = {
    "baseline": "Baseline", "step1": "Step 1", "step2": "Step 2", "step3": "Step 3",
    "step3a": "Step 3a", "step3b": "Step 3b", "step3_no_step2": "Step 3\\2",
    "step4": "Step 4", "knn": "kNN peer",
}
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


def _value(m: pd.DataFrame, method: str, metric: str) -> tuple[float, float]:
    estimate = "z" if method == "knn" else "zmode"
    row = m[(m["method"] == method) & (m["metric"] == metric) & (m["estimate"] == estimate)
            & m["bin_lo"].isna()]
    if row.empty:
        return float("nan"), float("nan")
    return float(row["value"].iloc[0]), float(row["error"].iloc[0])


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
    for method, label in METHOD_LABELS.items():
        if method not in present:
            continue
        cells = []
        for metric, _, with_err, fmt in COLUMNS:
            v, e = _value(metrics, method, metric)
            if not np.isfinite(v):
                cells.append("–")
            elif with_err and np.isfinite(e):
                cells.append(f"{fmt.format(v)} ± {fmt.format(e)}")
            else:
                cells.append(fmt.format(v))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    floor, floor_err = _value(metrics, "baseline", "tv_floor")
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
