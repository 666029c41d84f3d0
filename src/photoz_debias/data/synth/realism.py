"""Realism check of the SDSS-like population against the real SDSS Main Galaxy Sample.

The reference is the MLZ subset of the MGS (Carrasco Kind & Brunner; ``resources/
mlz_sdss_mgs`` in the repository): 10,000 galaxies with spec-z < 0.3 and dereddened MODEL magnitudes.  The
synthetic catalogue's colours use total (model-like) magnitudes; its selection, like the
MGS's, is on the dereddened Petrosian r (Petrosian magnitudes miss ~20% of a de Vaucouleurs
profile's flux, so they are up to ~0.24 mag fainter than model magnitudes; population.py).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError

MGS_COLUMNS = (
    "zs u g r i z u-g g-r r-i i-z eu eg er ei ez eu-g eg-r er-i ei-z".split()
)
COLOURS = ("u-g", "g-r", "r-i", "i-z")
DEFAULT_Z_EDGES = (0.0, 0.05, 0.08, 0.11, 0.14, 0.18, 0.30)
# Tolerances of the realism test (also drawn in the figure).
COLOUR_TOLERANCE = 0.1  # mag, per z bin
MEDIAN_Z_TOLERANCE = 0.01
MEDIAN_R_TOLERANCE = 0.15  # mag
KS_R_MAX = 0.12


def load_mgs(path_or_dir) -> pd.DataFrame:
    """Read the MLZ SDSS MGS catalogue(s).

    Parameters
    ----------
    path_or_dir : path
        One ``SDSS_MGS.*`` file, or the folder holding ``SDSS_MGS.train`` and
        ``SDSS_MGS.test`` (both are read and concatenated).

    Returns
    -------
    DataFrame with columns ``z`` (spec-z), ``mag_u..mag_z`` (dereddened model AB mags),
    the colours ``u-g g-r r-i i-z`` and the errors ``eu..ez``.
    """
    path = Path(path_or_dir)
    files = sorted(path.glob("SDSS_MGS.*")) if path.is_dir() else [path]
    files = [f for f in files if f.suffix in (".train", ".test")] or files
    if not files or not all(f.is_file() for f in files):
        raise InputError("no MGS catalogue found", file=str(path), expected="SDSS_MGS.train/.test")
    parts = []
    for f in files:
        a = np.loadtxt(f)
        if a.ndim != 2 or a.shape[1] != len(MGS_COLUMNS):
            raise InputError(f"shape {a.shape}", file=str(f), expected=f"(N, {len(MGS_COLUMNS)}) columns {MGS_COLUMNS}")
        parts.append(pd.DataFrame(a, columns=MGS_COLUMNS))
    d = pd.concat(parts, ignore_index=True)
    out = pd.DataFrame({"z": d["zs"]})
    for b in "ugriz":
        out[f"mag_{b}"] = d[b]
    for c in COLOURS:
        out[c] = d[c]
    for b in "ugriz":
        out[f"e{b}"] = d[f"e{b}"]
    return out


def _colours(df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({f"{a}-{b}": df[f"mag_{a}"] - df[f"mag_{b}"] for a, b in zip("ugri", "griz")})


def _ks_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov distance sup |F_a - F_b|."""
    a, b = np.sort(a), np.sort(b)
    x = np.concatenate([a, b])
    return float(np.max(np.abs(np.searchsorted(a, x, "right") / len(a) - np.searchsorted(b, x, "right") / len(b))))


#: the redshifts above which ``realism_summary`` compares the tail fractions
TAIL_Z = (0.15, 0.20, 0.25)


