"""A photometric peer: k-nearest-neighbour photo-z on magnitudes and colours (Sect. 6).

Lin et al. 2022 compare their CNN with the SDSS photo-z of Beck et al. (2016), who search
the k nearest training galaxies in colour-magnitude space (r magnitude and the four
adjacent colours) and fit a local linear regression of z on those features.  Here:

- ``method='local_linear'`` (default): Beck et al.'s idea, a least-squares hyperplane
  ``z = a + b . x`` through the ``k`` neighbours of each test galaxy, evaluated at the galaxy
  (a tiny ridge keeps near-degenerate neighbourhoods finite).  Beck et al. also iterated
  outlier rejection and error estimates from the fit residuals; neither is done here.
- ``method='mean'``: scikit-learn's ``KNeighborsRegressor``, the unweighted mean z of the
  ``k`` neighbours.

Features: ``'mags'`` (all bands), ``'colours'`` (adjacent-band colours),
``'mags+colours'`` (both), or ``'ref+colours'`` (one reference magnitude, r by default, and
the colours: Beck et al.'s choice); each feature is standardised with the training mean and
standard deviation.  The search is exact and deterministic (no random state).
"""

from __future__ import annotations

import numpy as np
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors

from photoz_debias.errors import InputError

FEATURES = ("mags", "colours", "mags+colours", "ref+colours")


def photometric_features(
    mags: np.ndarray, features: str = "mags+colours", ref_band: int = 2
) -> np.ndarray:
    """Feature matrix from dereddened magnitudes.

    Parameters
    ----------
    mags : (N, B) magnitudes in band order (e.g. u g r i z; mag).
    features : ``'mags'``, ``'colours'`` (``m_b - m_{b+1}``), ``'mags+colours'`` or
        ``'ref+colours'``.
    ref_band : column of the reference magnitude for ``'ref+colours'`` (2 = r in ugriz).

    Returns
    -------
    (N, F) float64 features (mag).
    """
    m = np.asarray(mags, dtype=np.float64)
    if features not in FEATURES:
        raise InputError(
            f"unknown features {features!r}", field="features", expected=f"one of {FEATURES}"
        )
    colours = m[:, :-1] - m[:, 1:]
    if features == "mags":
        return m
    if features == "colours":
        return colours
    if features == "ref+colours":
        return np.concatenate([m[:, ref_band : ref_band + 1], colours], axis=1)
    return np.concatenate([m, colours], axis=1)


def peer_magnitude_columns(bands, columns) -> list[str]:
    """The magnitude columns the kNN peer uses: ``mag_<band>`` of the data's bands, in band
    order, those that the catalogue has (Sect. 6: magnitudes and adjacent colours).

    Parameters
    ----------
    bands : sequence of str
        The data's bands in order (a stamps file's ``bands`` attribute, e.g. ``'griz'``).
    columns : collection of str
        The columns of the label table.

    Returns
    -------
    list of str
        E.g. ``['mag_g', 'mag_r', 'mag_i', 'mag_z']``; empty when fewer than two bands have
        magnitudes (no colour to search on: the peer is left out).
    """
    have = [f"mag_{b}" for b in bands if f"mag_{b}" in set(columns)]
    return have if len(have) >= 2 else []


def _check_mags(name: str, mags, n_bands: int | None = None) -> np.ndarray:
    m = np.asarray(mags, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2 or (n_bands is not None and m.shape[1] != n_bands):
        raise InputError(
            f"shape {m.shape}", field=name, expected=f"(N, {n_bands or 'B >= 2'}) magnitudes"
        )
    bad = ~np.isfinite(m).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"{int(bad.sum())} galaxies with NaN/inf magnitudes",
            row=i,
            field=name,
            expected="finite dereddened magnitudes (drop or impute them first)",
        )
    return m


