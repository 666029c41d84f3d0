"""Metrics of photo-z accuracy and bias (Lin et al. 2022, Eqs. 9-13, Sects. 4.2-4.4, App. E).

Residual of a galaxy: ``dz = (z_photo - z_spec) / (1 + z_spec)``.

Global metrics: :func:`sigma_mad` (Eq. 11), :func:`outlier_fraction`, :func:`mean_residual`
(``<dz>``), :func:`total_variation` (Eq. 10), :func:`wasserstein1` (Eq. 13),
:func:`mean_redshift_residual` (Eq. 12).  Curves: :func:`mean_residual_vs_zspec` (weighted
by the Eq. 6 error curves, fitted with :func:`piecewise_linear_fit`, Eq. 9),
:func:`mean_residual_vs_zphoto` (RMS error bars), and :func:`binned_metric` for any metric
per bin of any variable (sigma_MAD and W1 per r bin, Eq. 12 per tomographic or magnitude
bin).  :func:`simulated_tv_floor` gives the D_TV of a z_photo sample without mode collapse
(the shaded band of Figs. 6-7).  :func:`evaluate_methods` collects everything into the tidy
``metrics.parquet`` table and :func:`appendix_e_table` renders Tables E.1-E.3.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError

#: the scale turning a median absolute deviation into a Gaussian standard deviation (Eq. 11)
MAD_TO_SIGMA = 1.4826



def _pair(z_phot, z_spec) -> tuple[np.ndarray, np.ndarray]:
    zp = np.asarray(z_phot, dtype=np.float64)
    zs = np.asarray(z_spec, dtype=np.float64)
    if zp.ndim != 1 or zp.shape != zs.shape:
        raise InputError(
            f"shapes {zp.shape} and {zs.shape}",
            field="z_phot/z_spec",
            expected="two 1-D arrays of equal length",
        )
    return zp, zs


def residuals(z_phot, z_spec) -> np.ndarray:
    """``dz = (z_photo - z_spec) / (1 + z_spec)`` (Eqs. 9 and 11); dimensionless."""
    zp, zs = _pair(z_phot, z_spec)
    return (zp - zs) / (1.0 + zs)


def sigma_mad(z_phot, z_spec) -> float:
    """``sigma_MAD = 1.4826 Median|dz - Median(dz)|`` (Eq. 11 of Lin et al. 2022).

    Parameters
    ----------
    z_phot, z_spec : (N,) photometric and spectroscopic redshifts.

    Returns
    -------
    float, dimensionless; NaN for an empty sample.
    """
    dz = residuals(z_phot, z_spec)
    if dz.size == 0:
        return float("nan")
    return float(MAD_TO_SIGMA * np.median(np.abs(dz - np.median(dz))))


def outlier_fraction(z_phot, z_spec, threshold: float) -> float:
    """Fraction ``eta`` of galaxies with ``|dz| > threshold`` (App. E; 0.05 SDSS, 0.15 CFHTLS).

    Returns
    -------
    float in [0, 1] (not percent); NaN for an empty sample.
    """
    dz = residuals(z_phot, z_spec)
    if dz.size == 0:
        return float("nan")
    return float(np.mean(np.abs(dz) > threshold))


def mean_residual(z_phot, z_spec) -> float:
    """Global mean residual ``<dz>`` (App. E); dimensionless, NaN for an empty sample."""
    dz = residuals(z_phot, z_spec)
    return float(dz.mean()) if dz.size else float("nan")


def mean_redshift_residual(z_phot, z_spec) -> float:
    """``Delta<z> = (<z_photo> - <z_spec>) / (1 + <z_spec>)`` (Eq. 12 of Lin et al. 2022).

    The residual of the mean redshift of a (tomographic or magnitude) bin, not the mean
    residual of Eq. 9.  Dimensionless; NaN for an empty sample.
    """
    zp, zs = _pair(z_phot, z_spec)
    if zp.size == 0:
        return float("nan")
    return float((zp.mean() - zs.mean()) / (1.0 + zs.mean()))


def _edges(bins, name="bins") -> np.ndarray:
    e = np.asarray(bins, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise InputError(
            "not strictly increasing", field=name, expected="1-D increasing bin edges (>= 2)"
        )
    return e


def normalised_histogram(z, bins) -> np.ndarray:
    """Probability of each half-open bin ``[e_k, e_{k+1})``, summing to one over the bins.

    Values outside ``[e_0, e_last)`` are ignored; all-NaN when none falls inside.
    """
    e = _edges(bins)
    z = np.asarray(z, dtype=np.float64)
    k = np.searchsorted(e, z, side="right") - 1 if not _uniform(e) else _uniform_index(z, e)
    ok = (k >= 0) & (k < len(e) - 1)
    h = np.bincount(k[ok], minlength=len(e) - 1).astype(np.float64)
    total = h.sum()
    return h / total if total > 0 else np.full(h.shape, np.nan)


def _uniform(e: np.ndarray) -> bool:
    d = np.diff(e)
    return bool(np.allclose(d, d[0], rtol=1e-9, atol=0))


def _uniform_index(z: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Half-open bin index on equal-width edges without sorting (the bootstrap's hot path)."""
    nb = len(e) - 1
    with np.errstate(invalid="ignore"):
        t = (z - e[0]) / (e[1] - e[0])
        k = np.clip(np.floor(t), -1, nb).astype(np.int64)
        # floating-point division may put a value next to an edge one bin off: redo those
        near = np.flatnonzero(np.abs(t - np.round(t)) < 1e-6)
    k[near] = np.clip(np.searchsorted(e, z[near], side="right") - 1, -1, nb)
    return np.where(np.isfinite(z), k, -1)


