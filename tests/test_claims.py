import pandas as pd

from photoz_debias.claims import paper_claims, to_markdown


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
    assert all(line.replace("\\|", "").count("|") == 4 for line in to_markdown(bad).splitlines())
