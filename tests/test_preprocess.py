"""Eq. 1, the stamps HDF5 contract, the seeded split, magnitude rows and provenance."""

import json

import h5py
import numpy as np
import pandas as pd
import pytest

from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import draw_split, rescale_intensity, write_preprocessed

SDSS_ROWS = MagnitudeRows(r_min=12.5, n_rows=11)
R_MAGS = np.array([12.0, 12.6, 13.3, 14.1, 14.7, 15.2, 16.1, 16.8, 17.4, 18.0])


def test_eq1_hand_values_and_continuity():
    np.testing.assert_allclose(rescale_intensity(np.array([3.0, -3.0, 0.0, 8.0, -8.0])),
                               [1.0, -1.0, 0.0, 2.0, -2.0])
    eps = np.array([1e-12, -1e-12])
    assert np.all(np.abs(rescale_intensity(eps)) < 1e-12)  # continuous at 0


def test_eq1_equals_the_papers_two_branches():
    x = np.random.default_rng(0).normal(scale=50, size=1000)
    with np.errstate(invalid="ignore"):  # np.where evaluates both branches everywhere
        paper = np.where(x >= 0, np.sqrt(x + 1) - 1, -np.sqrt(-x + 1) + 1)
    np.testing.assert_allclose(rescale_intensity(x), paper, rtol=1e-12, atol=1e-12)


def test_eq1_float32_keeps_small_pixels_accurate():
    x = np.array([1e-4, -3e-5, 2e-6], np.float32)
    exact = x.astype(np.float64) / (1 + np.sqrt(1 + np.abs(x.astype(np.float64))))
    got = rescale_intensity(x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, exact, rtol=1e-6)  # sqrt(1+x)-1 in float32 is off by ~1e-3


def write_cube_source(tmp_path, n=10, seed=0, fields=None, quality=None):
    rng = np.random.default_rng(seed)
    cube = (rng.normal(size=(n, 5, 64, 64)) * 2000).astype(np.float32)
    np.save(tmp_path / "stamps.npy", cube)
    cat = pd.DataFrame({"id": 100 + np.arange(n), "z_spec": rng.uniform(0, 0.4, n),
                        "r_mag": R_MAGS[:n], "ebv": 0.05,
                        "field": fields if fields is not None else ["DEEP"] * n,
                        "quality": quality if quality is not None else ["HQ"] * n})
    for b in "ugriz":
        cat[f"mag_{b}"] = 17.0
    cat.to_parquet(tmp_path / "cat.parquet")
    cfg = {"layout": "generic", "images": "stamps.npy", "catalogue": "cat.parquet",
           "pixel_scale_arcsec": 0.187}
    return open_source(cfg, base_dir=str(tmp_path)), cube, cat


def write(src, path, **kw):
    args = dict(rows=SDSS_ROWS, split={"test_fraction": 0.3, "seed": 1}, pixel_divisor=1000.0,
                z_range=(0, 0.4), r_range=(8, 30), provenance={"config": {"k": 1}})
    args.update(kw)
    return write_preprocessed(src, str(path), **args)


