"""Step 4: calibration of z_photo-dependent residuals (Lin et al. 2022, Sect. 3.2.4).

The test sample's z_spec is unknown, so its (z_photo, row) distribution after Steps 1-3
stands in for its (z_spec, row) distribution.  The training galaxies (with their own Step 3
``zmode``) are resampled to that distribution, cell by cell in (z_spec bin, magnitude row),
to the same total size as the test sample.  In each (z_photo cell, row) the mean
``z_photo - z_spec`` of the resampled training galaxies is the bias subtracted from the
test galaxies' ``z_photo``.  This is repeated with ``n_resamplings`` different resamplings
and the corrected estimates are averaged.

Rows are the input-space magnitude rows of the training grid (``MagnitudeRows``), not the
magnitude outputs.  Cells are half-open ``[lo, hi)``.  (The authors' helper shifted the row
edges by one, so galaxies with r > 17.5 were never corrected, and used strict inequalities
that skipped values lying exactly on cell edges; neither is reproduced here.)

Also here: the test-sample and training-sample variants of the Figs. 9 and 10 experiments
(Sect. 4.3).
"""

from __future__ import annotations

import numpy as np

from photoz_debias.errors import InputError


def _cell_index(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Half-open ``[e_k, e_{k+1})`` cell of each value; -1 outside ``[e_0, e_last)``."""
    k = np.searchsorted(edges, x, side="right") - 1
    k[(k < 0) | (k >= len(edges) - 1)] = -1
    return k


def _clipped_bin(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Half-open bin of each value; values outside the edges go to the first/last bin."""
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)


def _check_1d(name: str, x, n: int | None = None, integer: bool = False) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise InputError(f"got shape {a.shape}", field=name, expected="a 1-D array")
    if n is not None and a.shape[0] != n:
        raise InputError(
            f"got {a.shape[0]} values", field=name, expected=f"{n} values, one per galaxy"
        )
    if integer:
        if not np.issubdtype(a.dtype, np.integer):
            raise InputError(f"dtype {a.dtype}", field=name, expected="integer magnitude rows")
        if a.size and a.min() < 0:
            i = int(np.argmin(a))
            raise InputError(f"negative row {a[i]}", row=i, field=name, expected="rows >= 0")
        return a.astype(np.int64)
    a = a.astype(np.float64)
    bad = ~np.isfinite(a)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} NaN/inf values", row=i, field=name, expected="finite redshifts"
        )
    return a


def _check_edges(name: str, edges) -> np.ndarray:
    e = np.asarray(edges, dtype=np.float64)
    if e.ndim != 1 or e.size < 2 or not np.all(np.diff(e) > 0):
        raise InputError(
            "not strictly increasing", field=name, expected="1-D increasing bin edges (>= 2)"
        )
    return e


