"""Step 3's soft Gaussian labels (Lin et al. 2022, Sect. 3.2.3, Eqs. 4-8, Fig. 5, App. C).

Everything is computed in bin units of the redshift grid (bin ``j`` spans ``[j, j + 1)``;
``RedshiftGrid.position`` converts redshifts); the functions take the grids so that
callers pass and get redshifts.  The tables written to Parquet are in redshift units.

Galaxies are grouped by magnitude OUTPUT ``k`` (not row): a galaxy in row ``2k`` belongs to
output ``k``; a galaxy in an odd row ``2k + 1`` belongs to both ``k`` and ``k + 1`` and
gets one label per output, each with that output's ``sigma_1`` and variance curve.

Choices where the paper and the authors' code leave room (copied into the README):

* Gaussian kernels on the grid are integrated over each bin
  (``Phi((d + 1/2)/s) - Phi((d - 1/2)/s)`` for an offset of ``d`` bins), then normalised, so
  ``sigma -> 0`` is exactly the identity kernel.  The soft labels (d) are built the same
  way: the Gaussian is integrated over each extended bin and normalised over the extended
  grid.
* Eq. 4: ``p(z_photo | k) * N`` loses mass past the grid ends; it is renormalised over the
  ``n`` bins before the cross-entropy, and floored at 1e-12 so that empty bins give a
  large but finite cost.  ``sigma_1`` is found by a scan over 0 and 64 log-spaced widths in
  ``[0.05, n/2]`` bins followed by a bounded Brent refinement around the best scan point
  (the cost can have several local minima).  An output with no galaxies gets NaN.
* Eq. 6: the empty-bin-filled ``d2`` curve is smoothed over the ``n`` bins of the original
  grid with the ``sigma_1(k)`` kernel renormalised over the bins inside the grid (no zero
  padding pulls the ends down).
* Eq. 8: ``z0`` is the galaxy's continuous spec-z (the authors used the floor bin).  The
  density multiplying the Gaussian is the subset's ``p(z_spec | k)`` of magnitude OUTPUT
  ``k`` (as Eq. 8 writes it, and the grouping of Eqs. 4-6; the authors' code used the row),
  piecewise constant on the bins and zero outside the original range.  The integral of
  Eq. 8 is evaluated exactly for that piecewise-constant density (no discretisation of the
  Gaussian), so a flat density gives ``z_bar = z0`` to machine precision.  ``Var(z0 | k)``
  is the curve's value in the bin holding ``z0``; outside the original range the curve
  is extended with its edge values.
* Hard-label limit: where ``sigma_1 < 0.1`` bin the label is one-hot at the bin holding
  its mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid, activated_outputs

#: Below this width (in bins) a soft label becomes a hard one-hot label (method.md).
HARD_LABEL_SIGMA = 0.1

_CE_FLOOR = 1e-12
_CHUNK = 8192


# ---------------------------------------------------------------------------------------
# Gaussian kernels on the grid
# ---------------------------------------------------------------------------------------
def gaussian_kernel(sigma: float, max_half: int | None = None) -> np.ndarray:
    """Normalised Gaussian of width ``sigma`` (bins) integrated over unit bins.

    Returns the kernel on offsets ``-h .. h`` with ``h = ceil(6 sigma) + 1`` (at most
    ``max_half``: offsets beyond the grid's length never reach a bin); for
    ``sigma <= 1e-6`` it is the identity ``[1]``.
    """
    if not np.isfinite(sigma) or sigma <= 1e-6:
        return np.ones(1)
    h = int(np.ceil(6.0 * sigma)) + 1
    if max_half is not None:
        h = min(h, int(max_half))
    d = np.arange(-h, h + 1, dtype=np.float64)
    k = ndtr((d + 0.5) / sigma) - ndtr((d - 0.5) / sigma)
    return k / k.sum()


def _convolve_same(values: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``values * kernel`` on the same bins; mass past the ends is dropped."""
    n, h = values.size, kernel.size // 2
    full = np.convolve(values, kernel, mode="full")
    return full[h : h + n]


def smooth_on_grid(values: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of a per-bin curve (Eq. 6) restricted to the grid.

    The kernel is renormalised at every bin over the bins inside the grid, so a constant
    curve stays constant up to the ends.  ``sigma`` in bins; ``sigma -> 0`` is the identity.
    """
    values = np.asarray(values, dtype=np.float64)
    # the ratio below renormalises, so truncating the kernel at the grid length is exact
    kernel = gaussian_kernel(sigma, max_half=values.size)
    return _convolve_same(values, kernel) / _convolve_same(np.ones_like(values), kernel)


# ---------------------------------------------------------------------------------------
# Grouping by magnitude output
# ---------------------------------------------------------------------------------------
def output_pairs(mag_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(galaxy index, output) pairs: one per galaxy in an even row, two in an odd row."""
    lo, hi = activated_outputs(mag_row)
    idx = np.arange(lo.size)
    odd = hi != lo
    gal = np.concatenate([idx, idx[odd]])
    out = np.concatenate([lo, hi[odd]])
    order = np.lexsort((out, gal))
    return gal[order], out[order]


def _histograms(bins: np.ndarray, outputs: np.ndarray, n_outputs: int, n_bins: int) -> np.ndarray:
    """Counts per (output, bin), shape (m, n)."""
    h = np.zeros((n_outputs, n_bins))
    np.add.at(h, (outputs, bins), 1.0)
    return h


def output_densities(z_spec: np.ndarray, mag_row: np.ndarray, grid: RedshiftGrid,
                     n_outputs: int) -> np.ndarray:
    """Normalised ``p(z_spec | k)`` of each magnitude output over the ``n`` bins (Eqs. 4, 8).

    Odd rows count for both neighbouring outputs.  Rows of outputs without galaxies are 0.

    Returns
    -------
    (m, n) float64, each non-empty row sums to one.
    """
    gal, out = output_pairs(mag_row)
    h = _histograms(grid.bin_index(np.asarray(z_spec)[gal]), out, n_outputs, grid.n_bins)
    tot = h.sum(axis=1, keepdims=True)
    return np.divide(h, tot, out=np.zeros_like(h), where=tot > 0)


# ---------------------------------------------------------------------------------------
# (a) sigma_1, Eq. 4
# ---------------------------------------------------------------------------------------
def sigma1_cross_entropy(sigma: float, p_spec: np.ndarray, p_photo: np.ndarray) -> float:
    """Cost of Eq. 4: ``-sum_j p_spec_j log (p_photo * N_sigma)_j`` (KL up to a constant)."""
    # q is renormalised below, so truncating the kernel at the grid length is exact
    q = _convolve_same(p_photo, gaussian_kernel(sigma, max_half=p_photo.size))
    q = q / q.sum()
    return float(-(p_spec * np.log(np.maximum(q, _CE_FLOOR))).sum())


def fit_sigma1_histograms(p_spec: np.ndarray, p_photo: np.ndarray,
                          max_sigma: float | None = None) -> float:
    """``sigma_1`` (bins) minimising Eq. 4 of Lin et al. 2022 for one magnitude output.

    Parameters
    ----------
    p_spec, p_photo : (n,) histograms of z_spec and z_photo over the ``n`` bins (any
        normalisation; both are normalised here).
    max_sigma : float, optional
        Upper bound of the search in bins (default ``n / 2``).

    Returns
    -------
    float
        sigma_1 >= 0 in bins; NaN if either histogram is empty.
    """
    p_spec = np.asarray(p_spec, dtype=np.float64)
    p_photo = np.asarray(p_photo, dtype=np.float64)
    if p_spec.sum() <= 0 or p_photo.sum() <= 0:
        return float("nan")
    p_spec, p_photo = p_spec / p_spec.sum(), p_photo / p_photo.sum()
    max_sigma = float(max_sigma if max_sigma is not None else p_spec.size / 2)
    scan = np.r_[0.0, np.geomspace(0.05, max_sigma, 64)]
    cost = np.array([sigma1_cross_entropy(s, p_spec, p_photo) for s in scan])
    i = int(np.argmin(cost))
    lo, hi = scan[max(i - 1, 0)], scan[min(i + 1, scan.size - 1)]
    if hi <= lo:
        return float(scan[i])
    res = minimize_scalar(sigma1_cross_entropy, bounds=(lo, hi), method="bounded",
                          args=(p_spec, p_photo), options={"xatol": 1e-4})
    return float(res.x) if res.fun <= cost[i] else float(scan[i])


def fit_sigma1(z_spec: np.ndarray, z_photo: np.ndarray, mag_row: np.ndarray,
               grid: RedshiftGrid, n_outputs: int, max_sigma: float | None = None) -> np.ndarray:
    """``sigma_1(k)`` of every magnitude output, Eq. 4 of Lin et al. 2022.

    Parameters
    ----------
    z_spec : (N,) spectroscopic redshifts of the fit subset.
    z_photo : (N,) point estimates (zmode) from the previous step on the original grid.
    mag_row : (N,) magnitude rows; odd rows count for both neighbouring outputs.
    grid : the original redshift grid (``n`` bins).
    n_outputs : ``m``.
    max_sigma : search bound in bins (default ``n / 2``).

    Returns
    -------
    (m,) float64
        sigma_1 in BINS (multiply by ``grid.width`` for redshift); NaN for empty outputs.
    """
    gal, out = output_pairs(mag_row)
    h_spec = _histograms(grid.bin_index(np.asarray(z_spec)[gal]), out, n_outputs, grid.n_bins)
    h_photo = _histograms(grid.bin_index(np.asarray(z_photo)[gal]), out, n_outputs, grid.n_bins)
    return np.array([fit_sigma1_histograms(h_spec[k], h_photo[k], max_sigma)
                     for k in range(n_outputs)])


# ---------------------------------------------------------------------------------------
# (b) quadratic error curves, Eqs. 5-7
# ---------------------------------------------------------------------------------------
def carry_forward(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Fill invalid entries with the previous valid value; leading ones take the first valid.

    All-invalid input gives all NaN.
    """
    values = np.asarray(values, dtype=np.float64)
    valid = np.asarray(valid, dtype=bool)
    if not valid.any():
        return np.full(values.shape, np.nan)
    last = np.maximum.accumulate(np.where(valid, np.arange(values.size), -1))
    last[last < 0] = np.flatnonzero(valid)[0]
    return values[last]


def error_curves(z_spec: np.ndarray, z_photo: np.ndarray, mag_row: np.ndarray,
                 grid: RedshiftGrid, sigma1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Average squared distances (Eq. 5) and quadratic error curves (Eq. 6) per output.

    ``d2_j = (mean + median)/2`` of ``(z_photo - z_spec)^2`` over the output's galaxies
    with z_spec in bin ``j``; empty bins carry the previous valid value (leading empties
    take the first valid one); ``sigma_2^2 = d2 * N_{sigma_1(k)}`` smoothed over the grid.

    Parameters
    ----------
    z_spec, z_photo, mag_row : (N,) as in ``fit_sigma1``.
    grid : the original redshift grid.
    sigma1 : (m,) sigma_1 in bins (from ``fit_sigma1``).

    Returns
    -------
    d2, sigma2_sq : (m, n) float64 in BINS^2 (multiply by ``grid.width**2``); NaN rows for
        outputs without galaxies.  ``Var(z | k) = sigma1[k]**2 + sigma2_sq[k]`` (Eq. 7).
    """
    sigma1 = np.asarray(sigma1, dtype=np.float64)
    m, n = sigma1.size, grid.n_bins
    gal, out = output_pairs(mag_row)
    z_spec = np.asarray(z_spec)[gal]
    d2 = (grid.position(np.asarray(z_photo)[gal]) - grid.position(z_spec)) ** 2
    stats = (pd.DataFrame({"k": out, "j": grid.bin_index(z_spec), "d2": d2})
             .groupby(["k", "j"])["d2"].agg(["mean", "median"]))
    raw = np.full((m, n), np.nan)
    ks = stats.index.get_level_values("k").to_numpy()
    js = stats.index.get_level_values("j").to_numpy()
    raw[ks, js] = 0.5 * (stats["mean"].to_numpy() + stats["median"].to_numpy())
    d2_curve = np.full((m, n), np.nan)
    sigma2_sq = np.full((m, n), np.nan)
    for k in range(m):
        valid = np.isfinite(raw[k])
        if not valid.any():
            continue
        d2_curve[k] = carry_forward(raw[k], valid)
        sigma2_sq[k] = smooth_on_grid(d2_curve[k], sigma1[k])
    return d2_curve, sigma2_sq


# ---------------------------------------------------------------------------------------
# (c) means of the soft labels, Eq. 8
# ---------------------------------------------------------------------------------------
def skewed_profile_mean(z0: np.ndarray, var: np.ndarray, density: np.ndarray,
                        output: np.ndarray | None = None) -> np.ndarray:
    """Mean of ``N(z0, var) x p`` for a piecewise-constant ``p`` on bins ``[j, j + 1)``.

    All in bins.  Exact per bin: ``int_a^b z N dz = z0 (Phi_b - Phi_a) + var (N(a) - N(b))``.
    ``z0`` (K,), ``var`` (K,); ``density`` (n,) shared by all, or (m, n) with ``output``
    (K,) picking the row of each (rows are gathered per chunk, so (K, n) never exists).
    Where the product has no mass within reach the mean is ``z0`` (no shift).
    """
    z0 = np.asarray(z0, dtype=np.float64)
    s = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64), 1e-12))
    density = np.asarray(density, dtype=np.float64)
    n = density.shape[-1]
    edges = np.arange(n + 1, dtype=np.float64)
    zbar = np.empty_like(z0)
    for a in range(0, z0.size, _CHUNK):
        sl = slice(a, a + _CHUNK)
        u = (edges[None, :] - z0[sl, None]) / s[sl, None]
        mass_bin = np.diff(ndtr(u), axis=1)
        pdf = np.exp(-0.5 * u * u) / (np.sqrt(2 * np.pi) * s[sl, None])
        p = density[None, :] if density.ndim == 1 else density[np.asarray(output)[sl]]
        mass = (p * mass_bin).sum(axis=1)
        first = (p * (z0[sl, None] * mass_bin - s[sl, None] ** 2 * np.diff(pdf, axis=1))).sum(axis=1)
        ok = mass > 1e-300
        zbar[sl] = np.where(ok, first / np.where(ok, mass, 1.0), z0[sl])
    return zbar


