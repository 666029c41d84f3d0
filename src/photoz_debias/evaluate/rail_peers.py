"""Peers a user would pick instead: LSST DESC RAIL's FlexZBoost and KNN (Sect. 6).

Lin et al. 2022 compare their CNN with photometric photo-z (Fig. 12).  Besides our own kNN
(:mod:`photoz_debias.evaluate.peers`), two estimators of RAIL (the LSST DESC Redshift
Assessment Infrastructure Layers) run on the same galaxies with the same magnitudes:

- ``rail_flexzboost``: FlexZBoost (Izbicki & Lee 2017; Dalmasso et al. 2020), a conditional
  density as a cosine series whose coefficients are XGBoost regressions on the reference
  magnitude and the adjacent colours;
- ``rail_knn``: RAIL's KNN, a Gaussian mixture over the nearest training galaxies in colour
  space, its width and number of neighbours picked by the CDE loss on a validation split.

Each gives a PDF per test galaxy; it is integrated over the bins of our output grid (Table 1),
so that its point estimates (the mode first, as the paper's ``zmode``) are taken on the same
grid as ours, by :func:`photoz_debias.debias.estimates.point_estimates`.

RAIL is an optional extra (``pip install -e ".[rail]"``): nothing here imports it before it
is called, and :func:`rail_missing` says what is absent.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os

import numpy as np

from photoz_debias.errors import InputError

#: the pip distributions of the ``[rail]`` extra that the peers need
RAIL_DISTRIBUTIONS = ("pz-rail-base", "pz-rail-flexzboost", "pz-rail-sklearn")

#: the RAIL estimators, by their name in ``peers.rail.estimators``
ESTIMATORS = ("flexzboost", "knn")

#: test galaxies per call of a RAIL estimator: RAIL's KNN holds about 0.3 GB per 1,000 test
#: galaxies while it estimates (4.3 GB peak for 10,000 on a 721-point grid, measured), and a
#: galaxy's PDF does not depend on the others', so the test set goes through in chunks
ESTIMATE_CHUNK = 2000

#: sample points of RAIL's redshift grid per bin of ours: the PDFs are tabulated on RAIL's
#: grid (FlexZBoost's interpolated PDFs are linear between its points), so four points per
#: bin let a bin's integral see structure narrower than the bin
GRID_POINTS_PER_BIN = 4


def rail_method(estimator: str) -> str:
    """The method name (catalogue column prefix) of a RAIL estimator: ``rail_<estimator>``."""
    return f"rail_{estimator}"


def rail_missing() -> list[str]:
    """The distributions of :data:`RAIL_DISTRIBUTIONS` that are not installed (none: [])."""
    missing = []
    for dist in RAIL_DISTRIBUTIONS:
        try:
            importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            missing.append(dist)
    return missing


def _check_inputs(train_mags, train_z, test_mags, bands, edges):
    tr = np.asarray(train_mags, dtype=np.float64)
    te = np.asarray(test_mags, dtype=np.float64)
    z = np.asarray(train_z, dtype=np.float64)
    e = np.asarray(edges, dtype=np.float64)
    nb = len(bands)
    for name, m in (("train_mags", tr), ("test_mags", te)):
        if m.ndim != 2 or m.shape[1] != nb or nb < 2:
            raise InputError(
                f"shape {m.shape} for bands {list(bands)}",
                field=name,
                expected=f"(N, {nb}) magnitudes, one column per band, at least two bands",
            )
        bad = ~np.isfinite(m).all(axis=1)
        if bad.any():
            raise InputError(
                f"{int(bad.sum())} galaxies with NaN/inf magnitudes",
                row=int(np.flatnonzero(bad)[0]),
                field=name,
                expected="finite magnitudes (fill non-detections first: peers.fill_non_detections)",
            )
    if z.shape != (tr.shape[0],) or not np.isfinite(z).all():
        raise InputError(
            f"shape {z.shape}", field="train_z", expected=f"({tr.shape[0]},) finite redshifts"
        )
    if e.ndim != 1 or e.size < 3 or not np.all(np.diff(e) > 0):
        raise InputError(
            f"shape {e.shape}", field="edges", expected="increasing bin edges of >= 2 bins"
        )
    return tr, z, te, e


def _rail_table(mags, bands, z=None) -> dict:
    """RAIL's input: a plain dict of arrays, one per band (``mag_<band>``).

    FlexZBoost reads ``magerr_<band>`` columns too, only to set the error of a non-detection
    it replaces; there are none here (the magnitudes come filled) and the errors do not enter
    the fit (``include_mag_err`` False), so they are NaN.  RAIL writes into the arrays it is
    given, so each is a fresh copy.
    """
    out = {f"mag_{b}": np.array(mags[:, j], dtype=np.float64) for j, b in enumerate(bands)}
    out.update({f"magerr_{b}": np.full(mags.shape[0], np.nan) for b in bands})
    if z is not None:
        out["redshift"] = np.array(z, dtype=np.float64)
    return out


def _common_settings(train_mags, bands, edges) -> dict:
    """The RAIL settings both estimators share, fixed by what our data and grid are."""
    cols = [f"mag_{b}" for b in bands]
    return dict(
        # plain dicts of arrays, not a group of an HDF5 file
        hdf5_groupname="",
        bands=cols,
        err_bands=[f"magerr_{b}" for b in bands],
        # r is the selection band of the SDSS MGS and Beck et al. 2016's reference magnitude
        # (RAIL's default, LSST i, is not in our data); without r, the middle band
        ref_band="mag_r" if "r" in bands else cols[len(cols) // 2],
        # RAIL puts a non-detection at its band's limit; the magnitudes come filled the way
        # our kNN fills them (the faintest training magnitude), so these limits, the same
        # values, are there only because RAIL asks for every band's
        mag_limits={c: float(v) for c, v in zip(cols, train_mags.max(axis=0))},
        # RAIL's PDFs tabulated on our output grid's range, GRID_POINTS_PER_BIN per bin
        zmin=float(edges[0]),
        zmax=float(edges[-1]),
        nzbins=GRID_POINTS_PER_BIN * (len(edges) - 1) + 1,
    )


def binned_probabilities(ensemble, edges) -> np.ndarray:
    """Probability of each bin of ``edges`` under each PDF of a qp ensemble.

    Parameters
    ----------
    ensemble : ``qp.Ensemble`` of N PDFs (redshift).
    edges : (n + 1,) bin edges (redshift).

    Returns
    -------
    (N, n) float64 ``CDF(e_{j+1}) - CDF(e_j)``, negative rounding clipped to 0; a row sums
    to the PDF's mass inside the grid.
    """
    cdf = np.asarray(ensemble.cdf(np.asarray(edges, dtype=np.float64)), dtype=np.float64)
    return np.clip(np.diff(cdf, axis=1), 0.0, None)


def _estimate_in_chunks(estimate, test_mags, edges, chunk: int = ESTIMATE_CHUNK) -> np.ndarray:
    """Bin probabilities of ``estimate(mags) -> qp.Ensemble`` run on ``chunk`` test galaxies
    at a time (:data:`ESTIMATE_CHUNK`): the same numbers as one call, in bounded memory."""
    parts = [binned_probabilities(estimate(test_mags[i:i + chunk]), edges)
             for i in range(0, len(test_mags), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0, len(edges) - 1))


@contextlib.contextmanager
def _cpu_count(threads: int):
    """Limit joblib's worker processes (FlexCode fits its coefficients' regressions with
    ``n_jobs=-1``, i.e. every core) to the job's threads, for the duration of the block."""
    key = "LOKY_MAX_CPU_COUNT"
    old = os.environ.get(key)
    os.environ[key] = str(max(1, int(threads)))
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def flexzboost_density(
    train_mags, train_z, test_mags, bands, edges, seed: int = 1138, threads: int = 1
) -> np.ndarray:
    """RAIL's FlexZBoost: bin probabilities of the test galaxies on our grid (Sect. 6 peer).

    RAIL's defaults otherwise (35 cosine basis functions, XGBoost of depth 8, 75% of the
    training set to fit and 25% to pick the bump threshold and the sharpening by the CDE loss,
    then a refit on all of it): what a user who picks FlexZBoost gets.

    Parameters
    ----------
    train_mags, test_mags : (N, B) finite magnitudes in band order (mag).
    train_z : (N_train,) spectroscopic redshifts.
    bands : the B band names (e.g. ``'ugriz'``).
    edges : (n + 1,) edges of our output grid (redshift).
    seed : RAIL's seed of the fit/validation split.
    threads : cores XGBoost and joblib may use.

    Returns
    -------
    (N_test, n) float64 bin probabilities (see :func:`binned_probabilities`).
    """
    tr, z, te, e = _check_inputs(train_mags, train_z, test_mags, bands, edges)
    from rail.interactive.estimation.algos import flexzboost

    common = _common_settings(tr, bands, e)
    regression = {"max_depth": 8, "objective": "reg:squarederror", "n_jobs": int(threads)}
    with _cpu_count(threads):
        model = flexzboost.flex_z_boost_informer(
            training_data=_rail_table(tr, bands, z), seed=int(seed),
            regression_params=regression, **common,
        )["model"]
        return _estimate_in_chunks(
            lambda x: flexzboost.flex_z_boost_estimator(
                input_data=_rail_table(x, bands), model=model, **common
            )["output"],
            te, e,
        )