def total_variation(z_phot, z_spec, bins) -> float:
    """Total variation distance ``D_TV = 1/2 int |p_photo - p_spec| dz`` (Eq. 10).

    Both samples are histogrammed over ``bins`` and normalised over them, so ``D_TV`` is
    half the sum of the absolute differences of the bin probabilities: 0 for identical
    histograms, 1 for disjoint ones.  Values outside the edges are ignored, so the edges
    should cover both samples (e.g. the Step 3 extended range).

    Parameters
    ----------
    z_phot, z_spec : 1-D samples (need not have equal length).
    bins : (k + 1,) bin edges (redshift).

    Returns
    -------
    float in [0, 1].
    """
    return total_variation_of(normalised_histogram(z_phot, bins), normalised_histogram(z_spec, bins))


def total_variation_of(p: np.ndarray, q: np.ndarray) -> float:
    """Eq. 10 between two binned distributions ``p``, ``q`` (bin probabilities, each summing
    to one over the same bins): half the sum of their absolute differences."""
    return float(0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum())


def wasserstein1(z_phot, z_spec, bins) -> float:
    """1-Wasserstein distance ``int |F_photo - F_spec| dz`` (Eq. 13 of Lin et al. 2022).

    On the normalised histograms over ``bins`` with each bin's probability placed at its
    centre, i.e. ``sum_i |F_i - G_i| (c_{i+1} - c_i)`` with ``F_i``, ``G_i`` the cumulative
    probabilities up to bin ``i``: two samples in adjacent bins are one bin width apart.
    Equals ``scipy.stats.wasserstein_distance`` between the binned samples.

    Returns
    -------
    float (redshift); NaN when a sample has no value inside the bins.
    """
    e = _edges(bins)
    return wasserstein1_of(normalised_histogram(z_phot, e), normalised_histogram(z_spec, e), e)


def wasserstein1_of(p: np.ndarray, q: np.ndarray, bins) -> float:
    """Eq. 13 between two binned distributions ``p``, ``q`` (bin probabilities over the
    edges ``bins``), each bin's probability at its centre (as :func:`wasserstein1`)."""
    e = _edges(bins)
    c = 0.5 * (e[1:] + e[:-1])
    return float(np.sum(np.abs(np.cumsum(np.asarray(p) - np.asarray(q))[:-1]) * np.diff(c)))