def test_stamps_h5_contract(tmp_path):
    src, cube, cat = write_cube_source(tmp_path)
    info = write(src, tmp_path / "stamps.h5", chunk_size=4,
                 provenance={"source": "unit test", "config": {"a": [1, 2]}})
    assert info == {"n": 10, "n_train": 7, "n_test": 3, "n_channels": 5}
    assert not (tmp_path / "stamps.h5.tmp").exists()
    with h5py.File(tmp_path / "stamps.h5") as h:
        img = h["images"]
        assert img.shape == (10, 5, 64, 64) and img.dtype == np.float32
        assert img.chunks == (1, 5, 64, 64)
        # CFHTLS: divide by 1000, then Eq. 1 (3000 -> 3 -> 1).
        np.testing.assert_allclose(img[:], rescale_intensity(cube.astype(np.float64) / 1000),
                                   rtol=2e-6, atol=1e-7)
        assert h["id"].dtype == np.int64 and h["z_spec"].dtype == np.float64
        assert h["r_mag"].dtype == np.float32 and h["ebv"].dtype == np.float32
        assert h["split"].dtype == np.uint8 and h["mag_row"].dtype == np.int16
        np.testing.assert_array_equal(h["id"][:], cat["id"])
        np.testing.assert_array_equal(h["z_spec"][:], cat["z_spec"])
        assert h["field"][0] == b"DEEP" and h["quality"][0] == b"HQ"
        np.testing.assert_array_equal(h["mag_u"][:], 17.0)
        # floor((r - 12.5) / 0.5) clipped into [0, 10]: 12.0 -> 0 (below the grid), 18.0 -> 10.
        np.testing.assert_array_equal(h["mag_row"][:], [0, 0, 1, 3, 4, 5, 7, 8, 9, 10])
        a = h.attrs
        assert a["bands"] == "ugriz" and a["pixel_scale_arcsec"] == 0.187
        assert a["pixel_divisor"] == 1000.0 and "Eq. 1" in a["rescaling"]
        assert a["source"] == "unit test" and len(a["config_hash"]) == 16
        assert a["r_min"] == 12.5 and a["n_rows"] == 11 and a["row_width"] == 0.5
        versions = json.loads(a["versions"])
        assert {"numpy", "h5py", "torch", "photoz_debias"} <= set(versions)
        first_hash = a["config_hash"]
    write(src, tmp_path / "again.h5", provenance={"config": {"a": [1, 2]}})
    with h5py.File(tmp_path / "again.h5") as h:
        assert h.attrs["config_hash"] == first_hash


def test_chunked_equals_one_chunk(tmp_path):
    src, _, _ = write_cube_source(tmp_path, n=7)
    out = []
    for chunk in (1, 3, 7):
        write(src, tmp_path / f"c{chunk}.h5", chunk_size=chunk)
        with h5py.File(tmp_path / f"c{chunk}.h5") as h:
            out.append((h["images"][:], h["split"][:], h["mag_row"][:]))
    for images, split, rows in out[1:]:
        np.testing.assert_array_equal(images, out[0][0])
        np.testing.assert_array_equal(split, out[0][1])
        np.testing.assert_array_equal(rows, out[0][2])


def test_split_seeded_fraction_and_n_test():
    t = pd.DataFrame({"field": ["SDSS"] * 1000, "quality": ["HQ"] * 1000})
    a = draw_split(t, {"test_fraction": 0.2, "seed": 1})
    assert a.sum() == 200 and a.dtype == np.uint8
    np.testing.assert_array_equal(a, draw_split(t, {"test_fraction": 0.2, "seed": 1}))
    assert (a != draw_split(t, {"test_fraction": 0.2, "seed": 2})).any()
    assert draw_split(t, {"n_test": 37, "seed": 0}).sum() == 37


def test_split_per_field_and_test_quality():
    rng = np.random.default_rng(0)
    field = np.array(["DEEP"] * 300 + ["WIDE"] * 700)
    quality = np.where(rng.random(1000) < 0.5, "HQ", "LR")
    t = pd.DataFrame({"field": field, "quality": quality})
    s = draw_split(t, {"n_test": 50, "seed": 3, "per_field": True, "test_quality": ["HQ"]})
    assert s[field == "DEEP"].sum() == 50 and s[field == "WIDE"].sum() == 50
    assert set(quality[s == 1]) == {"HQ"}
    s2 = draw_split(t, {"n_test": {"DEEP": 10, "WIDE": 20}, "seed": 3, "per_field": True})
    assert s2[field == "DEEP"].sum() == 10 and s2[field == "WIDE"].sum() == 20
    f = draw_split(t, {"test_fraction": 0.1, "seed": 3, "per_field": True, "test_quality": ["HQ"]})
    assert f[field == "DEEP"].sum() == 30 and f[field == "WIDE"].sum() == 70
    assert set(quality[f == 1]) == {"HQ"}


