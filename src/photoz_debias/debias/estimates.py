"""Point estimates from binned redshift densities (Lin et al. 2022, Appendix B).

The networks output a density ``p`` over ``n`` redshift bins.  Appendix B compares three
point estimates: ``zmode`` (the centre of the most probable bin; the paper's choice, used by
Steps 3 and 4 and in every figure), ``zmean`` (the probability-weighted mean of the bin
centres) and ``zmedian`` (the median of the density).  Each galaxy also gets an error
estimate ``zerr``: the standard deviation of the density about ``zmean``, with the
probability of each bin placed at its centre.

Ensembles (Sect. 4.1): the Baseline averages the densities of its 5 models and then takes
point estimates; for our Steps only the final Step 3 densities are averaged.  Both use
:func:`ensemble_density`.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from photoz_debias.errors import InputError

#: rows per chunk: bounds the (chunk, n) float64 temporaries (8192 x 1000 bins ~ 65 MB).
_CHUNK = 8192


def bin_edges_from_centres(centres: np.ndarray) -> np.ndarray:
    """Bin edges halfway between consecutive centres, the outer ones mirrored.

    Parameters
    ----------
    centres : (n,) strictly increasing bin centres (redshift).

    Returns
    -------
    (n + 1,) edges (redshift).  Exact for the equal-width grids of Table 1.
    """
    c = np.asarray(centres, dtype=np.float64)
    if c.ndim != 1 or c.size < 2:
        raise InputError(
            f"got shape {c.shape}", field="centres", expected="1-D array of >= 2 bin centres"
        )
    if not np.all(np.diff(c) > 0):
        raise InputError("bin centres are not strictly increasing", field="centres")
    mid = 0.5 * (c[1:] + c[:-1])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _validate_density(p: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(p)
    c = np.asarray(centres, dtype=np.float64)
    if p.ndim != 2:
        raise InputError(f"got shape {p.shape}", field="p", expected="(N, n) densities")
    if c.ndim != 1 or c.shape[0] != p.shape[1]:
        raise InputError(
            f"{c.shape} centres for {p.shape[1]} density bins",
            field="centres",
            expected=f"({p.shape[1]},) bin centres",
        )
    bad = ~np.isfinite(p).all(axis=1) | (p < 0).any(axis=1) | ~(p.sum(axis=1) > 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} invalid densities (NaN/inf, negative or all zero)",
            row=i,
            field="p",
            expected="finite, non-negative densities with a positive sum",
        )
    return p, c


def point_estimates(p: np.ndarray, centres: np.ndarray) -> dict[str, np.ndarray]:
    """``zmode``, ``zmean``, ``zmedian`` and ``zerr`` of binned densities (Appendix B).

    Each row of ``p`` is normalised to unit sum first (so unnormalised inputs are fine).

    - ``zmode``: centre of the bin with the largest probability (first one on ties).
    - ``zmean``: ``sum_j p_j c_j``.
    - ``zmedian``: the probability of bin ``j`` is spread uniformly over ``[e_j, e_{j+1})``,
      so the cumulative distribution is piecewise linear; ``zmedian`` is where it reaches
      1/2: ``e_j + (e_{j+1} - e_j) (1/2 - F(e_j)) / p_j`` for the first bin ``j`` whose
      cumulative sum reaches 1/2.  Edges lie halfway between centres
      (:func:`bin_edges_from_centres`).
    - ``zerr``: standard deviation ``sqrt(sum_j p_j (c_j - zmean)^2)`` of the density with
      each bin's probability at its centre (no within-bin term ``width^2 / 12``).

    Parameters
    ----------
    p : (N, n) non-negative densities over the bins (any float dtype).
    centres : (n,) increasing bin centres (redshift).

    Returns
    -------
    dict with keys ``zmode``, ``zmean``, ``zmedian``, ``zerr``: (N,) float64 arrays
    (redshift).
    """
    p, c = _validate_density(p, centres)
    edges = bin_edges_from_centres(c)
    n_gal = p.shape[0]
    out = {k: np.empty(n_gal) for k in ("zmode", "zmean", "zmedian", "zerr")}
    for s in range(0, n_gal, _CHUNK):
        q = p[s : s + _CHUNK].astype(np.float64)
        q /= q.sum(axis=1, keepdims=True)
        out["zmode"][s : s + _CHUNK] = c[np.argmax(q, axis=1)]
        # row-wise sums, not a matrix product: BLAS picks other kernels (and roundings) for
        # other numbers of rows, so a galaxy's estimate would depend on its chunk
        mean = (q * c).sum(axis=1)
        out["zmean"][s : s + _CHUNK] = mean
        out["zerr"][s : s + _CHUNK] = np.sqrt(np.maximum((q * (c * c)).sum(axis=1) - mean * mean, 0.0))
        cdf = np.cumsum(q, axis=1)
        # rounding can leave the last cumulative value a hair below 1/2 for a density
        # concentrated in the final bin; argmax of the boolean then picks the right bin anyway
        j = np.argmax(cdf >= 0.5 - 1e-12, axis=1)
        rows = np.arange(q.shape[0])
        below = cdf[rows, j] - q[rows, j]
        frac = np.clip((0.5 - below) / q[rows, j], 0.0, 1.0)
        out["zmedian"][s : s + _CHUNK] = edges[j] + (edges[j + 1] - edges[j]) * frac
    return out


def ensemble_density(densities: Sequence[np.ndarray]) -> np.ndarray:
    """Average the densities of an ensemble of models (Sect. 4.1).

    Parameters
    ----------
    densities : sequence of (N, n) densities of the same galaxies in the same order, one per
        model (seed).

    Returns
    -------
    (N, n) float64 mean density.  Point estimates are taken on this mean, never averaged
    across models.
    """
    if len(densities) == 0:
        raise InputError(
            "no densities given", field="densities", expected="at least one (N, n) array"
        )
    shape = np.shape(densities[0])
    total = np.zeros(shape, dtype=np.float64)
    for k, d in enumerate(densities):
        d = np.asarray(d)
        if d.shape != shape or d.ndim != 2:
            raise InputError(
                f"model {k} has shape {d.shape}",
                field="densities",
                expected=f"every model's densities of shape {shape}",
            )
        total += d
    return total / len(densities)