def soft_label_means(z0: np.ndarray, output: np.ndarray, var_curves: np.ndarray,
                     densities: np.ndarray, grid: RedshiftGrid) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the skewed scattering profile and mean of the soft label, Eq. 8.

    ``z_bar = int z p(z | k) N(z; z0, Var(z0 | k)) dz / norm`` and
    ``z* = z0 - (z_bar - z0)`` (Eq. 8 of Lin et al. 2022, Fig. 5).

    Parameters
    ----------
    z0 : (K,) spectroscopic redshifts (continuous, not the floor bin).
    output : (K,) magnitude output ``k`` of each (galaxy, output) pair.
    var_curves : (m, n) ``Var(z | k) = sigma_1^2 + sigma_2^2`` in BINS^2 (Eq. 7).
    densities : (m, n) ``p(z_spec | k)`` of the subset (``output_densities``); zero outside
        the original range, which is where the extended grid's extra bins lie.
    grid : the original grid (the extended grid shares its bin width, so ``z*`` may fall
        in the extension).

    Returns
    -------
    z_bar, z_star : (K,) redshifts.
    """
    z0 = np.asarray(z0, dtype=np.float64)
    output = np.asarray(output, dtype=np.int64)
    pos = grid.position(z0)
    var = np.asarray(var_curves)[output, grid.bin_index(z0)]
    if not np.all(np.isfinite(var)):
        bad = int(np.flatnonzero(~np.isfinite(var))[0])
        raise InputError(f"Var(z0|k) is not finite for output {output[bad]}", row=bad,
                         field="var_curves", expected="curves fitted on galaxies of that output")
    zbar_pos = skewed_profile_mean(pos, var, densities, output)
    z_bar = grid.z_min + grid.width * zbar_pos
    return z_bar, 2.0 * z0 - z_bar


# ---------------------------------------------------------------------------------------
# (d) the labels themselves
# ---------------------------------------------------------------------------------------
@dataclass
class GaussianLabels:
    """Soft Gaussian labels over ``n_bins`` bins, built per mini-batch (Sect. 3.2.3).

    Label ``i`` is a Gaussian of mean ``mu[i]`` and width ``sigma[i]`` (both in bins of the
    grid the labels live on, usually the extended grid) integrated over each bin and
    normalised over the grid; where ``sigma < 0.1`` bin it is one-hot at the bin holding
    ``mu`` (clipped to the grid).  Calling it with a (B,) index tensor gives (B, n_bins)
    float32 labels, so (N, n_bins) is never materialised.
    """

    mu: np.ndarray
    sigma: np.ndarray
    n_bins: int

    def __post_init__(self):
        self.mu = np.asarray(self.mu, dtype=np.float64)
        self.sigma = np.asarray(self.sigma, dtype=np.float64)
        if self.mu.shape != self.sigma.shape or self.mu.ndim != 1:
            raise InputError(f"mu {self.mu.shape}, sigma {self.sigma.shape}",
                             field="sigma", expected="two 1-D arrays of the same length")
        if not (np.all(np.isfinite(self.mu)) and np.all(np.isfinite(self.sigma))):
            raise InputError("non-finite label mean or width", field="mu",
                             expected="finite values")
        self._mu = torch.from_numpy(self.mu)
        self._sigma = torch.from_numpy(self.sigma)
        self._edges = torch.arange(self.n_bins + 1, dtype=torch.float64)

    def __len__(self) -> int:
        return self.mu.size

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        mu, sigma = self._mu[idx], self._sigma[idx]
        hard = sigma < HARD_LABEL_SIGMA
        s = torch.where(hard, torch.ones_like(sigma), sigma)
        cdf = torch.special.ndtr((self._edges[None, :] - mu[:, None]) / s[:, None])
        y = cdf[:, 1:] - cdf[:, :-1]
        tot = y.sum(dim=1, keepdim=True)
        # A mean far outside the grid leaves no mass: fall back to the clipped one-hot.
        hard = hard | (tot[:, 0] < 1e-12)
        y = y / tot.clamp_min(1e-300)
        if hard.any():
            j = torch.clamp(torch.floor(mu[hard]), 0, self.n_bins - 1).long()
            onehot = torch.zeros(int(hard.sum()), self.n_bins, dtype=y.dtype)
            onehot[torch.arange(j.numel()), j] = 1.0
            y[hard] = onehot
        return y.float()

    def dense(self) -> np.ndarray:
        """All labels as an (N, n_bins) float32 array (small N only)."""
        return self(torch.arange(len(self))).numpy()


def hard_labels(mu: np.ndarray, n_bins: int) -> np.ndarray:
    """One-hot label bins (N,) int64 for means ``mu`` in bins, clipped to the grid (Step 3a)."""
    return np.clip(np.floor(np.asarray(mu, dtype=np.float64)), 0, n_bins - 1).astype(np.int64)


# ---------------------------------------------------------------------------------------
# The whole fit and its tables
# ---------------------------------------------------------------------------------------
SOFT_LABEL_COLUMNS = ["id", "output", "z0", "z_bar", "z_star", "sigma1", "var"]
ERROR_CURVE_COLUMNS = ["output", "z_bin", "z_centre", "d2", "sigma2_sq", "sigma1"]


def fit_soft_labels(ids: np.ndarray, z_spec: np.ndarray, z_photo: np.ndarray,
                    mag_row: np.ndarray, grid: RedshiftGrid, n_outputs: int,
                    max_sigma: float | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eqs. 4-8 on one fit subset: the per-(galaxy, output) label table and the curves.

    Parameters
    ----------
    ids : (N,) galaxy ids of the fit subset.
    z_spec : (N,) spectroscopic redshifts.
    z_photo : (N,) zmode of the previous step (Step 2; Step 1 for Step 3\\2), original grid.
    mag_row : (N,) magnitude rows.
    grid : the original redshift grid.
    n_outputs : ``m``.

    Returns
    -------
    soft_labels : DataFrame ``id, output, z0, z_bar, z_star, sigma1, var`` (redshift units;
        ``var = Var(z0 | k)`` in redshift^2), one row per (galaxy, activated output).
    curves : DataFrame ``output, z_bin, z_centre, d2, sigma2_sq, sigma1`` (redshift units),
        one row per (output, bin of the original grid).
    """
    ids = np.asarray(ids)
    z_spec = np.asarray(z_spec, dtype=np.float64)
    z_photo = np.asarray(z_photo, dtype=np.float64)
    mag_row = np.asarray(mag_row, dtype=np.int64)
    _check_fit_inputs(ids, z_spec, z_photo, mag_row, n_outputs)

    sigma1 = fit_sigma1(z_spec, z_photo, mag_row, grid, n_outputs, max_sigma)
    d2, sigma2_sq = error_curves(z_spec, z_photo, mag_row, grid, sigma1)
    return _label_tables(ids, z_spec, mag_row, sigma1, d2, sigma2_sq,
                         sigma1[:, None] ** 2 + sigma2_sq, grid, n_outputs)