def test_per_galaxy_split_is_kept(tmp_path):
    (tmp_path / "st").mkdir()
    for i in range(4):
        np.save(tmp_path / "st" / f"{i}.npy", np.full((64, 64, 5), i, np.float32))
    pd.DataFrame({"id": range(4), "z_spec": [0.1] * 4, "r_mag": [16.0] * 4,
                  "ebv": [0.0] * 4}).to_csv(tmp_path / "t.csv", index=False)
    np.save(tmp_path / "tr.npy", [1, 2])
    np.save(tmp_path / "te.npy", [0, 3])
    src = open_source({"layout": "per_galaxy", "stamp_dir": "st", "table": "t.csv",
                       "train_index": "tr.npy", "test_index": "te.npy",
                       "pixel_scale_arcsec": 0.396}, base_dir=str(tmp_path))
    write(src, tmp_path / "o.h5", pixel_divisor=1.0)
    with h5py.File(tmp_path / "o.h5") as h:
        np.testing.assert_array_equal(h["split"][:], [1, 0, 0, 1])
        np.testing.assert_allclose(h["images"][:, 0, 0, 0], [0, np.sqrt(2) - 1, np.sqrt(3) - 1, 1],
                                   rtol=1e-6)


def test_catalogue_mode_features(tmp_path):
    cat = pd.DataFrame({"zs": [0.1, 0.2, 0.3], "u": [20.0, 19.0, 21.0], "g": [19.0, 18.0, 19.5],
                        "r": [18.0, 17.5, 17.0], "i": [17.5, 17.0, 16.5], "z": [17.0, 16.8, 16.0],
                        "e": [0.01, 0.02, 0.03]})
    cat.to_csv(tmp_path / "c.csv", index=False)
    cols = {"z_spec": "zs", "ebv": {"constant": 0.0}} | {f"mag_{b}": b for b in "ugriz"}
    src = open_source({"layout": "catalogue", "catalogue": str(tmp_path / "c.csv"),
                       "columns": cols})
    info = write(src, tmp_path / "cat.h5", pixel_divisor=1.0, split={"n_test": 1, "seed": 0})
    assert info["n_features"] == 9
    with h5py.File(tmp_path / "cat.h5") as h:
        assert "images" not in h
        f = h["features"][:]
        assert f.shape == (3, 9) and f.dtype == np.float32
        names = json.loads(h.attrs["feature_names"])
        assert names[5:] == ["u-g", "g-r", "r-i", "i-z"]
        np.testing.assert_allclose(f[0], [20, 19, 18, 17.5, 17, 1, 1, 0.5, 0.5])
        np.testing.assert_array_equal(h["r_mag"][:], [18.0, 17.5, 17.0])
        np.testing.assert_array_equal(h["mag_row"][:], [10, 10, 9])
        assert h["split"][:].sum() == 1 and h.attrs["mode"] == "catalogue"


def test_split_asking_too_many_hq_is_an_error():
    from photoz_debias.errors import InputError

    t = pd.DataFrame({"field": ["WIDE"] * 10, "quality": ["HQ"] * 3 + ["LR"] * 7})
    with pytest.raises(InputError, match="4 test galaxies asked in field WIDE but only 3"):
        draw_split(t, {"n_test": 4, "seed": 0, "per_field": True, "test_quality": ["HQ"]})


def test_example_stamps_figure(tmp_path):
    from photoz_debias.figures.example_stamps import pick_galaxies, plot_example_stamps

    # One galaxy from each of 4 equal-count z slices: indices 0-1, 2-3, 4-5, 6-7 of the order.
    z = np.array([0.30, 0.10, 0.05, 0.20, 0.35, 0.01, 0.15, 0.25])
    picked = pick_galaxies(z, 4, seed=0)
    slices = [{5, 2}, {1, 6}, {3, 7}, {0, 4}]
    assert all(int(i) in s for i, s in zip(picked, slices))
    src, _, _ = write_cube_source(tmp_path, n=6)
    write(src, tmp_path / "s.h5")
    out = plot_example_stamps(tmp_path / "s.h5", tmp_path / "ex.png", n=6,
                              style={"formats": ["png"], "dpi": 60})
    assert out == [str(tmp_path / "ex.png")] and (tmp_path / "ex.png").stat().st_size > 1000