def wls_line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares ``y = a x + b``: ``((a, b), (err_a, err_b))``; NaN if < 2 points.

    Errors are ``sqrt(diag((X^T W X)^-1))``, correct when ``w`` are inverse variances.
    """
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(w) & (w > 0)
    x, y, w = x[ok], y[ok], w[ok]
    if x.size < 2 or np.ptp(x) == 0:
        return np.full(2, np.nan), np.full(2, np.nan)
    X = np.stack([x, np.ones_like(x)], axis=1)
    xtwx = X.T @ (w[:, None] * X)
    params = np.linalg.solve(xtwx, X.T @ (w * y))
    err = np.sqrt(np.diag(np.linalg.inv(xtwx)))
    return params, err


def piecewise_linear_fit_with_errors(z, dz, z_break: float, weights=None):
    """:func:`piecewise_linear_fit` plus the standard errors of ``(A, B, C, D)``.

    Returns
    -------
    ``((A, B, C, D), (err_A, err_B, err_C, err_D))``; the errors assume ``weights`` are
    inverse variances.
    """
    z = np.asarray(z, dtype=np.float64)
    dz = np.asarray(dz, dtype=np.float64)
    if z.ndim != 1 or z.shape != dz.shape:
        raise InputError(
            f"shapes {z.shape}, {dz.shape}", field="z/dz", expected="1-D arrays of equal length"
        )
    w = np.ones_like(z) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != z.shape:
        raise InputError(f"shape {w.shape}", field="weights", expected=f"{z.shape}")
    low = z < z_break
    (a, b), (ea, eb) = wls_line(z[low], dz[low], w[low])
    (c, d), (ec, ed) = wls_line(z[~low], dz[~low], w[~low])
    return (float(a), float(b), float(c), float(d)), (float(ea), float(eb), float(ec), float(ed))


def piecewise_linear_fit(z, dz, z_break: float, weights=None) -> tuple[float, float, float, float]:
    """Piecewise linear fit of the mean residual, Eq. 9 of Lin et al. 2022.

    ``<dz> = A z + B`` for ``z < z_break`` and ``C z + D`` for ``z >= z_break``: two
    independent weighted least-squares lines; continuity at ``z_break`` is NOT imposed (the
    paper fits the two intervals separately).  A point exactly at ``z_break`` belongs to the
    upper interval.  Points with NaN or non-positive weight are left out; an interval with
    fewer than two distinct ``z`` gives NaN parameters.

    Parameters
    ----------
    z : (K,) abscissae, e.g. the z_spec bin centres of :func:`mean_residual_vs_zspec`.
    dz : (K,) mean residuals.
    z_break : ``z_b`` (0.15 SDSS, 0.6 CFHTLS-WIDE).
    weights : (K,) weights (e.g. ``1 / error^2``); None = equal weights.

    Returns
    -------
    ``(A, B, C, D)`` floats; ``A``, ``C`` are the slopes (per unit redshift).
    """
    return piecewise_linear_fit_with_errors(z, dz, z_break, weights)[0]


def eq9_fit_of_curve(curve: pd.DataFrame, z_break: float, min_count: int):
    """Eq. 9 through a :func:`mean_residual_vs_zspec` curve: the bin centres, bins with at
    least ``min_count`` galaxies weighted by ``1 / error^2`` (the others dropped).

    Returns :func:`piecewise_linear_fit_with_errors`'s ``((A, B, C, D), errors)``.
    """
    good = curve["n"].to_numpy() >= min_count
    zc = 0.5 * (curve["bin_lo"] + curve["bin_hi"]).to_numpy()
    w = np.where(good, 1.0 / curve["error"].to_numpy() ** 2, 0.0)
    return piecewise_linear_fit_with_errors(zc, curve["value"].to_numpy(), z_break, w)


def per_galaxy_sigma2_sq(
    curves: np.ndarray, z_bin: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """Each galaxy's quadratic error ``sigma_2^2`` from the Eq. 6 curves (Sect. 4.2, footnote 7).

    A galaxy of an odd row contributes to two magnitude outputs; the two quadratic errors are
    averaged.

    Parameters
    ----------
    curves : (m, n) ``sigma_2^2(z_spec | r_o)`` per magnitude output and z_spec bin
        (redshift^2), measured on the test data (``soft_labels.error_curves``).
    z_bin : (N,) z_spec bin index of each galaxy.
    lo, hi : (N,) activated magnitude outputs (``grid.activated_outputs``).

    Returns
    -------
    (N,) ``sigma_2^2`` (redshift^2).
    """
    curves = np.asarray(curves, dtype=np.float64)
    z_bin, lo, hi = (np.asarray(a, dtype=np.int64) for a in (z_bin, lo, hi))
    if curves.ndim != 2:
        raise InputError(f"shape {curves.shape}", field="curves", expected="(m, n) error curves")
    return 0.5 * (curves[lo, z_bin] + curves[hi, z_bin])


def _curve_frame(edges, value, error, n) -> pd.DataFrame:
    return pd.DataFrame(
        {"bin_lo": edges[:-1], "bin_hi": edges[1:], "value": value, "error": error, "n": n}
    )


def mean_residual_vs_zspec(z_phot, z_spec, sigma2_sq, bins) -> pd.DataFrame:
    """Weighted mean residual per z_spec bin, the curves of Figs. 6-7 (Sect. 4.2).

    A galaxy's residual ``dz`` has the error ``sigma_2 / (1 + z_spec)`` with ``sigma_2^2``
    from the Eq. 6 curves measured on the test data; its weight is the inverse square of that
    error.  Per bin: ``value = sum w dz / sum w`` and ``error = 1 / sqrt(sum w)``.  With
    ``sigma2_sq=None`` all weights are equal and ``error`` is the standard error of the mean.

    Parameters
    ----------
    z_phot, z_spec : (N,) redshifts.
    sigma2_sq : (N,) positive ``sigma_2^2`` per galaxy (redshift^2), see
        :func:`per_galaxy_sigma2_sq`; or None.
    bins : (k + 1,) z_spec bin edges; half-open bins, values outside are ignored.

    Returns
    -------
    DataFrame with ``bin_lo, bin_hi, value, error, n`` (NaN value/error in empty bins).
    """
    zp, zs = _pair(z_phot, z_spec)
    e = _edges(bins)
    dz = (zp - zs) / (1.0 + zs)
    k = np.searchsorted(e, zs, side="right") - 1
    ok = (k >= 0) & (k < len(e) - 1)
    nb = len(e) - 1
    if sigma2_sq is None:
        n = np.bincount(k[ok], minlength=nb).astype(np.float64)
        s1 = np.bincount(k[ok], weights=dz[ok], minlength=nb)
        s2 = np.bincount(k[ok], weights=dz[ok] ** 2, minlength=nb)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / n
            var = (s2 - n * mean**2) / (n - 1)
            err = np.sqrt(np.maximum(var, 0) / n)
        return _curve_frame(e, mean, err, n.astype(np.int64))
    s2sq = np.asarray(sigma2_sq, dtype=np.float64)
    if s2sq.shape != zp.shape:
        raise InputError(
            f"shape {s2sq.shape}", field="sigma2_sq", expected=f"{zp.shape}, one per galaxy"
        )
    bad = ok & ~(np.isfinite(s2sq) & (s2sq > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"sigma_2^2 = {s2sq[i]}",
            row=i,
            field="sigma2_sq",
            expected="positive finite quadratic errors",
        )
    w = np.zeros_like(dz)
    w[ok] = (1.0 + zs[ok]) ** 2 / s2sq[ok]
    sw = np.bincount(k[ok], weights=w[ok], minlength=nb)
    swd = np.bincount(k[ok], weights=(w * dz)[ok], minlength=nb)
    n = np.bincount(k[ok], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _curve_frame(e, swd / sw, 1.0 / np.sqrt(sw), n)


def mean_residual_vs_zphoto(z_phot, z_spec, bins) -> pd.DataFrame:
    """Plain mean residual per z_photo bin with the RMS of the residuals as error (Sect. 4.3).

    The Eq. 6 curves are functions of z_spec, so here the error bar of bin ``k`` is
    ``sqrt(mean(dz^2))`` over its galaxies, as in Figs. 9-10.

    Returns
    -------
    DataFrame with ``bin_lo, bin_hi, value, error, n`` (NaN in empty bins).
    """
    zp, zs = _pair(z_phot, z_spec)
    e = _edges(bins)
    dz = (zp - zs) / (1.0 + zs)
    k = np.searchsorted(e, zp, side="right") - 1
    ok = (k >= 0) & (k < len(e) - 1)
    nb = len(e) - 1
    n = np.bincount(k[ok], minlength=nb)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.bincount(k[ok], weights=dz[ok], minlength=nb) / n
        rms = np.sqrt(np.bincount(k[ok], weights=dz[ok] ** 2, minlength=nb) / n)
    return _curve_frame(e, mean, rms, n)


def binned_metric(
    metric: Callable[[np.ndarray, np.ndarray], float],
    z_phot,
    z_spec,
    x,
    bins,
    min_count: int = 1,
    n_boot: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Any metric ``metric(z_phot, z_spec)`` in half-open bins of a variable ``x``.

    E.g. sigma_MAD per r bin (``x = r``; Figs. 6-7), Eq. 12 per z_photo bin (``x = z_phot``)
    or per r bin (Fig. 11), W1 per r bin (``metric = lambda p, s: wasserstein1(p, s, zbins)``).

    Parameters
    ----------
    metric : function of (z_phot, z_spec) returning a float.
    z_phot, z_spec, x : (N,) arrays.
    bins : (k + 1,) edges in the units of ``x``.
    min_count : bins with fewer galaxies give NaN.
    n_boot : bootstrap resamplings for the error column (0: NaN errors).
    seed : bootstrap seed.

    Returns
    -------
    DataFrame ``bin_lo, bin_hi, value, error, n``.
    """
    zp, zs = _pair(z_phot, z_spec)
    x = np.asarray(x, dtype=np.float64)
    if x.shape != zp.shape:
        raise InputError(f"shape {x.shape}", field="x", expected=f"{zp.shape}, one per galaxy")
    e = _edges(bins)
    k = np.searchsorted(e, x, side="right") - 1
    nb = len(e) - 1
    value, error, count = np.full(nb, np.nan), np.full(nb, np.nan), np.zeros(nb, dtype=np.int64)
    for b in range(nb):
        sel = np.flatnonzero(k == b)
        count[b] = sel.size
        if sel.size < max(min_count, 1):
            continue
        value[b] = metric(zp[sel], zs[sel])
        if n_boot > 0:
            error[b] = bootstrap_errors(
                {"m": metric}, zp[sel], zs[sel], n_boot=n_boot, seed=seed + b
            )["m"]
    return _curve_frame(e, value, error, count)