def _check_fit_inputs(ids, z_spec, z_photo, mag_row, n_outputs):
    for name, a in (("z_spec", z_spec), ("z_photo", z_photo), ("mag_row", mag_row)):
        if a.shape != ids.shape:
            raise InputError(f"{a.shape[0] if a.ndim else a} entries for {ids.size} ids",
                             field=name, expected="one entry per galaxy")
        if not np.all(np.isfinite(a)):
            row = int(np.flatnonzero(~np.isfinite(a))[0])
            raise InputError("not finite", row=row, gal_id=ids[row], field=name,
                             expected="finite values")
    if mag_row.size and (mag_row.min() < 0 or mag_row.max() > 2 * n_outputs - 2):
        raise InputError(f"rows {mag_row.min()}..{mag_row.max()}", field="mag_row",
                         expected=f"0..{2 * n_outputs - 2}")


def _label_tables(ids, z_spec, mag_row, sigma1, d2, sigma2_sq, var_curves, grid, n_outputs):
    """Eq. 8 with the given ``Var(z | k)`` curves (bins^2), and the two output tables."""
    densities = output_densities(z_spec, mag_row, grid, n_outputs)
    gal, out = output_pairs(mag_row)
    z_bar, z_star = soft_label_means(z_spec[gal], out, var_curves, densities, grid)
    w = grid.width
    labels = pd.DataFrame({
        "id": ids[gal],
        "output": out.astype(np.int16),
        "z0": z_spec[gal],
        "z_bar": z_bar,
        "z_star": z_star,
        "sigma1": sigma1[out] * w,
        "var": var_curves[out, grid.bin_index(z_spec[gal])] * w * w,
    })
    curves = pd.DataFrame({
        "output": np.repeat(np.arange(n_outputs, dtype=np.int16), grid.n_bins),
        "z_bin": np.tile(np.arange(grid.n_bins, dtype=np.int32), n_outputs),
        "z_centre": np.tile(grid.centres, n_outputs),
        "d2": d2.ravel() * w * w,
        "sigma2_sq": sigma2_sq.ravel() * w * w,
        "sigma1": np.repeat(sigma1 * w, grid.n_bins),
    })
    return labels, curves


