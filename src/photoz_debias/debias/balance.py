"""Step 2's near-balanced training subset (Lin et al. 2022, Sect. 3.2.2, Fig. 4).

The input space is divided into cells of ``n`` redshift bins x ``2m - 1`` magnitude ROWS
(rows of the input space, not magnitude outputs).  A cell holding at most ``threshold``
galaxies is kept whole; a fuller ("over-populated") cell keeps ``threshold`` galaxies drawn
at random without replacement, a different draw per seed.  Thresholds in the paper
(Table 2): SDSS 200, CFHTLS-WIDE 100, CFHTLS-DEEP 5; they come from the config.

For SDSS the subset is then down-sampled to 60,000 galaxies (Sect. 4.1); ``downsample``
does that.  Both functions take a ``numpy.random.Generator`` so that each ensemble seed
draws its own subset.
"""

from __future__ import annotations

import numpy as np

from photoz_debias.errors import InputError


def _as_index_array(a, field: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise InputError(f"got shape {a.shape}", field=field, expected="a 1-D array")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise InputError(f"got dtype {a.dtype}", field=field, expected="integer indices")
    if a.size and a.min() < 0:
        row = int(np.argmin(a))
        raise InputError(f"negative value {a[row]}", row=row, field=field, expected=">= 0")
    return a.astype(np.int64, copy=False)


def balanced_subset(
    z_bin: np.ndarray,
    mag_row: np.ndarray,
    threshold: int,
    rng: np.random.Generator,
    eligible: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the near-balanced subset of Step 2 (Sect. 3.2.2 of Lin et al. 2022).

    Parameters
    ----------
    z_bin : (N,) int
        Redshift bin of each training galaxy on the original grid (``RedshiftGrid.bin_index``).
    mag_row : (N,) int
        Magnitude row of each galaxy (``MagnitudeRows.row_index``), 0 .. 2m - 2.
    threshold : int
        Balancing threshold ``th`` (>= 1): the most galaxies a (z_spec, row) cell keeps.
    rng : numpy.random.Generator
        Source of the random draw in over-populated cells (one per ensemble seed).
    eligible : (N,) bool, optional
        Galaxies that may enter the subset (e.g. HQ spec-z of one CFHTLS field).  Cell
        counts are taken over eligible galaxies only.  Default: all.

    Returns
    -------
    (K,) int64
        Sorted indices into the input arrays.  Cells with ``<= threshold`` eligible
        galaxies are kept whole; fuller cells keep exactly ``threshold`` galaxies.
    """
    z_bin = _as_index_array(z_bin, "z_bin")
    mag_row = _as_index_array(mag_row, "mag_row")
    if z_bin.shape != mag_row.shape:
        raise InputError(
            f"z_bin has {z_bin.size} entries, mag_row {mag_row.size}",
            field="mag_row", expected="one entry per galaxy in both",
        )
    if int(threshold) != threshold or threshold < 1:
        raise InputError(f"got {threshold!r}", field="threshold", expected="an integer >= 1")
    threshold = int(threshold)
    if eligible is None:
        candidates = np.arange(z_bin.size, dtype=np.int64)
    else:
        eligible = np.asarray(eligible)
        if eligible.shape != z_bin.shape or eligible.dtype != bool:
            raise InputError(
                f"got shape {eligible.shape}, dtype {eligible.dtype}",
                field="eligible", expected=f"a boolean mask of shape {z_bin.shape}",
            )
        candidates = np.flatnonzero(eligible)
    if candidates.size == 0:
        return candidates.astype(np.int64)

    n_rows = int(mag_row.max()) + 1
    cell = z_bin[candidates] * n_rows + mag_row[candidates]
    # A random order, then a stable sort by cell: the first `threshold` of each cell are a
    # uniform draw without replacement from that cell.
    shuffled = rng.permutation(candidates.size)
    order = shuffled[np.argsort(cell[shuffled], kind="stable")]
    sorted_cell = cell[order]
    starts = np.flatnonzero(np.r_[True, sorted_cell[1:] != sorted_cell[:-1]])
    counts = np.diff(np.r_[starts, sorted_cell.size])
    rank = np.arange(sorted_cell.size) - np.repeat(starts, counts)
    return np.sort(candidates[order[rank < threshold]])


def cell_occupancy(z_bin: np.ndarray, mag_row: np.ndarray, threshold: int) -> dict:
    """How full the (z bin, row) cells of Step 2 are, for the balancing log.

    Returns ``populated`` (cells with a galaxy), ``fullest`` (galaxies in the fullest cell),
    ``capped`` (cells above ``threshold``, which :func:`balanced_subset` cuts to it) and
    ``kept`` (the subset's size: the sum of ``min(count, threshold)``).
    """
    z_bin = _as_index_array(z_bin, "z_bin")
    mag_row = _as_index_array(mag_row, "mag_row")
    if z_bin.size == 0:
        return {"populated": 0, "fullest": 0, "capped": 0, "kept": 0}
    _, counts = np.unique(z_bin * (int(mag_row.max()) + 1) + mag_row, return_counts=True)
    return {"populated": int(counts.size), "fullest": int(counts.max()),
            "capped": int((counts > threshold).sum()),
            "kept": int(np.minimum(counts, threshold).sum())}


def downsample(indices: np.ndarray, size: int | None, rng: np.random.Generator) -> np.ndarray:
    """Uniform random down-sampling without replacement (Sect. 4.1: SDSS subset -> 60,000).

    Parameters
    ----------
    indices : (K,) int
        Indices to draw from (e.g. the output of ``balanced_subset``).
    size : int or None
        Number to keep; ``None`` or ``size >= K`` keeps all.
    rng : numpy.random.Generator

    Returns
    -------
    (min(size, K),) int64, sorted.
    """
    indices = _as_index_array(indices, "indices")
    if size is None or size >= indices.size:
        return np.sort(indices)
    if int(size) != size or size < 1:
        raise InputError(f"got {size!r}", field="subset_size", expected="an integer >= 1 or null")
    return np.sort(rng.choice(indices, size=int(size), replace=False))
