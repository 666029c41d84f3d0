"""kNN photo-z peer on magnitudes and colours (Sect. 6, Beck et al. 2016 idea)."""

import numpy as np
import pytest

from photoz_debias.errors import InputError
from photoz_debias.evaluate.peers import knn_photo_z, photometric_features


def _toy(n, seed):
    """Noiseless toy: z a smooth function of two colours, magnitudes ugriz."""
    rng = np.random.default_rng(seed)
    g_r = rng.uniform(0.2, 1.2, n)
    r_i = rng.uniform(0.0, 0.6, n)
    r = rng.uniform(14.0, 17.5, n)
    mags = np.stack([r + g_r + 0.8, r + g_r, r, r - r_i, r - 1.2 * r_i], axis=1)
    z = 0.05 + 0.2 * g_r**2 + 0.1 * np.sin(3 * r_i)
    return mags, z


def test_photometric_features():
    m = np.array([[20.0, 19.0, 18.5]])
    np.testing.assert_allclose(photometric_features(m, "colours"), [[1.0, 0.5]])
    np.testing.assert_allclose(
        photometric_features(m, "mags+colours"), [[20.0, 19.0, 18.5, 1.0, 0.5]]
    )
    with pytest.raises(InputError):
        photometric_features(m, "fluxes")


@pytest.mark.parametrize("method, tol", [("local_linear", 3e-4), ("mean", 3e-3)])
def test_knn_recovers_smooth_function_of_colours(method, tol):
    mags, z = _toy(6000, 0)
    test_mags, test_z = _toy(500, 1)
    zp = knn_photo_z(mags, z, test_mags, k=20, features="colours", method=method)
    assert np.median(np.abs(zp - test_z)) < tol
    np.testing.assert_array_equal(
        zp, knn_photo_z(mags, z, test_mags, k=20, features="colours", method=method)
    )


def test_local_linear_is_exact_for_linear_relation():
    mags, _ = _toy(2000, 2)
    colours = photometric_features(mags, "colours")
    z = 0.1 + colours @ np.array([0.05, 0.1, -0.02, 0.03])
    test_mags, _ = _toy(50, 3)
    z_test = 0.1 + photometric_features(test_mags, "colours") @ np.array([0.05, 0.1, -0.02, 0.03])
    zp = knn_photo_z(mags, z, test_mags, k=30, features="mags+colours", chunk=16)
    np.testing.assert_allclose(zp, z_test, atol=1e-6)


def test_bad_input():
    mags, z = _toy(100, 0)
    bad = mags.copy()
    bad[7, 2] = np.nan
    with pytest.raises(InputError, match="galaxy row 7"):
        knn_photo_z(mags, z, bad)
    with pytest.raises(InputError, match="k="):
        knn_photo_z(mags, z, mags, k=5, features="mags+colours")
    with pytest.raises(InputError):
        knn_photo_z(mags, z, mags[:, :4])


def test_fill_non_detections_uses_the_faintest_detection_of_the_reference():
    from photoz_debias.evaluate.peers import fill_non_detections

    train = np.array([[20.0, 18.0], [22.5, 19.0], [np.nan, 18.5]])
    test = np.array([[np.nan, 17.0], [21.0, np.nan]])
    out = fill_non_detections(test, train)
    np.testing.assert_array_equal(out, [[22.5, 17.0], [21.0, 19.0]])
    np.testing.assert_array_equal(fill_non_detections(train)[2], [22.5, 18.5])


def test_peer_uses_the_bands_the_data_have():
    from photoz_debias.evaluate.peers import peer_magnitude_columns

    cols = ["id", "z_spec", "mag_g", "mag_r", "mag_i", "mag_z", "mag_row"]
    assert peer_magnitude_columns("griz", cols) == ["mag_g", "mag_r", "mag_i", "mag_z"]
    assert peer_magnitude_columns("ugriz", cols) == ["mag_g", "mag_r", "mag_i", "mag_z"]
    assert peer_magnitude_columns(["g", "r", "i", "z", "y"], cols + ["mag_y"])[-1] == "mag_y"
    assert peer_magnitude_columns("gr", ["mag_g"]) == []  # no colour: no peer


@pytest.mark.parametrize("bands", ["griz", "grizy"])
def test_knn_peer_on_a_stamps_file_without_u(tmp_path, bands):
    """A griz (or grizy) catalogue through ingestion to the stamps file: its bands attribute and
    magnitudes reach the peer, which recovers z as it does on ugriz."""
    import pandas as pd

    from photoz_debias.grid import MagnitudeRows
    from photoz_debias.data.ingest import open_source
    from photoz_debias.io import file_bands, read_labels
    from photoz_debias.evaluate.peers import peer_magnitude_columns
    from photoz_debias.data.preprocess import write_preprocessed

    mags, z = _toy(3000, 4)
    ugrizy = np.concatenate([mags, mags[:, 4:] - 0.1], axis=1)
    cat = pd.DataFrame({"zs": z, "ebv": 0.02})
    for j, b in enumerate("ugrizy"):
        if b in bands:
            cat[b] = ugrizy[:, j]
    cat.to_csv(tmp_path / "cat.csv", index=False)
    src = open_source({"layout": "catalogue", "catalogue": str(tmp_path / "cat.csv"),
                       "bands": bands,
                       "columns": {"z_spec": "zs", **{f"mag_{b}": b for b in bands}}})
    out = tmp_path / "stamps.h5"
    write_preprocessed(src, str(out), rows=MagnitudeRows(12.5, 11),
                       split={"test_fraction": 0.2, "seed": 0}, pixel_divisor=1.0,
                       z_range=(0.0, 0.5), r_range=(8.0, 18.0), provenance={"config": {}})
    assert file_bands(str(out)) == list(bands)
    labels = read_labels(out)
    cols = peer_magnitude_columns(file_bands(str(out)), labels.columns)
    assert cols == [f"mag_{b}" for b in bands]
    tr, te = labels[labels["split"] == 0], labels[labels["split"] == 1]
    zp = knn_photo_z(tr[cols].to_numpy(), tr["z_spec"].to_numpy(), te[cols].to_numpy(), k=17)
    assert np.median(np.abs(zp - te["z_spec"].to_numpy())) < 5e-3