def realism_summary(pop_df: pd.DataFrame, mgs_df: pd.DataFrame, z_edges=DEFAULT_Z_EDGES) -> pd.DataFrame:
    """Median colours per z bin and global n(z), n(r) statistics of synthetic vs MGS.

    The synthetic population is restricted to the MGS range ``z < max(z_edges)``.

    Parameters
    ----------
    pop_df : DataFrame with ``z_true`` (or ``z``) and ``mag_u..mag_z`` (dereddened).
    mgs_df : output of :func:`load_mgs`.
    z_edges : increasing redshift bin edges.

    Returns
    -------
    Tidy DataFrame with columns ``quantity, z_lo, z_hi, synthetic, mgs, diff, n_synthetic,
    n_mgs``: one row per (colour, z bin) with the median colours (mag), and global rows
    ``median_z``, ``median_r`` (mag), ``ks_r`` (KS distance of the r distributions; in
    the ``diff`` column) and ``frac_z_above`` (the fraction of galaxies with z >= ``z_lo``,
    for the high-z tail: z_lo = 0.15, 0.20, 0.25) with NaN bin edges otherwise.
    """
    z_edges = np.asarray(z_edges, float)
    if z_edges.ndim != 1 or len(z_edges) < 2 or np.any(np.diff(z_edges) <= 0):
        raise InputError(f"z_edges = {z_edges}", field="z_edges", expected="increasing 1-D edges")
    zcol = "z_true" if "z_true" in pop_df else "z"
    zs = pop_df[zcol].to_numpy()
    sel = zs < z_edges[-1]
    syn = pop_df.loc[sel].reset_index(drop=True)
    zs = zs[sel]
    zm = mgs_df["z"].to_numpy()
    cs, cm = _colours(syn), _colours(mgs_df)
    rows = []
    for lo, hi in zip(z_edges[:-1], z_edges[1:]):
        s = (zs >= lo) & (zs < hi)
        m = (zm >= lo) & (zm < hi)
        for c in COLOURS:
            a = float(np.median(cs[c][s])) if s.any() else np.nan
            b = float(np.median(cm[c][m])) if m.any() else np.nan
            rows.append((c, lo, hi, a, b, a - b, int(s.sum()), int(m.sum())))
    rs, rm = syn["mag_r"].to_numpy(), mgs_df["mag_r"].to_numpy()
    n_s, n_m = len(syn), len(mgs_df)
    mz = (float(np.median(zs)), float(np.median(zm)))
    mr = (float(np.median(rs)), float(np.median(rm)))
    rows.append(("median_z", np.nan, np.nan, mz[0], mz[1], mz[0] - mz[1], n_s, n_m))
    rows.append(("median_r", np.nan, np.nan, mr[0], mr[1], mr[0] - mr[1], n_s, n_m))
    rows.append(("ks_r", np.nan, np.nan, np.nan, np.nan, _ks_distance(rs, rm), n_s, n_m))
    for z in TAIL_Z:
        fs, fm = float(np.mean(zs >= z)), float(np.mean(zm >= z))
        rows.append(("frac_z_above", z, np.nan, fs, fm, fs - fm, n_s, n_m))
    return pd.DataFrame(rows, columns=["quantity", "z_lo", "z_hi", "synthetic", "mgs", "diff", "n_synthetic", "n_mgs"])


def colour_scatter(df: pd.DataFrame, z_edges=DEFAULT_Z_EDGES, z_col: str | None = None) -> pd.DataFrame:
    """Spread of each colour at fixed redshift: 1.4826 x the median absolute deviation per z bin.

    The colour-redshift relation's width is what limits a photometric redshift; the median
    colours (:func:`realism_summary`) do not test it.

    Parameters
    ----------
    df : magnitudes ``mag_u..mag_z`` and a redshift column.
    z_edges : increasing redshift bin edges (half-open bins).
    z_col : the redshift column; default ``z_true``, else ``z``.

    Returns
    -------
    DataFrame with ``colour, z_lo, z_hi, scatter, n`` (NaN scatter in empty bins).
    """
    z_edges = np.asarray(z_edges, float)
    if z_edges.ndim != 1 or len(z_edges) < 2 or np.any(np.diff(z_edges) <= 0):
        raise InputError(f"z_edges = {z_edges}", field="z_edges", expected="increasing 1-D edges")
    zc = z_col or ("z_true" if "z_true" in df else "z")
    if zc not in df:
        raise InputError(f"column {zc!r} missing", field="z_col", expected="a redshift column")
    z = df[zc].to_numpy(float)
    cols = _colours(df)
    rows = []
    for c in COLOURS:
        x = cols[c].to_numpy(float)
        for lo, hi in zip(z_edges[:-1], z_edges[1:]):
            v = x[(z >= lo) & (z < hi)]
            s = 1.4826 * float(np.median(np.abs(v - np.median(v)))) if v.size else np.nan
            rows.append((c, lo, hi, s, int(v.size)))
    return pd.DataFrame(rows, columns=["colour", "z_lo", "z_hi", "scatter", "n"])


