import math

import pandas as pd
import pytest

from photoz_debias.evaluate.claims import claim_margin, paper_claims, to_markdown


def metrics(cb, c3, tb, t3, s3, s4):
    rows = [
        ("baseline", "slope_high", cb), ("step3", "slope_high", c3),
        ("baseline", "total_variation", tb), ("step3", "total_variation", t3),
        ("step3", "slope_zphoto", s3), ("step4", "slope_zphoto", s4),
    ]
    return pd.DataFrame(
        [dict(method=m, estimate="zmode", metric=k, bin_lo=float("nan"), bin_hi=float("nan"),
              value=v, error=0.01) for m, k, v in rows]
    )


def test_claims_hold_and_fail_on_hand_made_tables():
    ok = paper_claims(metrics(cb=-0.4, c3=-0.1, tb=0.3, t3=0.2, s3=0.2, s4=0.05))
    assert ok["holds"].all()
    bad = paper_claims(metrics(cb=0.1, c3=-0.3, tb=0.2, t3=0.3, s3=0.05, s4=-0.2))
    assert not bad["holds"].any()
    # exactly half counts as "at most half"
    assert paper_claims(metrics(-0.4, 0.2, 0.3, 0.2, 0.2, 0.1))["holds"].iloc[1]
    assert to_markdown(bad).count("| NO |") == 4
    # every row has exactly the table's four cell borders (|C| is escaped)
    assert all(line.replace("\\|", "").count("|") == 5 for line in to_markdown(bad).splitlines())


def test_margins_count_standard_errors_by_hand():
    # every error 0.01: claim 1 -C/0.01; claim 2 (|Cb|/2 - |C3|)/sqrt(0.01^2 + 0.005^2);
    # claims 3-4 the gap over sqrt(2) x 0.01
    m = paper_claims(metrics(cb=-0.05, c3=0.035, tb=0.26, t3=0.12, s3=0.079, s4=0.017))["margin"].tolist()
    assert m[0] == pytest.approx(5.0)
    assert m[1] == pytest.approx((0.025 - 0.035) / math.sqrt(0.01**2 + 0.005**2))  # -0.89: fails, within noise
    assert m[2] == pytest.approx(0.14 / (0.01 * math.sqrt(2)))
    assert m[3] == pytest.approx(0.062 / (0.01 * math.sqrt(2)))
    assert claim_margin(1.0, 3.0, 4.0) == pytest.approx(0.2)
    assert math.isnan(claim_margin(1.0, 0.0))
    assert "| -0.9 |" in to_markdown(paper_claims(metrics(-0.05, 0.035, 0.26, 0.12, 0.079, 0.017)))
