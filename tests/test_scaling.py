"""The scaling experiment: its reductions (evaluate.scaling) by hand, its figure, and what
config/scaling.yaml schedules (both variances on the same trunks)."""

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from photoz_debias.evaluate.scaling import claim_row, scaling_table, sigma1_per_output, step_rows, summary_markdown

ROOT = Path(__file__).resolve().parents[1]


def metrics_table(values):
    """A metrics table (zmode, scalars) of {(method, metric): (value, error)}."""
    return pd.DataFrame([{"method": m, "metric": k, "estimate": "zmode", "bin_lo": np.nan,
                          "bin_hi": np.nan, "value": v, "error": e}
                         for (m, k), (v, e) in values.items()])


def point(c_step3=0.02, sigma_step3=0.012):
    v = {}
    for m, (smad, eta, a, c, tv) in {
        "baseline": (0.010, 0.004, -0.10, -0.12, 0.20),
        "step1": (0.011, 0.005, -0.12, -0.15, 0.21),
        "step2": (0.011, 0.006, -0.05, -0.08, 0.15),
        "step3": (sigma_step3, 0.008, -0.01, c_step3, 0.08),
        "step4": (0.011, 0.006, -0.09, -0.05, 0.06),
    }.items():
        v.update({(m, "sigma_mad"): (smad, 1e-4), (m, "outlier_fraction"): (eta, 1e-3),
                  (m, "slope_low"): (a, 0.005), (m, "slope_high"): (c, 0.01),
                  (m, "total_variation"): (tv, 0.005),
                  (m, "slope_zphoto"): (0.2 if m == "step3" else 0.05, 0.005)})
    v[("baseline", "tv_floor")] = (0.05, 0.003)
    return metrics_table(v)


def test_step_rows_are_relative_to_the_baseline_and_its_floor():
    t = step_rows(point()).set_index("method")
    assert list(t.index) == ["baseline", "step1", "step2", "step3", "step4"]
    assert t.loc["step3", "sigma_mad_rel"] == pytest.approx(1.2)
    assert t.loc["step3", "eta_rel"] == pytest.approx(2.0)
    assert t.loc["step4", "tv_excess"] == pytest.approx(0.06 - 0.05)
    assert t.loc["baseline", "C"] == -0.12 and t.loc["step3", "C_err"] == 0.01


def test_claim_row_counts_the_seeds_that_hold_claim_2():
    seeds = pd.DataFrame({"model": ["seed 0", "seed 1", "seed 2", "ensemble"],
                          "claim2": [True, False, True, True], "margin2": [1.5, -0.3, 0.8, 2.0],
                          "C_step3": [0.01, 0.07, 0.03, 0.02], "C_baseline": [-0.1, -0.12, -0.11, -0.12]})
    c = claim_row(point(), seeds)
    assert c["claim1"] and c["claim2"] and c["claim3"] and c["claim4"]
    assert (c["n_seeds"], c["seeds_claim2"]) == (3, 2)
    assert c["seed_margins2"] == "+1.5, -0.3, +0.8"
    assert c["C_step3_seed_sd"] == pytest.approx(np.std([0.01, 0.07, 0.03], ddof=1))
    # |C(Step 3)| above half the Baseline's: claim 2 fails for the ensemble
    assert not claim_row(point(c_step3=0.07))["claim2"]


def test_sigma1_per_output_is_the_mean_and_spread_over_seeds():
    curves = [pd.DataFrame({"output": [0, 0, 1, 1], "sigma1": [s0, s0, s1, s1]})
              for s0, s1 in ((0.01, 0.02), (0.03, 0.04))]
    s = sigma1_per_output(curves).set_index("output")
    assert s.loc[0, "sigma1"] == pytest.approx(0.02) and s.loc[1, "sigma1"] == pytest.approx(0.03)
    assert s.loc[1, "sigma1_sd"] == pytest.approx(np.std([0.02, 0.04], ddof=1))


def test_scaling_table_summary_and_figure(tmp_path):
    from photoz_debias.figures.scaling import plot_scaling
    from photoz_debias.figures.style import merge_style

    pts = [dict(dataset=f"s{n}", part=v, variance=v, n_train=n,
                metrics=point(sigma_step3=0.012 if n < 50000 else 0.0105))
           for n in (10000, 80000) for v in ("eq7", "measured")]
    t = scaling_table(pts)
    assert len(t) == 4 * 5 and set(t["variance"]) == {"eq7", "measured"}
    big = t[(t.n_train == 80000) & (t.method == "step3") & (t.variance == "eq7")]
    assert big["sigma_mad_rel"].iloc[0] == pytest.approx(1.05)
    md = summary_markdown(t)
    assert "| 80,000 | Step 3 | 0.0105 | 1.05 |" in md and "### Eq. 8 variance: measured" in md
    seeds = pd.DataFrame({"variance": ["eq7"] * 2, "n_train": [10000, 80000], "margin2": [0.5, 1.0]})
    s1 = pd.DataFrame({"variance": "eq7", "n_train": [10000, 80000], "output": 0,
                       "sigma1": [0.02, 0.01], "sigma1_sd": [0.002, 0.001]})
    paths = plot_scaling(t, seeds, s1, merge_style({"formats": ["png"]}), tmp_path / "scaling")
    assert paths[0].stat().st_size > 10_000


def test_the_overlay_trains_each_trunk_once_for_both_variances(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "scaling", "-n", "--cores", "2", "--workflow-profile",
         "none", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(ROOT / "config" / "config.yaml"), str(ROOT / "config" / "scaling.yaml")],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    counts = Counter(re.findall(r"^(?:local)?rule (\w+):", res.stdout, flags=re.M))
    # three sizes x three seeds: one Baseline and one Step 1 per seed, shared by both parts
    assert counts["train_baseline"] == counts["train_step1"] == 9
    # Step 3 per part; the measured variance only where a part asks for it
    assert counts["train_step3"] == 18
    assert counts["measure_label_variance"] == 9
    assert counts["seed_claims"] == 6 and counts["scaling_table"] == 1


def test_rmag_rows_divide_each_bin_by_the_baselines_same_bin():
    from photoz_debias.evaluate.scaling import rmag_markdown, rmag_rows

    rows = [{"method": m, "metric": "sigma_mad_rmag", "estimate": "zmode", "bin_lo": lo,
             "bin_hi": lo + 1, "value": v, "error": 0.0}
            for m, vals in (("baseline", (0.010, 0.020)), ("step3", (0.015, 0.020)))
            for lo, v in zip((15.0, 16.0), vals)]
    r = rmag_rows(pd.DataFrame(rows), methods=("step3",))
    assert list(r["sigma_mad_rel"]) == pytest.approx([1.5, 1.0])
    md = rmag_markdown(r.assign(variance="eq7", n_train=10000))
    assert "| 10,000 | Step 3 | 1.50 | 1.00 |" in md