def fit_soft_labels_measured(table: pd.DataFrame, z_spec: np.ndarray, z_photo: np.ndarray,
                             mag_row: np.ndarray, grid: RedshiftGrid,
                             n_outputs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eq. 8 with the scattering variance MEASURED on a model trained with the soft labels.

    Eq. 7 of Lin et al. 2022 models the variance of the scattering profile of a model
    trained with soft labels as ``sigma_1^2 + sigma_2^2``: the softening is assumed to widen
    Step 2's error curve ``sigma_2`` by ``sigma_1`` in quadrature.  Step 3b is such a model
    (the soft labels of width ``sigma_1`` centred on ``z0``), so its error curve can be
    measured instead: ``Var(z | k) = sigma_2^2(z | k)`` from Eqs. 5-6 applied to Step 3b's
    zmode on the same fit subset (smoothed with the same ``sigma_1(k)`` kernel).  The means
    then follow Eq. 8 as written: ``z* = z0 - (z_bar - z0)``.

    Parameters
    ----------
    table : the Eq. 4-8 table of ``fit_soft_labels`` (its ``sigma1`` is kept; one row per
        (galaxy, activated output)).
    z_spec, mag_row : (N,) of the table's galaxies, in the order of ``table['id'].unique()``.
    z_photo : (N,) zmode of Step 3b for those galaxies (on the extended grid).
    grid : the original redshift grid.
    n_outputs : ``m``.

    Returns
    -------
    soft_labels, curves : as ``fit_soft_labels``; ``var`` and ``sigma2_sq`` are Step 3b's.
    """
    ids = table["id"].drop_duplicates().to_numpy()
    z_spec = np.asarray(z_spec, dtype=np.float64)
    z_photo = np.asarray(z_photo, dtype=np.float64)
    mag_row = np.asarray(mag_row, dtype=np.int64)
    _check_fit_inputs(ids, z_spec, z_photo, mag_row, n_outputs)
    sigma1 = np.full(n_outputs, np.nan)
    per_output = table.groupby("output")["sigma1"].first()
    sigma1[per_output.index.to_numpy(dtype=np.int64)] = per_output.to_numpy() / grid.width
    d2, sigma2_sq = error_curves(z_spec, z_photo, mag_row, grid, sigma1)
    return _label_tables(ids, z_spec, mag_row, sigma1, d2, sigma2_sq, sigma2_sq, grid, n_outputs)


STEP3_VARIANTS = ("step3", "step3a", "step3b", "step3_no_step2")


def labels_from_table(table: pd.DataFrame, ids: np.ndarray, mag_row: np.ndarray,
                      ext_grid: RedshiftGrid, variant: str):
    """Step 3 labels for the activated outputs ``lo`` and ``hi`` of each training galaxy.

    ``step3`` and ``step3_no_step2``: soft Gaussian at ``z*`` of width ``sigma_1(k)``;
    ``step3a``: hard one-hot at the bin holding ``z*``; ``step3b``: soft Gaussian at ``z0``
    (no mean shift).  Labels live on the extended grid ``ext_grid``.

    Returns
    -------
    label_lo, label_hi
        ``GaussianLabels`` (soft variants) or (N,) int64 bins (``step3a``), aligned with
        ``ids``; for even rows both describe the same output.
    """
    if variant not in STEP3_VARIANTS:
        raise InputError(f"unknown variant {variant!r}", field="variant",
                         expected=" | ".join(STEP3_VARIANTS))
    ids = np.asarray(ids)
    lo, hi = activated_outputs(mag_row)
    key = pd.MultiIndex.from_arrays([table["id"].to_numpy(), table["output"].to_numpy()])
    if not key.is_unique:
        raise InputError("duplicate (id, output) rows", field="id",
                         expected="one row per galaxy and activated output")
    centre_col = "z0" if variant == "step3b" else "z_star"

    def lookup(outputs: np.ndarray):
        pos = key.get_indexer(pd.MultiIndex.from_arrays([ids, outputs]))
        if (pos < 0).any():
            bad = int(np.flatnonzero(pos < 0)[0])
            raise InputError(f"no soft-label row for output {outputs[bad]}", row=bad,
                             gal_id=ids[bad], field="id",
                             expected="every training galaxy in soft_labels.parquet")
        mu = ext_grid.position(table[centre_col].to_numpy()[pos])
        sigma = table["sigma1"].to_numpy()[pos] / ext_grid.width
        if variant == "step3a":
            return hard_labels(mu, ext_grid.n_bins)
        return GaussianLabels(mu, sigma, ext_grid.n_bins)

    return lookup(lo), lookup(hi)