def knn_photo_z(
    train_mags: np.ndarray,
    train_z: np.ndarray,
    test_mags: np.ndarray,
    k: int = 32,
    features: str = "mags+colours",
    method: str = "local_linear",
    chunk: int = 4096,
    ref_band: int = 2,
) -> np.ndarray:
    """Photo-z of the test galaxies from their ``k`` nearest training galaxies (Sect. 6).

    Parameters
    ----------
    train_mags : (N_train, B) dereddened training magnitudes (mag).
    train_z : (N_train,) training spectroscopic redshifts.
    test_mags : (N_test, B) dereddened test magnitudes (mag).
    k : number of neighbours.
    features : see :func:`photometric_features`.
    method : ``'local_linear'`` (Beck et al. 2016) or ``'mean'`` (kNN mean).
    chunk : test galaxies per batch of local fits (bounds memory).
    ref_band : reference band for ``features='ref+colours'`` (2 = r in ugriz).

    Returns
    -------
    (N_test,) float64 photo-z (redshift).
    """
    tr = _check_mags("train_mags", train_mags)
    te = _check_mags("test_mags", test_mags, tr.shape[1])
    z = np.asarray(train_z, dtype=np.float64)
    if z.shape != (tr.shape[0],) or not np.isfinite(z).all():
        raise InputError(
            f"shape {z.shape}", field="train_z", expected=f"({tr.shape[0]},) finite redshifts"
        )
    if method not in ("local_linear", "mean"):
        raise InputError(
            f"unknown method {method!r}", field="method", expected="'local_linear' or 'mean'"
        )
    if not 1 <= k <= tr.shape[0]:
        raise InputError(f"k={k}", field="k", expected=f"1 <= k <= {tr.shape[0]} (training size)")

    x_tr = photometric_features(tr, features, ref_band)
    x_te = photometric_features(te, features, ref_band)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    sd[sd == 0] = 1.0
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd

    if method == "mean":
        reg = KNeighborsRegressor(n_neighbors=k, weights="uniform", algorithm="kd_tree", n_jobs=1)
        return reg.fit(x_tr, z).predict(x_te).astype(np.float64)

    if k < x_tr.shape[1] + 2:
        raise InputError(
            f"k={k} for {x_tr.shape[1]} features",
            field="k",
            expected=f"k >= {x_tr.shape[1] + 2} for a local linear fit (or method='mean')",
        )
    nn = NearestNeighbors(n_neighbors=k, algorithm="kd_tree", n_jobs=1).fit(x_tr)
    n_feat = x_tr.shape[1]
    out = np.empty(x_te.shape[0])
    ridge = 1e-8 * np.eye(n_feat + 1)
    ridge[0, 0] = 0.0  # never shrink the intercept: it is the prediction itself
    for s in range(0, x_te.shape[0], chunk):
        q = x_te[s : s + chunk]
        idx = nn.kneighbors(q, return_distance=False)
        # centre each neighbourhood on its test galaxy: the intercept is then the prediction
        dx = x_tr[idx] - q[:, None, :]
        design = np.concatenate([np.ones(dx.shape[:2] + (1,)), dx], axis=2)
        gram = np.einsum("nki,nkj->nij", design, design) + ridge * k
        rhs = np.einsum("nki,nk->ni", design, z[idx])
        out[s : s + chunk] = np.linalg.solve(gram, rhs[..., None])[:, 0, 0]
    return out


def fill_non_detections(mags: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Replace non-detected (NaN) magnitudes by the faintest detected magnitude of that band.

    A crude upper-limit stand-in so that the kNN peer can place drop-outs (e.g. u-band
    non-detections of high-redshift galaxies) next to faint galaxies instead of failing.

    Parameters
    ----------
    mags : (N, B) magnitudes with NaN for non-detections.
    reference : (M, B) magnitudes whose faintest detected value per band is the fill value
        (default: ``mags`` itself); pass the training set so train and test are filled alike.
    """
    mags = np.array(mags, dtype=np.float64)
    ref = mags if reference is None else np.asarray(reference, dtype=np.float64)
    fill = np.nanmax(np.where(np.isfinite(ref), ref, np.nan), axis=0)
    bad = ~np.isfinite(mags)
    mags[bad] = np.broadcast_to(fill, mags.shape)[bad]
    return mags
