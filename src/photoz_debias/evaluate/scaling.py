"""The scaling experiment's tables: the paper's numbers against training-set size.

Fig. D.7 of Lin et al. 2022 varies the training set downwards; ``config/scaling.yaml`` runs
the SDSS-like survey upwards (10k, 30k, 80k training galaxies), each point with Eq. 7's and
the measured variance of Eq. 8 as two parts on the same trunks. These functions reduce the
finished points' tables (``metrics.parquet``, the per-seed claims of
``diagnostics.seeds.seed_scatter``, the Eq. 6 error curves with Eq. 4's sigma_1) to one long
table and its readable summary; ``figures.scaling`` draws it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.evaluate.claims import claim_values
from photoz_debias.evaluate.table import get_curve, get_scalar
from photoz_debias.methods import LABELS

#: the chain the experiment follows, Baseline -> Step 4
SCALING_METHODS = ("baseline", "step1", "step2", "step3", "step4")

#: per method: sigma_MAD (Eq. 11), the outlier fraction eta, Eq. 9's low- and high-z slopes
#: A and C of <dz> against z_spec, D_TV (Eq. 10)
STEP_METRICS = {
    "sigma_mad": "sigma_mad",
    "eta": "outlier_fraction",
    "A": "slope_low",
    "C": "slope_high",
    "tv": "total_variation",
}


def step_rows(metrics: pd.DataFrame) -> pd.DataFrame:
    """One row per method of :data:`SCALING_METHODS` present in ``metrics`` (zmode): each
    metric of :data:`STEP_METRICS` with its error, sigma_MAD and eta relative to the
    Baseline's, and D_TV minus the Baseline's simulated floor (the D_TV a collapse-free
    estimate with the Baseline's scatter would have, ``tv_floor``)."""
    floor = get_scalar(metrics, "baseline", "tv_floor")[0]
    base = {k: get_scalar(metrics, "baseline", m)[0] for k, m in STEP_METRICS.items()}
    rows = []
    for method in SCALING_METHODS:
        vals = {k: get_scalar(metrics, method, m) for k, m in STEP_METRICS.items()}
        if all(np.isnan(v[0]) for v in vals.values()):
            continue
        row = {"method": method}
        for k, (v, e) in vals.items():
            row[k], row[f"{k}_err"] = v, e
        row["sigma_mad_rel"] = vals["sigma_mad"][0] / base["sigma_mad"]
        row["eta_rel"] = vals["eta"][0] / base["eta"] if base["eta"] > 0 else np.nan
        row["tv_floor"] = floor
        row["tv_excess"] = vals["tv"][0] - floor
        rows.append(row)
    return pd.DataFrame(rows)


def rmag_rows(metrics: pd.DataFrame, methods=("step1", "step3", "step4")) -> pd.DataFrame:
    """sigma_MAD (Eq. 11) per r-magnitude bin of each method relative to the Baseline's in
    the same bin: where in magnitude a step costs precision (the sparse bright and faint rows
    give each redshift head the fewest galaxies)."""
    base = get_curve(metrics, "baseline", "sigma_mad_rmag")
    if base is None:
        return pd.DataFrame()
    rows = []
    for method in methods:
        c = get_curve(metrics, method, "sigma_mad_rmag")
        if c is None:
            continue
        for lo, hi, v, b in zip(base[1], base[2], c[3], base[3]):
            rows.append({"method": method, "r_lo": lo, "r_hi": hi, "sigma_mad": v,
                         "sigma_mad_baseline": b, "sigma_mad_rel": v / b if b > 0 else np.nan})
    return pd.DataFrame(rows)


def claim_row(metrics: pd.DataFrame, seed_claims: pd.DataFrame | None = None) -> dict:
    """The four claims of the ensemble (verdicts and margins in standard errors, as
    ``claims.claim_values``) and, from ``seed_claims`` (``seed_scatter``'s table), claim 2
    per model: how many seeds hold it, their margins, and the spread of Step 3's C between
    seeds (standard deviation, ddof = 1)."""
    v = claim_values(metrics)
    out = {k: v[k] for k in ("C_baseline", "C_baseline_err", "C_step3", "C_step3_err", "bound")}
    for k in (1, 2, 3, 4):
        out[f"claim{k}"] = bool(v[f"claim{k}"])
        out[f"margin{k}"] = float(v[f"margin{k}"])
    if seed_claims is not None:
        seeds = seed_claims[seed_claims["model"] != "ensemble"]
        out["n_seeds"] = len(seeds)
        out["seeds_claim2"] = int(seeds["claim2"].astype(bool).sum())
        out["seed_margins2"] = ", ".join(f"{m:+.1f}" for m in seeds["margin2"])
        out["C_step3_seed_sd"] = float(seeds["C_step3"].std(ddof=1)) if len(seeds) > 1 else np.nan
        out["C_baseline_seed_sd"] = (float(seeds["C_baseline"].std(ddof=1))
                                     if len(seeds) > 1 else np.nan)
    return out


def sigma1_per_output(curves: list[pd.DataFrame]) -> pd.DataFrame:
    """Eq. 4's sigma_1 of each output (magnitude row) of Step 2's fit, mean and standard
    deviation over the seeds' error curves (one value per output and seed)."""
    per_seed = [c.groupby("output")["sigma1"].first() for c in curves]
    table = pd.concat(per_seed, axis=1)
    return pd.DataFrame({
        "output": table.index.to_numpy(),
        "sigma1": table.mean(axis=1).to_numpy(),
        "sigma1_sd": table.std(axis=1, ddof=1).to_numpy() if table.shape[1] > 1
        else np.full(len(table), np.nan),
    })


def scaling_table(points: list[dict]) -> pd.DataFrame:
    """The long table of the experiment: one row per (point, method).

    Each point is a dict with ``dataset``, ``part``, ``variance`` ('eq7' | 'measured'),
    ``n_train``, ``metrics`` (the part's metrics table) and optionally ``seed_claims``; the
    claims (ensemble and per seed) are repeated on each of the point's rows."""
    frames = []
    for p in points:
        steps = step_rows(p["metrics"])
        claims = claim_row(p["metrics"], p.get("seed_claims"))
        for k in ("dataset", "part", "variance", "n_train"):
            steps[k] = p[k]
        for k, v in claims.items():
            steps[f"ens_{k}" if not k.startswith(("seed", "n_seeds", "C_step3_seed",
                                                  "C_baseline_seed")) else k] = v
        frames.append(steps)
    cols = ["dataset", "part", "variance", "n_train", "method"]
    out = pd.concat(frames, ignore_index=True)
    return out[cols + [c for c in out.columns if c not in cols]]


def rmag_markdown(rmag: pd.DataFrame) -> str:
    """:func:`rmag_rows` of every point (with ``variance`` and ``n_train`` columns) as one
    table per variance: a row per (size, method), a column per r bin."""
    lines = []
    for variance, t in rmag.groupby("variance", sort=False):
        bins = t.drop_duplicates(["r_lo", "r_hi"]).sort_values("r_lo")
        lines += [f"### sigma_MAD per r bin / the Baseline's in that bin ({variance})", "",
                  "| n_train | method | " + " | ".join(f"{a:g}-{b:g}" for a, b in
                                                     zip(bins.r_lo, bins.r_hi)) + " |",
                  "|---:|---|" + "---:|" * len(bins)]
        for (n, method), g in t.groupby(["n_train", "method"], sort=True):
            g = g.set_index("r_lo")
            cells = [f"{g.loc[a, 'sigma_mad_rel']:.2f}" if a in g.index else "" for a in bins.r_lo]
            lines.append(f"| {n:,} | {LABELS.get(method, method)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def summary_markdown(table: pd.DataFrame, sigma1: pd.DataFrame | None = None) -> str:
    """The readable tables of ``scaling_table``: per variance, the steps' precision relative
    to the Baseline, Eq. 9's slopes and D_TV above its floor against training-set size; then
    the claims for the ensemble and each seed; then sigma_1 per output."""
    lines = []
    for variance, t in table.groupby("variance", sort=False):
        lines += [f"### Eq. 8 variance: {variance}", "",
                  "| n_train | method | sigma_MAD | / Baseline | eta | / Baseline | A | C | "
                  "D_TV - floor |", "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for _, r in t.sort_values(["n_train"]).iterrows():
            lines.append(
                f"| {r.n_train:,} | {LABELS.get(r.method, r.method)} | {r.sigma_mad:.4f} | "
                f"{r.sigma_mad_rel:.2f} | {100 * r.eta:.2f}% | {r.eta_rel:.2f} | "
                f"{r.A:+.3f} ± {r.A_err:.3f} | {r.C:+.3f} ± {r.C_err:.3f} | {r.tv_excess:+.3f} |")
        lines.append("")
    lines += ["### The claims", "",
              "Margins in standard errors of Eq. 9's fits (about 15% optimistic: sigma_2 from "
              "(mean + median)/2); per seed: each model alone, claim 2.", "",
              "| variance | n_train | C Baseline | C Step 3 | bound | claim 1 | claim 2 | claim 3 | "
              "claim 4 | seeds holding claim 2 | seeds' claim-2 margins | sd of C Step 3 over seeds |",
              "|---|---:|---:|---:|---:|---|---|---|---|---:|---|---:|"]
    first = table.drop_duplicates(["variance", "n_train"]).sort_values(["variance", "n_train"])
    for _, r in first.iterrows():
        def verdict(k):
            return f"{'holds' if r[f'ens_claim{k}'] else 'fails'} ({r[f'ens_margin{k}']:+.1f})"
        seeds = (f"{int(r.seeds_claim2)} of {int(r.n_seeds)}" if "n_seeds" in r and
                 pd.notna(r.get("n_seeds")) else "")
        lines.append(
            f"| {r.variance} | {r.n_train:,} | {r.ens_C_baseline:+.3f} ± {r.ens_C_baseline_err:.3f} | "
            f"{r.ens_C_step3:+.3f} ± {r.ens_C_step3_err:.3f} | {r.ens_bound:.3f} | {verdict(1)} | "
            f"{verdict(2)} | {verdict(3)} | {verdict(4)} | {seeds} | {r.get('seed_margins2', '')} | "
            f"{r.get('C_step3_seed_sd', np.nan):.3f} |")
    lines.append("")
    if sigma1 is not None and len(sigma1):
        sizes = sorted(sigma1["n_train"].unique())
        lines += ["### Eq. 4's sigma_1 per output (mean ± sd over seeds, part eq7)", "",
                  "| output | " + " | ".join(f"{n:,}" for n in sizes) + " |",
                  "|---:|" + "---:|" * len(sizes)]
        s = sigma1[sigma1["variance"] == sigma1["variance"].iloc[0]]
        for out, g in s.groupby("output"):
            cells = []
            for n in sizes:
                r = g[g["n_train"] == n]
                cells.append(f"{r.sigma1.iloc[0]:.4f} ± {r.sigma1_sd.iloc[0]:.4f}" if len(r) else "")
            lines.append(f"| {out} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)