def resample_training(
    z_photo_test: np.ndarray,
    row_test: np.ndarray,
    z_spec_train: np.ndarray,
    row_train: np.ndarray,
    z_bins: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Resample the training sample to the test sample's (z_photo, row) distribution (Sect. 3.2.4).

    For every (z bin ``j``, row ``r``) the number of test galaxies with ``z_photo`` in bin ``j``
    and row ``r`` is the target count ``t``; ``t`` training galaxies with ``z_spec`` in bin
    ``j`` and row ``r`` are drawn: without replacement while the cell has enough galaxies,
    then with replacement for the remainder.  An empty training cell borrows from the
    nearest populated z bin of the same row (both neighbours pooled when equidistant).  Test
    ``z_photo`` outside ``z_bins`` counts in the first/last bin (Step 3 predicts over an
    extended range while training ``z_spec`` stays inside it).  A row with no training
    galaxy at all cannot be matched: its test galaxies get no resampled counterpart, so
    the returned sample is then smaller than the test sample.

    Parameters
    ----------
    z_photo_test : (N_test,) test photo-z (Step 3 ``zmode``; redshift).
    row_test : (N_test,) test magnitude rows (integers, the training grid's rows).
    z_spec_train : (N_train,) training spectroscopic redshifts.
    row_train : (N_train,) training magnitude rows.
    z_bins : (n + 1,) redshift bin edges of the resampling grid (half-open bins).
    rng : numpy Generator.

    Returns
    -------
    (N_test,) int64 indices into the training arrays (repeats possible), grouped by cell.
    """
    z_photo_test = _check_1d("z_photo_test", z_photo_test)
    row_test = _check_1d("row_test", row_test, z_photo_test.shape[0], integer=True)
    z_spec_train = _check_1d("z_spec_train", z_spec_train)
    row_train = _check_1d("row_train", row_train, z_spec_train.shape[0], integer=True)
    z_bins = _check_edges("z_bins", z_bins)
    n_z = len(z_bins) - 1
    n_rows = int(max(row_test.max(initial=-1), row_train.max(initial=-1))) + 1
    target = np.bincount(
        row_test * n_z + _clipped_bin(z_photo_test, z_bins), minlength=n_rows * n_z
    ).reshape(n_rows, n_z)
    train_cell = row_train * n_z + _clipped_bin(z_spec_train, z_bins)
    order = np.argsort(train_cell, kind="stable")
    starts = np.searchsorted(train_cell[order], np.arange(n_rows * n_z + 1))
    counts = np.diff(starts).reshape(n_rows, n_z)

    picks = []
    for r, j in zip(*np.nonzero(target)):
        t = int(target[r, j])
        populated = np.flatnonzero(counts[r])
        if populated.size == 0:
            continue
        dist = np.abs(populated - j)
        source = populated[dist == dist.min()]
        pool = np.concatenate(
            [order[starts[r * n_z + s] : starts[r * n_z + s + 1]] for s in source]
        )
        n_first = min(t, pool.size)
        chosen = [rng.choice(pool, size=n_first, replace=False)]
        if t > pool.size:
            chosen.append(rng.choice(pool, size=t - pool.size, replace=True))
        picks.extend(chosen)
    if not picks:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(picks).astype(np.int64)


def step4_shift(
    z_photo_test: np.ndarray,
    row_test: np.ndarray,
    z_photo_train: np.ndarray,
    z_spec_train: np.ndarray,
    row_train: np.ndarray,
    z_bins: np.ndarray,
    zphoto_cell_edges: np.ndarray,
    n_resamplings: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """The Step 4 correction of each test galaxy, averaged over the resamplings (Sect. 3.2.4).

    Per resampling: the bias of cell (z_photo cell ``c``, row ``r``) is the mean
    ``z_photo - z_spec`` of the resampled training galaxies whose ``z_photo`` lies in ``c``
    (half-open cells) and whose row is ``r``.  A test galaxy in a cell without resampled
    training galaxies, or outside ``[zphoto_cell_edges[0], zphoto_cell_edges[-1])``, gets a
    zero correction in that resampling.  The returned shift is the mean over resamplings, so
    ``z_photo_test - shift`` is the average of the corrected estimates.

    Parameters
    ----------
    z_photo_test : (N_test,) test photo-z to correct (Step 3 ``zmode``; redshift).
    row_test : (N_test,) integer magnitude rows of the test galaxies.
    z_photo_train : (N_train,) Step 3 photo-z of the training galaxies (redshift).
    z_spec_train : (N_train,) their spectroscopic redshifts.
    row_train : (N_train,) their magnitude rows (same grid as ``row_test``).
    z_bins : (n + 1,) redshift bin edges for matching the (z, row) distributions.
    zphoto_cell_edges : (k + 1,) edges of the z_photo cells where the bias is measured
        (the workflow uses :meth:`RedshiftGrid.aligned_edges`: whole grid bins, since z_photo (zmode) takes grid centres only).
    n_resamplings : number of independent resamplings (5 in the paper).
    seed : seed of the resamplings.

    Returns
    -------
    (N_test,) float64 shift (redshift) to subtract from ``z_photo_test``.
    """
    z_photo_test = _check_1d("z_photo_test", z_photo_test)
    n_test = z_photo_test.shape[0]
    row_test = _check_1d("row_test", row_test, n_test, integer=True)
    z_photo_train = _check_1d("z_photo_train", z_photo_train)
    n_train = z_photo_train.shape[0]
    z_spec_train = _check_1d("z_spec_train", z_spec_train, n_train)
    row_train = _check_1d("row_train", row_train, n_train, integer=True)
    zc = _check_edges("zphoto_cell_edges", zphoto_cell_edges)
    if n_resamplings < 1:
        raise InputError(f"got {n_resamplings}", field="n_resamplings", expected=">= 1")
    shift, _ = _step4_shift_and_support(
        z_photo_test, row_test, z_photo_train, z_spec_train, row_train, z_bins, zc,
        n_resamplings, seed,
    )
    return shift


def step4_resamplings(z_photo_test, row_test, z_spec_train, row_train, z_bins, n_resamplings: int,
                      seed: int):
    """The ``n_resamplings`` resampled training sets of Step 4 (:func:`resample_training`),
    each from its own generator spawned from ``seed``: yields index arrays into the
    training sample.  :func:`step4_shift` and the tomographic n(z) of an applied sample
    (``evaluate.tomography``) use the same draws for the same seed."""
    for rng in (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_resamplings)
    ):
        yield resample_training(z_photo_test, row_test, z_spec_train, row_train, z_bins, rng)


def _step4_shift_and_support(z_photo_test, row_test, z_photo_train, z_spec_train, row_train, z_bins,
                             zc, n_resamplings, seed):
    """:func:`step4_shift` (checked inputs) and whether each test galaxy's (z_photo cell,
    row) held resampled training galaxies in every resampling (False: no correction)."""
    n_test = z_photo_test.shape[0]
    n_c = len(zc) - 1
    n_rows = int(max(row_test.max(initial=-1), row_train.max(initial=-1))) + 1

    test_cell_z = _cell_index(z_photo_test, zc)
    inside = test_cell_z >= 0
    test_cell = np.where(inside, row_test * n_c + test_cell_z, 0)
    train_cell_z = _cell_index(z_photo_train, zc)
    residual = z_photo_train - z_spec_train

    shift = np.zeros(n_test)
    supported = inside.copy()
    for idx in step4_resamplings(z_photo_test, row_test, z_spec_train, row_train, z_bins,
                                 n_resamplings, seed):
        idx = idx[train_cell_z[idx] >= 0]
        cell = row_train[idx] * n_c + train_cell_z[idx]
        n = np.bincount(cell, minlength=n_rows * n_c)
        s = np.bincount(cell, weights=residual[idx], minlength=n_rows * n_c).astype(np.float64)
        bias = np.divide(s, n, out=np.zeros(s.shape), where=n > 0)
        shift += np.where(inside, bias[test_cell], 0.0)
        supported &= n[test_cell] > 0
    return shift / n_resamplings, supported


def rows_inside(r_mag, rows) -> np.ndarray:
    """Whether each magnitude lies inside the model's magnitude rows ``[r_min, r_max)``
    (``rows``: a :class:`photoz_debias.grid.MagnitudeRows`); Step 4 calibrates in (z_photo,
    row) cells, so a galaxy outside every row has no training galaxies to be calibrated by."""
    r = np.asarray(r_mag, dtype=np.float64)
    e = rows.edges
    return np.isfinite(r) & (r >= e[0]) & (r < e[-1])


def calibrate_applied_sample(
    z_photo: np.ndarray,
    r_mag: np.ndarray,
    z_photo_train: np.ndarray,
    z_spec_train: np.ndarray,
    row_train: np.ndarray,
    rows,
    z_bins: np.ndarray,
    zphoto_cell_edges: np.ndarray,
    n_resamplings: int = 5,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Step 4 on an applied sample, galaxies without spectra (Sect. 3.2.4).

    Step 4 needs only the sample's z_photo and r: the training galaxies are resampled to the
    applied sample's own (z_photo, row) distribution (:func:`resample_training`) and the mean
    ``z_photo - z_spec`` of the resampled training galaxies in each (z_photo cell, row) is
    the shift, averaged over ``n_resamplings`` (:func:`step4_shift`).

    A galaxy cannot be calibrated when its r lies outside the model's magnitude rows
    (:func:`rows_inside`; it takes no part in the resampling), its z_photo lies outside the
    z_photo cells, or its (z_photo cell, row) holds no resampled training galaxy in some
    resampling: its shift is NaN and its flag False.

    Parameters
    ----------
    z_photo : (N,) the applied sample's Step 3 photo-z (``zmode``; redshift).
    r_mag : (N,) its dereddened r magnitudes (mag).
    z_photo_train, z_spec_train, row_train : the training galaxies' Step 3 photo-z, spectroscopic
        redshifts and magnitude rows (the model's part).
    rows : the model's :class:`photoz_debias.grid.MagnitudeRows`.
    z_bins, zphoto_cell_edges, n_resamplings, seed : as :func:`step4_shift`.

    Returns
    -------
    shift : (N,) float64 shift (redshift) to subtract, NaN where not calibrated.
    calibrated : (N,) bool.
    """
    z_photo = _check_1d("z_photo", z_photo)
    r = np.asarray(r_mag, dtype=np.float64)
    if r.shape != z_photo.shape:
        raise InputError(f"got shape {r.shape}", field="r_mag", expected=f"shape {z_photo.shape}, one per galaxy")
    z_photo_train = _check_1d("z_photo_train", z_photo_train)
    z_spec_train = _check_1d("z_spec_train", z_spec_train, z_photo_train.shape[0])
    row_train = _check_1d("row_train", row_train, z_photo_train.shape[0], integer=True)
    zc = _check_edges("zphoto_cell_edges", zphoto_cell_edges)
    if n_resamplings < 1:
        raise InputError(f"got {n_resamplings}", field="n_resamplings", expected=">= 1")
    inside = rows_inside(r, rows)
    sel = np.flatnonzero(inside)
    shift = np.full(z_photo.shape[0], np.nan)
    calibrated = np.zeros(z_photo.shape[0], dtype=bool)
    if sel.size:
        s, ok = _step4_shift_and_support(
            z_photo[sel], rows.row_index(r[sel]), z_photo_train, z_spec_train, row_train,
            _check_edges("z_bins", z_bins), zc, n_resamplings, seed,
        )
        shift[sel] = np.where(ok, s, np.nan)
        calibrated[sel] = ok
    return shift, calibrated


def calibrate_photo_z(
    z_photo_test: np.ndarray,
    row_test: np.ndarray,
    z_photo_train: np.ndarray,
    z_spec_train: np.ndarray,
    row_train: np.ndarray,
    z_bins: np.ndarray,
    zphoto_cell_edges: np.ndarray,
    n_resamplings: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Step 4: test photo-z corrected for z_photo-dependent residuals (Sect. 3.2.4).

    ``z_photo_test - step4_shift(...)``; see :func:`step4_shift` for the parameters.  The
    paper calibrates ``zmode`` and shifts ``zmean``/``zmedian`` by the same amount
    (Fig. B.1): apply :func:`step4_shift` to them for that.

    Returns
    -------
    (N_test,) float64 corrected photo-z (redshift).
    """
    shift = step4_shift(
        z_photo_test,
        row_test,
        z_photo_train,
        z_spec_train,
        row_train,
        z_bins,
        zphoto_cell_edges,
        n_resamplings=n_resamplings,
        seed=seed,
    )
    return np.asarray(z_photo_test, dtype=np.float64) - shift


_BIAS_DEFAULTS = {"zspec": (0.12, 0.03), "rmag": (17.5, 0.5)}


def biased_test_sample(
    z_spec: np.ndarray,
    r: np.ndarray,
    kind: str,
    centre: float | None = None,
    width: float | None = None,
    seed: int = 0,
    floor: float = 0.0,
) -> np.ndarray:
    """Test subsample biased towards z_spec ~ 0.12 or r ~ 17.5 (Sect. 4.3, Figs. 9-10).

    The paper only says the test samples are "biased towards medium redshifts
    (z_spec ~ 0.12) or high magnitudes (r ~ 17.5)".  Here each galaxy is kept independently
    with probability ``floor + (1 - floor) exp(-(x - centre)^2 / (2 width^2))`` where ``x`` is
    ``z_spec`` (``kind='zspec'``) or ``r`` (``kind='rmag'``): the subsample density is the
    original one times that weight.  Because the weight depends only on ``x``, the sampling
    inside each (z_spec, row) cell stays that of the parent sample, the assumption Step 4
    relies on.  ``kind='none'`` returns every galaxy.

    Parameters
    ----------
    z_spec : (N,) spectroscopic redshifts of the test sample.
    r : (N,) r-band magnitudes (mag).
    kind : ``'none'``, ``'zspec'`` or ``'rmag'``.
    centre, width : Gaussian weight centre and width (redshift or mag); defaults 0.12, 0.03
        for ``'zspec'`` and 17.5, 0.5 mag for ``'rmag'``.
    seed : seed of the draw.
    floor : minimum keep probability in [0, 1) (0: pure Gaussian weight).

    Returns
    -------
    sorted int64 indices of the kept galaxies.
    """
    z_spec = _check_1d("z_spec", z_spec)
    r = _check_1d("r", r, z_spec.shape[0])
    if kind == "none":
        return np.arange(z_spec.shape[0], dtype=np.int64)
    if kind not in _BIAS_DEFAULTS:
        raise InputError(
            f"unknown kind {kind!r}", field="kind", expected="'none', 'zspec' or 'rmag'"
        )
    c0, w0 = _BIAS_DEFAULTS[kind]
    centre = c0 if centre is None else centre
    width = w0 if width is None else width
    if not (width > 0 and 0.0 <= floor < 1.0):
        raise InputError(
            f"width={width}, floor={floor}",
            field="width/floor",
            expected="width > 0, 0 <= floor < 1",
        )
    x = z_spec if kind == "zspec" else r
    keep_prob = floor + (1.0 - floor) * np.exp(-0.5 * ((x - centre) / width) ** 2)
    u = np.random.default_rng(seed).random(x.shape[0])
    return np.flatnonzero(u < keep_prob).astype(np.int64)


def deplete_training(
    z_spec: np.ndarray, lo: float = 0.08, hi: float = 0.12, fraction: float = 0.9, seed: int = 0
) -> np.ndarray:
    """Keep-mask of the training set with ``fraction`` of ``lo < z_spec < hi`` removed (Fig. 10).

    Exactly ``round(fraction * n_in)`` of the ``n_in`` galaxies strictly inside ``(lo, hi)``
    are removed, chosen at random; every other galaxy is kept.  The depleted training set
    needs its own Steps 1-3.

    Parameters
    ----------
    z_spec : (N,) training spectroscopic redshifts.
    lo, hi : the depleted interval (open; redshift).
    fraction : fraction removed, in [0, 1].
    seed : seed of the draw.

    Returns
    -------
    (N,) boolean mask, True = kept.
    """
    z_spec = _check_1d("z_spec", z_spec)
    if not (0.0 <= fraction <= 1.0 and hi > lo):
        raise InputError(
            f"lo={lo}, hi={hi}, fraction={fraction}",
            field="deplete_training",
            expected="hi > lo, 0 <= fraction <= 1",
        )
    inside = np.flatnonzero((z_spec > lo) & (z_spec < hi))
    n_drop = int(round(fraction * inside.size))
    drop = np.random.default_rng(seed).choice(inside, size=n_drop, replace=False)
    keep = np.ones(z_spec.shape[0], dtype=bool)
    keep[drop] = False
    return keep
