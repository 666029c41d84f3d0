"""RAIL's peers on our grid (needs the [rail] extra), the qp export of densities, and the
catalogue's units read back by astropy."""

import warnings

import h5py
import numpy as np
import pandas as pd
import pytest

from photoz_debias.errors import InputError
from photoz_debias.evaluate.catalogue import catalogue_columns, write_catalogue
from photoz_debias.methods import METHODS


def _toy(n, seed):
    """ugriz magnitudes whose colours carry z (0.02-0.28) smoothly."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(0.02, 0.28, n)
    r = rng.uniform(14.5, 17.7, n)
    g_r = 0.3 + 2.5 * z
    r_i = 0.1 + 1.0 * z
    mags = np.stack([r + g_r + 1.2, r + g_r, r, r - r_i, r - 1.5 * r_i], axis=1)
    return mags, z


# ----------------------------------------------------------------------------- qp export


def test_densities_round_trip_through_qp_read(tmp_path):
    qp = pytest.importorskip("qp")
    from photoz_debias.debias.estimates import point_estimates
    from photoz_debias.qp_export import export_densities

    rng = np.random.default_rng(0)
    edges = np.linspace(0.0, 0.3, 61)
    p = rng.random((50, 60)).astype(np.float32)
    p /= p.sum(axis=1, keepdims=True)
    ids = np.arange(100, 150)
    src = tmp_path / "densities.h5"
    with h5py.File(src, "w") as f:
        f["id"] = ids
        f.create_group("step3")
        f["step3"]["p"] = p
        f["step3"]["edges"] = edges
    out = tmp_path / "qp" / "step3.hdf5"
    export_densities(src, {"step3": out})
    ens = qp.read(str(out))
    assert ens.npdf == 50 and ens.gen_class.name == "hist"
    np.testing.assert_array_equal(ens.metadata["bins"].ravel(), edges)
    # a hist PDF is a density per unit z: p_j / width
    np.testing.assert_allclose(ens.objdata["pdfs"] * 0.005, p, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(ens.ancil["id"], ids)
    est = point_estimates(p, 0.5 * (edges[1:] + edges[:-1]))
    for k in ("zmode", "zmean", "zmedian"):
        np.testing.assert_array_equal(ens.ancil[k], est[k])
    # RAIL's evaluation reads the PDFs as they are: the CDF at the last edge is 1
    np.testing.assert_allclose(ens.cdf(np.array([0.3])).ravel(), 1.0, atol=1e-9)
    assert not list(out.parent.glob(".*.tmp*"))  # the atomic write left nothing behind


def test_text_ids_survive_the_qp_round_trip(tmp_path):
    qp = pytest.importorskip("qp")
    from photoz_debias.qp_export import densities_ensemble, write_qp

    ids = np.array(["DR10_3001_0007", "MGS-00042", "galaxie-é"], dtype=object)
    p = np.full((3, 4), 0.25)
    write_qp(densities_ensemble(p, np.linspace(0.0, 0.4, 5), ids), tmp_path / "q.hdf5")
    assert qp.read(str(tmp_path / "q.hdf5")).ancil["id"].tolist() == ids.tolist()


def test_qp_export_names_a_missing_method(tmp_path):
    pytest.importorskip("qp")
    from photoz_debias.qp_export import export_densities

    src = tmp_path / "densities.h5"
    with h5py.File(src, "w") as f:
        f["id"] = np.arange(3)
    with pytest.raises(InputError, match="step4"):
        export_densities(src, {"step4": tmp_path / "step4.hdf5"})


# ----------------------------------------------------------------------------- astropy units


def test_catalogue_units_survive_an_astropy_qtable_round_trip(tmp_path):
    u = pytest.importorskip("astropy.units")
    from astropy.table import QTable

    cat = pd.DataFrame({
        "id": np.arange(4, dtype=np.int64),
        "z_spec": [0.05, 0.1, 0.15, 0.2],
        "r_mag": [15.0, 16.0, 17.0, 17.5],
        "field": ["SDSS", "SDSS", "DEEP", "WIDE"],
        "step3_zmode": [0.06, 0.1, 0.14, 0.21],
    })
    path = tmp_path / "catalogue.parquet"
    write_catalogue(cat, path, catalogue_columns(METHODS))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a string column without its length
        t = QTable.read(path)
    assert t["r_mag"].unit == u.mag
    assert t["z_spec"].unit == u.dimensionless_unscaled
    assert t["step3_zmode"].unit == u.dimensionless_unscaled
    assert not isinstance(t["id"], u.Quantity) and not isinstance(t["field"], u.Quantity)
    np.testing.assert_array_equal(t["r_mag"].value, cat["r_mag"])
    assert list(t["field"]) == list(cat["field"])
    # astropy writes a dimensionless unit as '' in its YAML
    import pyarrow.parquet as pq

    yaml_text = pq.read_schema(path).metadata[b"table_meta_yaml"].decode()
    assert "!astropy.units.Unit {unit: ''}" in yaml_text
    # and pandas still reads the same table
    pd.testing.assert_frame_equal(pd.read_parquet(path), cat)


# ----------------------------------------------------------------------------- RAIL peers


def test_rail_missing_lists_absent_distributions(monkeypatch):
    import importlib.metadata

    from photoz_debias.evaluate import rail_peers

    def version(name):
        if name == "pz-rail-flexzboost":
            raise importlib.metadata.PackageNotFoundError(name)
        return "1"

    monkeypatch.setattr(importlib.metadata, "version", version)
    assert rail_peers.rail_missing() == ["pz-rail-flexzboost"]


def test_rail_peers_refuse_nan_magnitudes_and_unknown_estimators():
    from photoz_debias.evaluate.rail_peers import rail_knn_density, rail_peer_densities

    mags, z = _toy(50, 0)
    bad = mags.copy()
    bad[3, 1] = np.nan
    edges = np.linspace(0, 0.3, 61)
    with pytest.raises(InputError, match="test_mags.*NaN"):
        rail_knn_density(mags, z, bad, "ugriz", edges)
    with pytest.raises(InputError, match="peers.rail.estimators"):
        rail_peer_densities(mags, z, mags, "ugriz", edges, estimators=["bpz"])


@pytest.mark.parametrize("estimator", ["flexzboost", "knn"])
def test_rail_peer_densities_on_our_grid(estimator):
    pytest.importorskip("rail.estimation.algos.flexzboost")
    from photoz_debias.debias.estimates import point_estimates
    from photoz_debias.evaluate.rail_peers import rail_peer_densities

    mags, z = _toy(600, 1)
    test_mags, test_z = _toy(200, 2)
    edges = np.linspace(0.0, 0.3, 61)
    centres = 0.5 * (edges[1:] + edges[:-1])
    run = lambda: rail_peer_densities(mags, z, test_mags, "ugriz", edges,  # noqa: E731
                                      estimators=[estimator], seed=3)
    p = run()[f"rail_{estimator}"]
    assert p.shape == (200, 60) and (p >= 0).all()
    # the PDFs' mass lies on the grid (the toy's z are inside it)
    assert np.median(p.sum(axis=1)) > 0.95
    zmode = point_estimates(p, centres)["zmode"]
    # the mode is a bin centre of our grid, and the colours carry z: a few bins' scatter
    np.testing.assert_allclose((zmode / 0.005) % 1, 0.5, atol=1e-9)
    dz = (zmode - test_z) / (1 + test_z)
    assert 1.4826 * np.median(np.abs(dz - np.median(dz))) < 0.02
    # the same seed gives the same densities
    np.testing.assert_array_equal(p, run()[f"rail_{estimator}"])


def test_every_written_table_s_units_are_astropy_units(tmp_path):
    """The catalogue's, the n(z) tables' and the applied catalogue's column units all parse
    in astropy, so that every Parquet the workflow writes carries readable units."""
    pytest.importorskip("astropy.units")
    from astropy.table import QTable

    from photoz_debias.evaluate.catalogue import astropy_units_metadata
    from photoz_debias.evaluate.tomography import BIN_DOCS, NZ_DOCS

    for docs in (catalogue_columns(METHODS), NZ_DOCS, BIN_DOCS):
        df = pd.DataFrame({c: np.zeros(2) for c in docs})
        write_catalogue(df, tmp_path / "t.parquet", docs)
        t = QTable.read(tmp_path / "t.parquet")
        assert set(t.colnames) == set(docs)
        assert astropy_units_metadata(df, docs)["table_meta_yaml"]


def test_estimates_in_chunks_equal_one_call_in_order():
    """The test set goes through RAIL's estimators in chunks (bounded memory): the bin
    probabilities are those of one call, galaxy for galaxy."""
    qp = pytest.importorskip("qp")
    from photoz_debias.evaluate.rail_peers import _estimate_in_chunks

    mags, _ = _toy(11, 0)
    edges = np.linspace(0.0, 0.3, 31)
    calls = []

    def estimate(m):
        calls.append(len(m))
        return qp.Ensemble(qp.stats.norm, data=dict(loc=(m[:, 2:3] - 14.0) / 15.0,
                                                    scale=np.full((len(m), 1), 0.02)))

    whole = _estimate_in_chunks(estimate, mags, edges, chunk=100)
    parts = _estimate_in_chunks(estimate, mags, edges, chunk=3)
    assert calls == [11, 3, 3, 3, 2]
    np.testing.assert_array_equal(parts, whole)
    assert whole.shape == (11, 30) and np.all(whole.sum(axis=1) <= 1 + 1e-12)
