"""The paper's qualitative claims (Sects. 4.2-4.3), checked on a metrics table.

    python -m photoz_debias.evaluate.claims results/sdss/netcpu/all/metrics.parquet

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

from photoz_debias.evaluate.table import get_scalar


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


def claim_values(metrics: pd.DataFrame) -> dict:
    """The numbers behind each claim (zmode), its verdict ``claim<k>`` and ``margin<k>``."""
    cb, cb_e = get_scalar(metrics, "baseline", "slope_high")
    c3, c3_e = get_scalar(metrics, "step3", "slope_high")
    tb, tb_e = get_scalar(metrics, "baseline", "total_variation")
    t3, t3_e = get_scalar(metrics, "step3", "total_variation")
    s3, s3_e = get_scalar(metrics, "step3", "slope_zphoto")
    s4, s4_e = get_scalar(metrics, "step4", "slope_zphoto")
    return {
        "C_baseline": cb, "C_baseline_err": cb_e, "C_step3": c3, "C_step3_err": c3_e,
        "bound": abs(cb) / 2,
        "tv_baseline": tb, "tv_baseline_err": tb_e, "tv_step3": t3, "tv_step3_err": t3_e,
        "slope_zphoto_step3": s3, "slope_zphoto_step3_err": s3_e,
        "slope_zphoto_step4": s4, "slope_zphoto_step4_err": s4_e,
        "claim1": cb < 0, "margin1": claim_margin(-cb, cb_e),
        "claim2": abs(c3) <= abs(cb) / 2, "margin2": claim_margin(abs(cb) / 2 - abs(c3), c3_e, cb_e / 2),
        "claim3": t3 < tb, "margin3": claim_margin(tb - t3, t3_e, tb_e),
        "claim4": abs(s4) < abs(s3), "margin4": claim_margin(abs(s3) - abs(s4), s4_e, s3_e),
    }


def paper_claims(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per claim: the quantities compared, their values (with errors) and the verdict."""
    v = claim_values(metrics)
    cb, cb_e, c3, c3_e = v["C_baseline"], v["C_baseline_err"], v["C_step3"], v["C_step3_err"]
    tb, tb_e, t3, t3_e = v["tv_baseline"], v["tv_baseline_err"], v["tv_step3"], v["tv_step3_err"]
    s3, s3_e = v["slope_zphoto_step3"], v["slope_zphoto_step3_err"]
    s4, s4_e = v["slope_zphoto_step4"], v["slope_zphoto_step4_err"]
    texts = [
        ("Baseline high-z slope C of <Δz> vs z_spec is negative", f"C = {cb:.4f} ± {cb_e:.4f}"),
        (
            "Step 3's |C| is at most half of Baseline's",
            f"C(Step 3) = {c3:.4f} ± {c3_e:.4f}; |C(Baseline)|/2 = {abs(cb) / 2:.4f} ± {cb_e / 2:.4f}",
        ),
        ("Step 3's D_TV is below Baseline's", f"{t3:.4f} ± {t3_e:.4f} vs {tb:.4f} ± {tb_e:.4f}"),
        (
            "Step 4's slope of <Δz> vs z_photo is smaller in magnitude than Step 3's",
            f"{s4:.4f} ± {s4_e:.4f} vs {s3:.4f} ± {s3_e:.4f}",
        ),
    ]
    rows = [(claim, values, v[f"claim{k}"], v[f"margin{k}"]) for k, (claim, values) in enumerate(texts, 1)]
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
