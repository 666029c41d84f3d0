"""Each raw layout round-trips a tiny file it writes: values equal after ingest."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from photoz_debias.errors import InputError
from photoz_debias.data.ingest import catalogue_features, open_source
from photoz_debias.data.tables import read_table

MGS = str(Path(__file__).resolve().parents[1] / "resources" / "mlz_sdss_mgs" / "SDSS_MGS.train")
MGS_COLUMNS = ["zs", "u", "g", "r", "i", "z", "u-g", "g-r", "r-i", "i-z",
               "eu", "eg", "er", "ei", "ez", "eu-g", "eg-r", "er-i", "ei-z"]


def sdss_labels(n, rng):
    dt = [("id", "i8"), ("z", "f8"), ("EBV", "f4")]
    dt += [(f"dered_petro_{b}", "f4") for b in "ugriz"] + [("z_true", "f8"), ("photoz", "f4")]
    lab = np.zeros(n, dtype=dt)
    lab["id"] = 1000 + np.arange(n)
    lab["z"] = rng.uniform(0.01, 0.39, n)
    lab["EBV"] = rng.uniform(0, 0.1, n)
    for b in "ugriz":
        lab[f"dered_petro_{b}"] = rng.uniform(13, 17.7, n)
    lab["z_true"] = lab["z"] + 1e-4
    lab["photoz"] = lab["z"] + 0.01
    return lab


def all_chunks(src, chunk_size):
    parts = list(src.iter_chunks(chunk_size))
    if src.mode == "catalogue":
        return None, pd.concat([t for _, t in parts])
    return np.concatenate([i for i, _ in parts]), pd.concat([t for _, t in parts])


@pytest.mark.parametrize("saver", [np.savez, np.savez_compressed])
def test_npz_round_trip(tmp_path, saver):
    rng = np.random.default_rng(0)
    cube = rng.normal(size=(9, 64, 64, 5)).astype(np.float32)
    lab = sdss_labels(9, rng)
    saver(tmp_path / "sdss.npz", cube=cube, labels=lab)
    src = open_source({"layout": "npz", "path": "sdss.npz"}, base_dir=str(tmp_path))
    assert src.n == 9 and src.bands == tuple("ugriz") and src.pixel_scale == 0.396
    for chunk in (1, 4, 9):
        images, table = all_chunks(src, chunk)
        np.testing.assert_array_equal(images, np.moveaxis(cube, -1, 1))
    np.testing.assert_array_equal(table["id"], lab["id"])
    np.testing.assert_array_equal(table["z_spec"], lab["z"])
    np.testing.assert_array_equal(table["r_mag"], lab["dered_petro_r"])
    np.testing.assert_array_equal(table["ebv"], lab["EBV"])
    np.testing.assert_array_equal(table["mag_u"], lab["dered_petro_u"])
    np.testing.assert_array_equal(table["photoz_survey"], lab["photoz"])
    np.testing.assert_array_equal(table["z_true"], lab["z_true"])
    assert set(table["field"]) == {"SDSS"} and set(table["quality"]) == {"HQ"}


def test_npz_without_id_uses_row_index(tmp_path):
    rng = np.random.default_rng(1)
    lab = sdss_labels(4, rng)
    lab = lab[["z", "EBV", "dered_petro_r"]]
    np.savez(tmp_path / "s.npz", cube=np.zeros((4, 64, 64, 5), np.float32),
             labels=np.array(lab.tolist(), dtype=lab.dtype))
    src = open_source({"layout": "npz", "path": str(tmp_path / "s.npz")})
    np.testing.assert_array_equal(src.table["id"], [0, 1, 2, 3])
    assert "mag_u" not in src.table and "z_true" not in src.table


@pytest.mark.parametrize("axis", ["HWC", "CHW"])
def test_per_galaxy_round_trip_and_split(tmp_path, axis):
    rng = np.random.default_rng(2)
    n = 6
    ids = np.array([7, 3, 11, 5, 2, 9])
    stamps = rng.normal(size=(n, 5, 64, 64)).astype(np.float32)
    (tmp_path / "st").mkdir()
    for i, s in zip(ids, stamps):
        np.save(tmp_path / "st" / f"gal_{i}.npy", s if axis == "CHW" else np.moveaxis(s, 0, -1))
    pd.DataFrame({"objid": ids, "zspec": rng.uniform(0, 0.3, n), "r": rng.uniform(14, 17, n),
                  "ebv": 0.02}).to_csv(tmp_path / "labels.csv", index=False)
    np.save(tmp_path / "train.npy", np.array([0, 2, 3]))
    np.save(tmp_path / "test.npy", np.array([5, 1]))  # row 4 in neither: left out
    cfg = {"layout": "per_galaxy", "stamp_dir": "st", "stamp_pattern": "gal_{id}.npy",
           "axis_order": axis, "table": "labels.csv", "train_index": "train.npy",
           "test_index": "test.npy", "columns": {"id": "objid", "z_spec": "zspec", "r_mag": "r"},
           "pixel_scale_arcsec": 0.187}
    src = open_source(cfg, base_dir=str(tmp_path))
    assert src.n == 5
    np.testing.assert_array_equal(src.table["id"], ids[[0, 1, 2, 3, 5]])
    np.testing.assert_array_equal(src.split, [0, 1, 0, 0, 1])
    images, _ = all_chunks(src, 2)
    np.testing.assert_array_equal(images, stamps[[0, 1, 2, 3, 5]])


def test_generic_npy_parquet_round_trip(tmp_path):
    rng = np.random.default_rng(3)
    n = 7
    cube = rng.normal(size=(n, 5, 64, 64)).astype(np.float32) * 1000
    np.save(tmp_path / "stamps.npy", cube)
    cat = pd.DataFrame({"id": np.arange(n) * 10, "z_spec": rng.uniform(0, 3, n),
                        "r_mag": rng.uniform(18, 25, n), "ebv": 0.01,
                        "field": ["DEEP", "WIDE"] * 3 + ["DEEP"], "quality": ["HQ", "LR"] * 3
                        + ["hq"], "z_true": rng.uniform(0, 3, n)})
    for b in "ugriz":
        cat[f"mag_{b}"] = rng.uniform(18, 26, n)
    cat.to_parquet(tmp_path / "catalogue.parquet")
    src = open_source({"layout": "synthetic", "survey": "cfhtls_like"}, base_dir=str(tmp_path))
    images, table = all_chunks(src, 3)
    np.testing.assert_array_equal(images, cube)
    assert src.pixel_scale == 0.187
    assert list(table["field"]) == list(cat["field"])
    assert list(table["quality"])[-1] == "HQ"  # flags are normalised to upper case
    np.testing.assert_array_equal(table["mag_z"], cat["mag_z"].astype(np.float32))


@pytest.mark.parametrize("size", [70, 61])
def test_generic_fits_nhwc_crop_pad(tmp_path, size):
    rng = np.random.default_rng(4)
    n = 3
    cube = rng.normal(size=(n, size, size, 3)).astype(np.float32)
    fits.PrimaryHDU(cube).writeto(tmp_path / "cube.fits")
    Table({"ID": np.arange(n) + 1, "Z": [0.1, 0.2, 0.3], "RMAG": [17.0, 18.0, 19.0],
           "FIELD": ["WIDE"] * 3}).write(tmp_path / "cat.fits")
    cfg = {"layout": "generic", "images": "cube.fits", "catalogue": "cat.fits",
           "axis_order": "NHWC", "bands": ["g", "r", "i"], "pixel_scale_arcsec": 0.2,
           "columns": {"id": "ID", "z_spec": "Z", "r_mag": "RMAG", "field": "FIELD",
                       "ebv": {"constant": 0.0}}}
    src = open_source(cfg, base_dir=str(tmp_path))
    images, table = all_chunks(src, 2)
    assert images.shape == (n, 3, 64, 64)
    nchw = np.moveaxis(cube, -1, 1)
    if size == 70:  # centre crop: pixels 3..66
        np.testing.assert_array_equal(images, nchw[:, :, 3:67, 3:67])
    else:  # zero pad: the 61 pixels sit at 1..61
        np.testing.assert_array_equal(images[:, :, 1:62, 1:62], nchw)
        assert not images[:, :, 0].any() and not images[:, :, 62:].any()
    assert list(table["field"]) == ["WIDE"] * 3 and (table["ebv"] == 0).all()
    assert list(table["quality"]) == ["HQ"] * 3


def test_catalogue_features_hand_values():
    t = pd.DataFrame({"mag_u": [20.0], "mag_g": [19.0], "mag_r": [18.5], "mag_i": [18.25],
                      "mag_z": [18.0]})
    f, names = catalogue_features(t, "ugriz")
    assert names == ["mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "u-g", "g-r", "r-i", "i-z"]
    np.testing.assert_allclose(f[0], [20, 19, 18.5, 18.25, 18, 1.0, 0.5, 0.25, 0.25])
    assert f.dtype == np.float32


def test_catalogue_csv_non_detection_drop(tmp_path, caplog):
    cat = pd.DataFrame({"z": [0.1, 0.2, 0.3, 0.05], "u": [20, 99, 21, 19.5], "g": [19, 19, -99, 18],
                        "r": [18, 18, 18, 17], "i": [17.5, 17.5, 17.5, 16.5],
                        "z_mag": [17.2, 17.2, 17.2, 16.0]})
    cat.to_csv(tmp_path / "cat.csv", index=False)
    cols = {"z_spec": "z", "mag_u": "u", "mag_g": "g", "mag_r": "r", "mag_i": "i",
            "mag_z": "z_mag", "ebv": {"constant": 0.0}}
    cfg = {"layout": "catalogue", "catalogue": str(tmp_path / "cat.csv"), "columns": cols}
    with pytest.raises(InputError, match="non-detection mag_u = 99"):
        open_source(cfg)
    with caplog.at_level("INFO"):
        src = open_source({**cfg, "non_detection": "drop"})
    assert "dropped 2 galaxies" in caplog.text
    assert src.mode == "catalogue" and src.n == 2
    np.testing.assert_array_equal(src.table["id"], [0, 3])  # ids = source rows
    np.testing.assert_array_equal(src.table["r_mag"], [18, 17])  # r_mag defaults to mag_r
    _, table = all_chunks(src, 1)
    np.testing.assert_allclose(table["u-g"], [1.0, 1.5])


def test_non_detection_flag_keeps_galaxies_with_nan_magnitudes(tmp_path, caplog):
    cat = pd.DataFrame({"z": [0.1, 0.2], "u": [20.0, 99.0], "g": [19, 19], "r": [18, 18],
                        "i": [17.5, 17.5], "z_mag": [17.2, 17.2]})
    cat.to_csv(tmp_path / "cat.csv", index=False)
    cols = {"z_spec": "z", "mag_u": "u", "mag_g": "g", "mag_r": "r", "mag_i": "i",
            "mag_z": "z_mag", "ebv": {"constant": 0.0}}
    cfg = {"layout": "catalogue", "catalogue": str(tmp_path / "cat.csv"), "columns": cols,
           "non_detection": "flag"}
    with caplog.at_level("INFO"):
        src = open_source(cfg)
    assert src.n == 2 and "non_detection: flag" in caplog.text
    assert src.table["mag_u"].iloc[0] == 20.0 and np.isnan(src.table["mag_u"].iloc[1])
    with pytest.raises(InputError, match="error, drop or flag"):
        open_source({**cfg, "non_detection": "ignore"})


def test_catalogue_real_sdss_mgs_text():
    cols = {"z_spec": "zs", "ebv": {"constant": 0.0}, "field": {"constant": "SDSS"}}
    cols |= {f"mag_{b}": b for b in "ugriz"} | {f"magerr_{b}": f"e{b}" for b in "ugriz"}
    # The file's header names 18 of its 19 columns: without text_columns it is refused.
    with pytest.raises(InputError, match="header names 18 columns but the rows have 19"):
        open_source({"layout": "catalogue", "catalogue": MGS, "columns": cols})
    src = open_source({"layout": "catalogue", "catalogue": MGS, "columns": cols,
                       "text_columns": MGS_COLUMNS})
    raw = np.loadtxt(MGS)
    assert src.n == 5000 == len(raw)
    np.testing.assert_array_equal(src.table["z_spec"], raw[:, 0])
    np.testing.assert_allclose(src.table["g-r"], raw[:, 7], atol=2e-6)  # the file's own colour
    np.testing.assert_array_equal(src.table["magerr_r"], raw[:, 12].astype(np.float32))
    assert src.table["z_spec"].min() == pytest.approx(0.0030, abs=1e-4)  # resources/README.md: 0.0030..0.2763
    assert src.table["z_spec"].max() == pytest.approx(0.2763, abs=1e-4)


def test_read_table_text_with_header(tmp_path):
    (tmp_path / "t.dat").write_text("#a b c\n1 2 3\n4 5 6\n")
    df = read_table(str(tmp_path / "t.dat"))
    assert list(df.columns) == ["a", "b", "c"] and df["c"].tolist() == [3, 6]


@pytest.mark.parametrize("saver", [np.savez, np.savez_compressed])
def test_npz_drop_keeps_stamps_aligned(tmp_path, saver):
    rng = np.random.default_rng(5)
    cube = rng.normal(size=(6, 64, 64, 5)).astype(np.float32)
    lab = sdss_labels(6, rng)
    lab["dered_petro_u"][[1, 4]] = [-9999.0, 99.0]
    saver(tmp_path / "sdss.npz", cube=cube, labels=lab)
    src = open_source({"layout": "npz", "path": str(tmp_path / "sdss.npz"),
                       "non_detection": "drop"})
    for chunk in (1, 2, 6):
        images, table = all_chunks(src, chunk)
        np.testing.assert_array_equal(table["id"], lab["id"][[0, 2, 3, 5]])
        np.testing.assert_array_equal(images, np.moveaxis(cube[[0, 2, 3, 5]], -1, 1))


def test_synthetic_sdss_like_keeps_a_galaxy_not_detected_in_u(tmp_path):
    # the generator writes 99 for a flux below the detection limit (survey seed 21 made one
    # such u magnitude in 20,000 galaxies, which stopped the run before the fix)
    rng = np.random.default_rng(6)
    cube = rng.normal(size=(5, 64, 64, 5)).astype(np.float32)
    lab = sdss_labels(5, rng)
    lab["dered_petro_u"][3] = 99.0
    np.savez(tmp_path / "sdss.npz", cube=cube, labels=lab)
    src = open_source({"layout": "synthetic", "survey": "sdss_like"}, base_dir=str(tmp_path))
    images, table = all_chunks(src, 5)
    assert src.n == 5 and len(images) == 5
    assert np.isnan(table["mag_u"].iloc[3]) and np.isfinite(table["mag_u"].drop(index=table.index[3])).all()
    np.testing.assert_array_equal(table["r_mag"], lab["dered_petro_r"])
