"""The paper's qualitative claims (Sects. 4.2-4.3), checked on a metrics table.

    python -m photoz_debias.claims results/sdss/netcpu/all/metrics.parquet

prints the numbers behind each claim and whether it holds, as a Markdown table:

1. Baseline's high-redshift slope C of <Δz> vs z_spec (Eq. 9) is negative;
2. Step 3's slope C is at most half of Baseline's in magnitude;
3. Step 3's total variation distance D_TV (Eq. 10) is below Baseline's;
4. Step 4's slope of <Δz> vs z_photo is smaller in magnitude than Step 3's.

All on the zmode point estimate, the paper's choice.  ``holds`` compares the values, as the
paper does; ``margin`` says by how many standard errors (``claim_margin``), so that a claim
that holds or fails by less than its noise reads as such.  The exit status is 0 either way:
this reports, it does not tune.
"""

from __future__ import annotations

import argparse
import math

import pandas as pd


def _scalar(m: pd.DataFrame, method: str, metric: str, estimate: str = "zmode"):
    row = m[(m["method"] == method) & (m["metric"] == metric) & (m["estimate"] == estimate)]
    if row.empty:
        return float("nan"), float("nan")
    return float(row["value"].iloc[0]), float(row["error"].iloc[0])


def claim_margin(gap: float, *errors: float) -> float:
    """``gap`` (positive where the claim holds) in units of the errors added in quadrature.

    The errors are bootstrap errors over the same test galaxies, so the methods' values are
    positively correlated and the quadrature sum over-states the error of their difference:
    the margin is a conservative count of standard errors.
    """
    err = math.sqrt(sum(float(e) ** 2 for e in errors))
    if not err > 0:
        return float("nan")
    return float(gap) / err


def paper_claims(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the quantities compared, their values (with errors) and the verdict."""
    cb, cb_e = _scalar(metrics, "baseline", "slope_high")
    c3, c3_e = _scalar(metrics, "step3", "slope_high")
    tb, tb_e = _scalar(metrics, "baseline", "total_variation")
    t3, t3_e = _scalar(metrics, "step3", "total_variation")
    s3, s3_e = _scalar(metrics, "step3", "slope_zphoto")
    s4, s4_e = _scalar(metrics, "step4", "slope_zphoto")
    rows = [
        (
            "Baseline high-z slope C of <Δz> vs z_spec is negative",
            f"C = {cb:.4f} ± {cb_e:.4f}",
            cb < 0,
            claim_margin(-cb, cb_e),
        ),
        (
            "Step 3's |C| is at most half of Baseline's",
            f"C(Step 3) = {c3:.4f} ± {c3_e:.4f}; |C(Baseline)|/2 = {abs(cb) / 2:.4f} ± {cb_e / 2:.4f}",
            abs(c3) <= abs(cb) / 2,
            claim_margin(abs(cb) / 2 - abs(c3), c3_e, cb_e / 2),
        ),
        (
            "Step 3's D_TV is below Baseline's",
            f"{t3:.4f} ± {t3_e:.4f} vs {tb:.4f} ± {tb_e:.4f}",
            t3 < tb,
            claim_margin(tb - t3, t3_e, tb_e),
        ),
        (
            "Step 4's slope of <Δz> vs z_photo is smaller in magnitude than Step 3's",
            f"{s4:.4f} ± {s4_e:.4f} vs {s3:.4f} ± {s3_e:.4f}",
            abs(s4) < abs(s3),
            claim_margin(abs(s3) - abs(s4), s4_e, s3_e),
        ),
    ]
    return pd.DataFrame(rows, columns=["claim", "values (zmode)", "holds", "margin"])


def to_markdown(df: pd.DataFrame) -> str:
    lines = ["| claim | values (zmode) | holds | margin (standard errors) |", "|---|---|---|---:|"]

    def cell(text: str) -> str:  # a bare | would end the Markdown cell
        return str(text).replace("|", "\\|")

    for claim, values, holds, margin in df.itertuples(index=False):
        lines.append(f"| {cell(claim)} | {cell(values)} | {'yes' if holds else 'NO'} | {margin:+.1f} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("metrics", help="a metrics.parquet written by the workflow")
    args = ap.parse_args(argv)
    print(to_markdown(paper_claims(pd.read_parquet(args.metrics))))


if __name__ == "__main__":
    main()