def rail_knn_density(
    train_mags, train_z, test_mags, bands, edges, seed: int = 0, threads: int = 1
) -> np.ndarray:
    """RAIL's KNN: bin probabilities of the test galaxies on our grid (Sect. 6 peer).

    RAIL's defaults otherwise: 3-7 neighbours and a Gaussian width of 0.01-0.075 picked by the
    CDE loss on 25% of the training set, inverse-distance weights.  Its features are the
    adjacent colours only: in this RAIL version ``only_colors=False`` (the default) leaves the
    reference magnitude out (``_computecolordata`` adds it only when the flag is true).

    Parameters and returns as :func:`flexzboost_density` (``threads`` unused: RAIL's KNN is
    single-threaded).
    """
    tr, z, te, e = _check_inputs(train_mags, train_z, test_mags, bands, edges)
    from rail.interactive.estimation.algos import k_nearneigh

    common = _common_settings(tr, bands, e)
    model = k_nearneigh.k_near_neigh_informer(
        training_data=_rail_table(tr, bands, z), seed=int(seed), **common
    )["model"]
    return _estimate_in_chunks(
        lambda x: k_nearneigh.k_near_neigh_estimator(
            input_data=_rail_table(x, bands), model=model, **common
        )["output"],
        te, e,
    )


#: estimator name -> its density function
DENSITY_FUNCTIONS = {"flexzboost": flexzboost_density, "knn": rail_knn_density}


def rail_peer_densities(
    train_mags, train_z, test_mags, bands, edges, estimators=ESTIMATORS, seed: int = 0,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """Bin probabilities of each RAIL estimator of ``estimators``, by method name
    (:func:`rail_method`); arguments as :func:`flexzboost_density`."""
    unknown = [x for x in estimators if x not in DENSITY_FUNCTIONS]
    if unknown:
        raise InputError(
            f"unknown RAIL estimators {unknown}", field="peers.rail.estimators",
            expected=f"names among {list(ESTIMATORS)}",
        )
    return {
        rail_method(x): DENSITY_FUNCTIONS[x](
            train_mags, train_z, test_mags, bands, edges, seed=seed, threads=threads
        )
        for x in estimators
    }