def bootstrap_errors(
    metrics: Mapping[str, Callable[[np.ndarray, np.ndarray], float]],
    z_phot,
    z_spec,
    n_boot: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """Bootstrap standard deviations of scalar metrics of (z_phot, z_spec).

    Galaxies are resampled with replacement ``n_boot`` times (the same resamples for every
    metric); the error of a metric is the standard deviation (ddof=1) of its values.

    Returns
    -------
    dict name -> error (NaN when ``n_boot < 2`` or the sample is empty).
    """
    zp, zs = _pair(z_phot, z_spec)
    if n_boot < 2 or zp.size == 0:
        return {name: float("nan") for name in metrics}
    rng = np.random.default_rng(seed)
    vals = {name: np.empty(n_boot) for name in metrics}
    for b in range(n_boot):
        idx = rng.integers(0, zp.size, zp.size)
        for name, fn in metrics.items():
            vals[name][b] = fn(zp[idx], zs[idx])
    return {name: float(np.std(v, ddof=1)) for name, v in vals.items()}


def simulated_tv_floor(
    z_phot,
    z_spec,
    zspec_bins,
    tv_bins,
    sigma2_sq=None,
    n_sim: int = 20,
    seed: int = 0,
) -> tuple[float, float]:
    """D_TV of z_photo samples without mode collapse: the shaded floor of Figs. 6-7 (Sect. 4.2).

    Each test galaxy ``i`` in z_spec bin ``b`` gets a simulated
    ``z_sim = z_spec_i + (1 + z_spec_i) <dz>_b + N(0, s_i)``, where ``<dz>_b`` is the mean
    residual curve of :func:`mean_residual_vs_zspec` (weighted when ``sigma2_sq`` is given)
    and ``s_i`` is ``sigma_2`` of the galaxy (from ``sigma2_sq``), or, without it, the standard
    deviation of ``z_photo - z_spec`` in bin ``b``.  Every bin is drawn independently from its
    own galaxies only (the authors' code made this cut cumulative over bins; not copied).
    The simulated sample has the smooth scatter of the real estimates but no collapsed modes.

    Parameters
    ----------
    z_phot, z_spec : (N,) redshifts of one method's estimates.
    zspec_bins : edges of the z_spec bins of the ``<dz>`` curve; values outside go to the
        first/last bin.
    tv_bins : edges of the histograms of Eq. 10.
    sigma2_sq : optional (N,) ``sigma_2^2`` per galaxy (redshift^2).
    n_sim : number of simulated samples.
    seed : seed.

    Returns
    -------
    ``(mean, std)`` of D_TV over the ``n_sim`` simulated samples.
    """
    zp, zs = _pair(z_phot, z_spec)
    e = _edges(zspec_bins, "zspec_bins")
    nb = len(e) - 1
    k = np.clip(np.searchsorted(e, zs, side="right") - 1, 0, nb - 1)
    d = zp - zs
    dz = d / (1.0 + zs)
    if sigma2_sq is not None:
        s2sq = np.asarray(sigma2_sq, dtype=np.float64)
        if s2sq.shape != zp.shape or not np.all(np.isfinite(s2sq) & (s2sq > 0)):
            raise InputError(
                "bad quadratic errors",
                field="sigma2_sq",
                expected=f"{zp.shape} positive finite values",
            )
        w = (1.0 + zs) ** 2 / s2sq
        scale = np.sqrt(s2sq)
    else:
        w = np.ones_like(zs)
        n = np.bincount(k, minlength=nb).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            m1 = np.bincount(k, weights=d, minlength=nb) / n
            m2 = np.bincount(k, weights=d * d, minlength=nb) / n
        scale = np.sqrt(np.maximum(np.nan_to_num(m2 - m1**2), 0.0))[k]
    with np.errstate(invalid="ignore", divide="ignore"):
        curve = np.bincount(k, weights=w * dz, minlength=nb) / np.bincount(
            k, weights=w, minlength=nb
        )
    mu = curve[k]
    rng = np.random.default_rng(seed)
    tv = np.empty(n_sim)
    for s in range(n_sim):
        z_sim = zs + (1.0 + zs) * mu + scale * rng.standard_normal(zs.size)
        tv[s] = total_variation(z_sim, zs, tv_bins)
    return float(tv.mean()), (float(tv.std(ddof=1)) if n_sim > 1 else float("nan"))