def plot_realism(pop_df: pd.DataFrame, mgs_df: pd.DataFrame, out_png, out_pdf=None, z_edges=DEFAULT_Z_EDGES,
                 r_kind: str = "total r"):
    """Figure: n(z), n(r) and median colours vs z of the synthetic population and the MGS.

    The colour panels show the MGS medians with the +-``COLOUR_TOLERANCE`` band the
    realism test allows.  Files are written atomically.  Returns the matplotlib Figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z_edges = np.asarray(z_edges, float)
    zcol = "z_true" if "z_true" in pop_df else "z"
    syn = pop_df[pop_df[zcol] < z_edges[-1]]
    zs, zm = syn[zcol].to_numpy(), mgs_df["z"].to_numpy()
    summ = realism_summary(pop_df, mgs_df, z_edges)
    fig, axes = plt.subplots(2, 3, figsize=(12, 7), constrained_layout=True)
    ax = axes[0, 0]
    bins = np.linspace(0, z_edges[-1], 31)
    ax.hist(zm, bins, density=True, histtype="step", lw=2, color="k", label=f"SDSS MGS (N={len(zm)})")
    ax.hist(zs, bins, density=True, histtype="step", lw=1.5, color="C1", label=f"synthetic (N={len(zs)})")
    ax.set(xlabel="spectroscopic redshift", ylabel="n(z)")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    rb = np.linspace(12.5, 18.0, 23)
    ax.hist(mgs_df["mag_r"], rb, density=True, histtype="step", lw=2, color="k", label="MGS (model r)")
    ax.hist(syn["mag_r"], rb, density=True, histtype="step", lw=1.5, color="C1", label=f"synthetic ({r_kind})")
    ks = float(summ.loc[summ.quantity == "ks_r", "diff"].iloc[0])
    ax.set(xlabel="dereddened r [mag]", ylabel="n(r)", title=f"KS distance {ks:.3f}")
    ax.legend(fontsize=8)
    centres = 0.5 * (z_edges[1:] + z_edges[:-1])
    for ax, c in zip([axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]], COLOURS):
        s = summ[summ.quantity == c]
        ax.fill_between(centres, s.mgs - COLOUR_TOLERANCE, s.mgs + COLOUR_TOLERANCE, color="0.85", label=f"MGS +- {COLOUR_TOLERANCE} mag")
        ax.plot(centres, s.mgs, "o-", color="k", label="MGS median")
        ax.plot(centres, s.synthetic, "s--", color="C1", label="synthetic median")
        ax.set(xlabel="spectroscopic redshift", ylabel=f"{c} [mag]")
    axes[0, 2].legend(fontsize=8)
    fig.suptitle("SDSS-like synthetic population vs the real SDSS Main Galaxy Sample")
    for path in [out_png] + ([out_pdf] if out_pdf else []):
        path = Path(path)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix[1:], dpi=120)
    plt.close(fig)
    return fig


def main(argv=None) -> None:
    """``python -m photoz_debias.data.synth.realism [MGS_DIR] [--config CONFIG [OVERLAY ...]]``: print
    the realism summary of the test (20,000 SDSS-like galaxies, seed 2022) against the real MGS
    catalogue; with ``--config``, of the survey with that configuration's
    ``datasets.sdss.source.params`` (the bare ``sdss_like`` preset without it)."""
    import argparse

    from photoz_debias.data.synth.survey import generate_population

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("mgs", nargs="?", default="resources/mlz_sdss_mgs")
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=2022)
    ap.add_argument("--config", nargs="+", default=None, metavar="YAML",
                    help="config/config.yaml, then its overlays in order: use its SDSS-like survey parameters")
    args = ap.parse_args(argv)
    params = {}
    if args.config:
        from photoz_debias.studies import merged_config

        params = merged_config(args.config)["datasets"]["sdss"]["source"].get("params") or {}
    print(f"sdss_like survey parameters: {params or 'the preset'}")
    pop = generate_population("sdss_like", args.n, seed=args.seed, **params)
    with pd.option_context("display.width", 150, "display.max_rows", 100):
        print(realism_summary(pop, load_mgs(args.mgs)).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
