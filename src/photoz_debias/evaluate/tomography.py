"""Tomographic n(z) of an applied sample, galaxies without spectra (apply mode).

The applied sample is split into tomographic bins of its final photo-z (Step 4's corrected
``zmode``, Sect. 3.2.4); each bin gets an estimated redshift distribution n(z) and mean
redshift ``<z>``, with bootstrap errors.

Where n(z) comes from -- decided before any validation number was looked at: from the
spectroscopic redshifts of the training galaxies that Step 4 resampled to the applied
sample's (z_photo, row) distribution, not from a histogram of Step 4's corrected
estimates.  Why: Step 4 rests on the premise that, inside one (z_photo cell, magnitude row),
the resampled training galaxies are distributed in z_spec as the applied galaxies of that
cell are.  Each applied galaxy of a bin therefore contributes the normalised z_spec
distribution of the resampled training galaxies of its cell, and n(z) keeps the scatter of
z_spec at fixed z_photo.  A corrected estimate is one number per galaxy (z_photo minus its
cell's mean residual), taking the grid's values only: their mean over a bin estimates
``<z>`` (up to the spread of z_photo inside a cell it is the same number, reported as
``mean_z_step4`` for comparison), but their histogram is the distribution of estimates,
narrower than n(z) and spiky.

Galaxies that Step 4 cannot calibrate (outside the model's magnitude rows or in a cell
without resampled training galaxies) have no corrected estimate and belong to no bin; each
bin counts those whose Step 3 ``zmode`` falls in it (``n_uncalibrated``).

Bootstrap: each replicate draws the applied galaxies and the training galaxies with
replacement and redoes one Step 4 resampling, so ``<z>`` and n(z) errors include both
samples' finite size.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.debias.calibrate import (
    _cell_index,
    _check_edges,
    resample_training,
    rows_inside,
    step4_resamplings,
)
from photoz_debias.errors import InputError
from photoz_debias.evaluate.metrics import total_variation_of, wasserstein1_of

NZ_COLUMNS = ["bin", "z_lo", "z_hi", "z_centre", "nz", "nz_err"]
BIN_COLUMNS = [
    "bin", "zphoto_lo", "zphoto_hi", "n_galaxies", "n_uncalibrated", "mean_z", "mean_z_err",
    "mean_z_step4", "mean_z_step4_err",
]


def _bin_of(z, edges) -> np.ndarray:
    """Half-open tomographic bin of each value; -1 outside the edges or NaN."""
    z = np.asarray(z, dtype=np.float64)
    k = np.full(z.shape, -1, dtype=np.int64)
    ok = np.isfinite(z)
    k[ok] = _cell_index(z[ok], edges)
    return k


def _cell_sums(z_spec, cell, n_cells, nz_edges):
    """Per (z_photo cell, row) of a resampled training set: count, sum of z_spec and z_spec
    histogram over ``nz_edges`` (values outside counted in the mean, not the histogram)."""
    ok = cell >= 0
    c, z = cell[ok], z_spec[ok]
    n = np.bincount(c, minlength=n_cells).astype(np.float64)
    s = np.bincount(c, weights=z, minlength=n_cells)
    n_z = len(nz_edges) - 1
    zb = _cell_index(z, nz_edges)
    inside = zb >= 0
    h = np.bincount(c[inside] * n_z + zb[inside], minlength=n_cells * n_z).reshape(n_cells, n_z)
    return n, s, h.astype(np.float64)


def _bins_from_cells(weights, n, s, h):
    """Each bin's <z> and n(z) probabilities: its applied galaxies (``weights``: (bins,
    cells) counts) each carrying its cell's resampled z_spec distribution."""
    frac = np.divide(weights, n, out=np.zeros(weights.shape), where=n > 0)
    frac[:, n == 0] = 0.0  # a cell without training galaxies carries nothing
    used = np.where(n > 0, weights, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (frac * s).sum(axis=1) / used
        prob = (frac @ h) / used[:, None]
    return mean, prob


def _weights(tomo, cell, n_bins, n_cells):
    ok = (tomo >= 0) & (cell >= 0)
    return np.bincount(tomo[ok] * n_cells + cell[ok], minlength=n_bins * n_cells).reshape(
        n_bins, n_cells).astype(np.float64)


def tomographic_nz(
    z_photo: np.ndarray,
    r_mag: np.ndarray,
    z_final: np.ndarray,
    z_photo_train: np.ndarray,
    z_spec_train: np.ndarray,
    row_train: np.ndarray,
    rows,
    z_bins: np.ndarray,
    zphoto_cell_edges: np.ndarray,
    tomo_edges,
    nz_edges,
    n_resamplings: int = 5,
    seed: int = 0,
    n_bootstrap: int = 100,
    bootstrap_seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tomographic n(z) and ``<z>`` of an applied sample from Step 4's resampled training
    galaxies (module docstring: why not from the corrected estimates).

    The resamplings are Step 4's own (:func:`debias.calibrate.step4_resamplings` with the
    same ``seed`` and the same galaxies: those inside the model's magnitude rows), so the
    n(z) belongs to the catalogue's Step 4.  Per resampling, each bin's
    ``n(z) = sum_g h_c(g)(z) / N_bin``, ``h_c`` the normalised z_spec histogram of the
    resampled training galaxies of galaxy g's (z_photo cell, row); averaged over resamplings.

    Parameters
    ----------
    z_photo : (N,) the applied sample's Step 3 ``zmode`` (what Step 4 resamples to).
    r_mag : (N,) its r magnitudes (mag).
    z_final : (N,) its Step 4 corrected ``zmode``, NaN where not calibrated: the bin variable.
    z_photo_train, z_spec_train, row_train : the model part's training galaxies.
    rows : the model's :class:`photoz_debias.grid.MagnitudeRows`.
    z_bins, zphoto_cell_edges : Step 4's resampling bins and z_photo cells.
    tomo_edges : (B + 1,) tomographic bin edges in photo-z.
    nz_edges : (K + 1,) redshift bin edges of the n(z) histograms.
    n_resamplings, seed : Step 4's.
    n_bootstrap : bootstrap replicates for the errors (0: NaN errors).
    bootstrap_seed : seed of the bootstrap draws.

    Returns
    -------
    bins : one row per tomographic bin (``BIN_COLUMNS``): ``mean_z`` (from the resampled
        training redshifts) and ``mean_z_step4`` (mean corrected estimate), each with its
        bootstrap standard deviation.
    nz : one row per (bin, z bin) (``NZ_COLUMNS``): ``nz`` a density in z (integrates to the
        fraction of the bin's n(z) inside ``nz_edges``) and its bootstrap error.
    """
    zp = np.asarray(z_photo, dtype=np.float64)
    n_app = zp.shape[0]
    zf = np.asarray(z_final, dtype=np.float64)
    if zf.shape != zp.shape or np.shape(r_mag) != zp.shape:
        raise InputError(f"shapes {zp.shape}, {np.shape(r_mag)}, {zf.shape}",
                         field="z_photo/r_mag/z_final", expected="one value per galaxy each")
    te = _check_edges("tomo_edges", tomo_edges)
    ne = _check_edges("nz_edges", nz_edges)
    zc = _check_edges("zphoto_cell_edges", zphoto_cell_edges)
    zs_t = np.asarray(z_spec_train, dtype=np.float64)
    zp_t = np.asarray(z_photo_train, dtype=np.float64)
    row_t = np.asarray(row_train, dtype=np.int64)
    n_b, n_c = len(te) - 1, len(zc) - 1
    n_rows = int(max(rows.n_rows, row_t.max(initial=-1) + 1))
    n_cells = n_rows * n_c

    sel = np.flatnonzero(rows_inside(r_mag, rows))
    row_a = np.full(n_app, -1, dtype=np.int64)
    row_a[sel] = rows.row_index(np.asarray(r_mag, dtype=np.float64)[sel])
    cz = _cell_index(zp, zc)
    cell_a = np.where((row_a >= 0) & (cz >= 0), row_a * n_c + cz, -1)
    cz_t = _cell_index(zp_t, zc)
    cell_t = np.where(cz_t >= 0, row_t * n_c + cz_t, -1)
    tomo = _bin_of(zf, te)
    w = _weights(tomo, cell_a, n_b, n_cells)

    means, probs = [], []
    for idx in step4_resamplings(zp[sel], row_a[sel], zs_t, row_t, z_bins, n_resamplings, seed):
        m, p = _bins_from_cells(w, *_cell_sums(zs_t[idx], cell_t[idx], n_cells, ne))
        means.append(m)
        probs.append(p)
    mean_z, prob = np.mean(means, axis=0), np.mean(probs, axis=0)
    step4_mean = np.array([zf[tomo == b].mean() if (tomo == b).any() else np.nan
                           for b in range(n_b)])

    boot_mean, boot_prob, boot_step4 = [], [], []
    rng = np.random.default_rng(bootstrap_seed)
    for _ in range(n_bootstrap):
        a = sel[rng.integers(0, sel.size, sel.size)] if sel.size else sel
        t = rng.integers(0, zs_t.size, zs_t.size)
        idx = t[resample_training(zp[a], row_a[a], zs_t[t], row_t[t], z_bins, rng)]
        wa = _weights(tomo[a], cell_a[a], n_b, n_cells)
        m, p = _bins_from_cells(wa, *_cell_sums(zs_t[idx], cell_t[idx], n_cells, ne))
        boot_mean.append(m)
        boot_prob.append(p)
        ta = tomo[a]
        boot_step4.append(np.bincount(ta[ta >= 0], weights=zf[a][ta >= 0], minlength=n_b)
                          / np.bincount(ta[ta >= 0], minlength=n_b))

    def _std(x, shape):
        return np.nanstd(np.asarray(x), axis=0, ddof=1) if len(x) > 1 else np.full(shape, np.nan)

    uncal = _bin_of(np.where(np.isfinite(zf), np.nan, zp), te)
    bins = pd.DataFrame({
        "bin": np.arange(n_b),
        "zphoto_lo": te[:-1],
        "zphoto_hi": te[1:],
        "n_galaxies": np.bincount(tomo[tomo >= 0], minlength=n_b),
        "n_uncalibrated": np.bincount(uncal[uncal >= 0], minlength=n_b),
        "mean_z": mean_z,
        "mean_z_err": _std(boot_mean, n_b),
        "mean_z_step4": step4_mean,
        "mean_z_step4_err": _std(boot_step4, n_b),
    })
    width = np.diff(ne)
    nz = pd.DataFrame({
        "bin": np.repeat(np.arange(n_b), len(width)),
        "z_lo": np.tile(ne[:-1], n_b),
        "z_hi": np.tile(ne[1:], n_b),
        "z_centre": np.tile(0.5 * (ne[1:] + ne[:-1]), n_b),
        "nz": (prob / width).ravel(),
        "nz_err": (_std(boot_prob, prob.shape) / width).ravel(),
    })
    return bins, nz


def validation_table(bins: pd.DataFrame, nz: pd.DataFrame, z_final, z_spec, goal: float = 0.002
                     ) -> pd.DataFrame:
    """Estimated against true tomographic redshifts, for an applied sample whose z_spec was
    withheld from the apply jobs (the validation run).

    Per bin: the true ``<z>`` (mean z_spec of the bin's galaxies, chosen by ``z_final``),
    ``delta_mean_z`` = ``(mean_z - true) / (1 + true)`` (Eq. 12 with the estimated ``<z>``
    for ``<z_photo>``), whether ``|delta_mean_z| < goal`` (Euclid's 0.002), the same for
    the mean corrected estimate (``delta_mean_z_step4``), and the n(z) shape against the true z_spec histogram on the
    n(z) bins: total variation (Eq. 10) and 1-Wasserstein distance (Eq. 13), with those of
    the histogram of the corrected estimates for comparison.
    """
    zf = np.asarray(z_final, dtype=np.float64)
    zs = np.asarray(z_spec, dtype=np.float64)
    if zf.shape != zs.shape:
        raise InputError(f"shapes {zf.shape} and {zs.shape}", field="z_final/z_spec",
                         expected="one value per galaxy each")
    rows = []
    for b in bins.itertuples():
        in_bin = _bin_of(zf, np.array([b.zphoto_lo, b.zphoto_hi])) == 0
        one = nz[nz["bin"] == b.bin]
        e = np.append(one["z_lo"].to_numpy(), one["z_hi"].to_numpy()[-1])
        p = (one["nz"] * (one["z_hi"] - one["z_lo"])).to_numpy()
        p = p / p.sum() if p.sum() > 0 else p
        true_hist, _ = np.histogram(zs[in_bin], bins=e)
        q = true_hist / max(true_hist.sum(), 1)
        est_hist, _ = np.histogram(zf[in_bin], bins=e)
        s = est_hist / max(est_hist.sum(), 1)
        true_mean = zs[in_bin].mean() if in_bin.any() else np.nan
        rows.append({
            "bin": b.bin, "zphoto_lo": b.zphoto_lo, "zphoto_hi": b.zphoto_hi,
            "n_galaxies": int(in_bin.sum()),
            "mean_z_true": true_mean,
            "mean_z": b.mean_z, "mean_z_err": b.mean_z_err,
            "delta_mean_z": (b.mean_z - true_mean) / (1 + true_mean),
            "within_goal": bool(abs(b.mean_z - true_mean) / (1 + true_mean) < goal),
            "delta_mean_z_step4": (b.mean_z_step4 - true_mean) / (1 + true_mean),
            "d_tv": total_variation_of(p, q), "w1": wasserstein1_of(p, q, e),
            "d_tv_step4_hist": total_variation_of(s, q), "w1_step4_hist": wasserstein1_of(s, q, e),
        })
    return pd.DataFrame(rows)


#: units and meanings of the n(z) tables (Parquet schema metadata)
NZ_DOCS = {
    "bin": ("", "tomographic bin (index into the configured z_photo edges)"),
    "z_lo": ("dimensionless", "lower edge of the redshift bin of n(z)"),
    "z_hi": ("dimensionless", "upper edge of the redshift bin of n(z)"),
    "z_centre": ("dimensionless", "centre of the redshift bin of n(z)"),
    # a density per unit redshift, and redshift is dimensionless
    "nz": ("dimensionless", "estimated n(z) of the tomographic bin, a density in z (per unit "
                            "redshift), from the redshifts of Step 4's resampled training "
                            "galaxies"),
    "nz_err": ("dimensionless", "bootstrap standard deviation of nz"),
}
BIN_DOCS = {
    "bin": NZ_DOCS["bin"],
    "zphoto_lo": ("dimensionless", "lower edge of the bin in Step 4 zmode (half-open)"),
    "zphoto_hi": ("dimensionless", "upper edge of the bin in Step 4 zmode"),
    "n_galaxies": ("", "applied galaxies in the bin (Step 4 calibrated)"),
    "n_uncalibrated": ("", "galaxies Step 4 cannot calibrate whose Step 3 zmode is in the bin "
                           "(in no bin)"),
    "mean_z": ("dimensionless", "estimated mean redshift: mean of n(z) from the resampled "
                                "training redshifts"),
    "mean_z_err": ("dimensionless", "bootstrap standard deviation of mean_z"),
    "mean_z_step4": ("dimensionless", "mean Step 4 corrected zmode of the bin's galaxies"),
    "mean_z_step4_err": ("dimensionless", "bootstrap standard deviation of mean_z_step4"),
}


def validation_markdown(table: pd.DataFrame, goal: float = 0.002) -> str:
    """The validation table (:func:`validation_table`) as Markdown."""
    head = ("| z_photo bin | N | <z> true | <z> est. ± boot. | Δ<z> (Eq. 12) | |Δ<z>| < "
            f"{goal:g} | Δ<z> Step 4 mean | D_TV n(z) | W1 n(z) | D_TV Step 4 hist. |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = [
        f"| [{r.zphoto_lo:g}, {r.zphoto_hi:g}) | {r.n_galaxies} | {r.mean_z_true:.4f} | "
        f"{r.mean_z:.4f} ± {r.mean_z_err:.4f} | {r.delta_mean_z:+.4f} | "
        f"{'yes' if r.within_goal else 'no'} | {r.delta_mean_z_step4:+.4f} | {r.d_tv:.3f} | "
        f"{r.w1:.4f} | {r.d_tv_step4_hist:.3f} |"
        for r in table.itertuples()
    ]
    return head + "\n".join(lines) + "\n"
