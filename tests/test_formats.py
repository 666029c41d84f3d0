"""Real survey files as they come (issue #20, section 2): each shape is a small generated file."""

import logging

import numpy as np
import pandas as pd
import pytest

from photoz_debias.data.images import padding_fraction
from photoz_debias.data.ingest import open_source
from photoz_debias.data.tables import read_table
from photoz_debias.errors import InputError

N = 5


def labels_csv(path):
    pd.DataFrame({"id": 100 + np.arange(N), "z_spec": np.linspace(0.05, 0.3, N),
                  "r_mag": np.linspace(14, 17, N), "ebv": 0.01}).to_csv(path, index=False)


@pytest.mark.parametrize("order", ["CNHW", "NHWC", "HWNC", "NCHW"])
def test_generic_cube_in_any_axis_order(tmp_path, order):
    """A band-first (C, N, H, W) cube of 23x23 griz stamps, and other orders, read as NCHW."""
    rng = np.random.default_rng(0)
    nchw = rng.normal(size=(N, 4, 23, 23)).astype(np.float32)
    np.save(tmp_path / "stamps.npy", np.ascontiguousarray(
        np.transpose(nchw, ["NCHW".index(a) for a in order])))
    labels_csv(tmp_path / "cat.csv")
    src = open_source({"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
                       "axis_order": order, "bands": "griz", "pixel_scale_arcsec": 0.262},
                      base_dir=str(tmp_path))
    images = np.concatenate([i for i, _ in src.iter_chunks(2)])
    assert images.shape == (N, 4, 64, 64)
    np.testing.assert_array_equal(images[:, :, 20:43, 20:43], nchw)  # zero-padded, centred


def test_bad_axis_order_and_whole_cube_errors_name_no_galaxy(tmp_path):
    np.save(tmp_path / "stamps.npy", np.zeros((4, N, 23, 23), np.float32))
    labels_csv(tmp_path / "cat.csv")
    cfg = {"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
           "bands": "ugriz", "pixel_scale_arcsec": 0.262}
    with pytest.raises(InputError, match="axis_order 'NCHX'"):
        open_source({**cfg, "axis_order": "NCHX"}, base_dir=str(tmp_path))
    with pytest.raises(InputError) as err:
        open_source({**cfg, "axis_order": "CNHW"}, base_dir=str(tmp_path))
    assert "4 bands" in str(err.value) and "galaxy row" not in str(err.value)


def test_small_stamps_log_the_padding_fraction(tmp_path, caplog):
    np.save(tmp_path / "stamps.npy", np.zeros((N, 4, 23, 23), np.float32))
    labels_csv(tmp_path / "cat.csv")
    with caplog.at_level(logging.INFO, logger="photoz_debias.data.ingest"):
        open_source({"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
                     "bands": "griz", "pixel_scale_arcsec": 0.262}, base_dir=str(tmp_path))
    assert padding_fraction(23) == pytest.approx(1 - (23 / 64) ** 2)
    assert "23x23" in caplog.text and "87% of each network input is padding" in caplog.text


@pytest.mark.parametrize("sep", [",", " "])
def test_csv_and_text_with_a_comment_header(tmp_path, sep):
    ext = "csv" if sep == "," else "dat"
    body = "\n".join(sep.join(r) for r in [["1", "0.1", "17.0"], ["2", "0.2", "16.5"]])
    f = tmp_path / f"t.{ext}"
    f.write_text(f"# Legacy Survey DR10 sample\n# id{sep}z{sep}r\n{body}\n# trailing note\n")
    df = read_table(str(f))
    assert list(df.columns) == ["id", "z", "r"] and df["z"].tolist() == [0.1, 0.2]


@pytest.mark.parametrize("ext", ["csv", "dat"])
def test_headerless_table_needs_text_columns(tmp_path, ext):
    sep = "," if ext == "csv" else " "
    f = tmp_path / f"t.{ext}"
    f.write_text(f"1{sep}0.1{sep}17.0\n2{sep}0.2{sep}16.5\n")
    with pytest.raises(InputError, match="holds only numbers"):
        read_table(str(f))
    df = read_table(str(f), text_columns=["id", "z", "r"])
    assert list(df.columns) == ["id", "z", "r"] and df["id"].tolist() == [1, 2]
    with pytest.raises(InputError, match="text_columns names 2 columns but the rows have 3"):
        read_table(str(f), text_columns=["id", "z"])


def test_text_columns_refused_for_parquet(tmp_path):
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputError, match="text_columns given for a parquet table"):
        read_table(str(tmp_path / "t.parquet"), text_columns=["a"])


# ----------------------------------------------------------------------------- string ids


def _string_id_survey(tmp_path, ids):
    n = len(ids)
    rng = np.random.default_rng(1)
    np.save(tmp_path / "stamps.npy", rng.normal(size=(4, n, 23, 23)).astype(np.float32))
    pd.DataFrame({"objid": ids, "z_spec": np.linspace(0.02, 0.28, n),
                  "r_mag": np.linspace(14.6, 17.6, n), "ebv": 0.01}).to_csv(
        tmp_path / "cat.csv", index=False)
    return {"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
            "axis_order": "CNHW", "bands": "griz", "pixel_scale_arcsec": 0.262,
            "columns": {"id": "objid"}}


def test_string_ids_are_kept_as_strings_through_the_stamps_file(tmp_path):
    """Legacy Survey-like text ids survive ingestion, the stamps file, a subset copy and
    the id lookups the later steps make."""
    from photoz_debias.data.preprocess import write_preprocessed
    from photoz_debias.debias.steps import rows_of_ids
    from photoz_debias.grid import MagnitudeRows
    from photoz_debias.io import copy_stamps_subset, load_training_arrays, read_labels, write_h5

    ids = [f"DR10_{3000 + i}_{i * 7:04d}" for i in range(12)]
    src = open_source(_string_id_survey(tmp_path, ids), base_dir=str(tmp_path))
    assert src.table["id"].tolist() == ids
    out = tmp_path / "stamps.h5"
    write_preprocessed(src, str(out), rows=MagnitudeRows(14.5, 7), split={"n_test": 4, "seed": 0},
                       pixel_divisor=1.0, z_range=(0.0, 0.3), r_range=(14.5, 18.0),
                       provenance={"config": {}})
    labels = read_labels(out)
    assert sorted(labels["id"]) == sorted(ids) and all(isinstance(v, str) for v in labels["id"])
    test = load_training_arrays(out, "test")
    assert set(test["id"]) <= set(ids) and len(test["id"]) == 4
    # the lookups Steps 2-4 make, on text
    pos = rows_of_ids(labels["id"].to_numpy(), test["id"])
    assert labels["id"].to_numpy()[pos].tolist() == list(test["id"])
    with pytest.raises(InputError, match="id DR10_9_9"):
        rows_of_ids(labels["id"].to_numpy(), np.array(["DR10_9_9"], dtype=object))
    keep = labels["split"].to_numpy() == 1
    copy_stamps_subset(out, tmp_path / "sub.h5", keep, note="test galaxies")
    assert read_labels(tmp_path / "sub.h5")["id"].tolist() == labels["id"][keep].tolist()
    write_h5(tmp_path / "p.h5", {"id": test["id"], "p": np.zeros((4, 3))})
    from photoz_debias.io import read_ids
    import h5py

    with h5py.File(tmp_path / "p.h5") as f:
        assert read_ids(f["id"]).tolist() == list(test["id"])


def test_duplicate_and_empty_string_ids_are_refused_naming_them(tmp_path):
    cfg = _string_id_survey(tmp_path, ["a1", "b2", "a1", "c3"])
    with pytest.raises(InputError, match="duplicate id a1"):
        open_source(cfg, base_dir=str(tmp_path))
    cfg = _string_id_survey(tmp_path, ["a1", "b2", " ", "c3"])
    with pytest.raises(InputError, match="empty id"):
        open_source(cfg, base_dir=str(tmp_path))


def test_integer_ids_stay_integers(tmp_path):
    src = open_source(_string_id_survey(tmp_path, [5, 6, 7]), base_dir=str(tmp_path))
    assert src.table["id"].dtype == np.int64


# ----------------------------------------------------------------------------- flux columns


def _flux_catalogue(tmp_path, flux_g, **cols):
    n = len(flux_g)
    pd.DataFrame({"id": np.arange(n), "z": np.linspace(0.05, 0.25, n),
                  "FLUX_G": flux_g, "FLUX_R": np.full(n, 10 ** (-0.4 * (17.0 - 22.5))),
                  "FLUX_I": np.full(n, 1.0e-3), "ebv": 0.0}).to_csv(tmp_path / "cat.csv",
                                                                     index=False)
    columns = {"z_spec": "z", "mag_g": {"flux": "FLUX_G", "unit": "nanomaggy"},
               "mag_r": {"flux": "FLUX_R", "zero_point": 22.5},
               "mag_i": {"flux": "FLUX_I", "unit": "Jy"}, **cols}
    return {"layout": "catalogue", "catalogue": "cat.csv", "bands": "gri", "columns": columns}


def test_magnitudes_from_flux_columns_with_a_unit_or_zero_point(tmp_path):
    from photoz_debias.data.tables import flux_magnitude

    np.testing.assert_allclose(flux_magnitude([1.0, 100.0], 22.5), [22.5, 17.5])
    assert np.isnan(flux_magnitude([0.0, -1.0, np.nan], 22.5)).all()
    cfg = _flux_catalogue(tmp_path, [100.0, 10.0, 1.0])
    src = open_source(cfg, base_dir=str(tmp_path))
    np.testing.assert_allclose(src.table["mag_g"], [17.5, 20.0, 22.5], atol=1e-5)
    np.testing.assert_allclose(src.table["mag_r"], 17.0, atol=1e-5)
    np.testing.assert_allclose(src.table["r_mag"], 17.0, atol=1e-5)  # r from the r flux
    np.testing.assert_allclose(src.table["mag_i"], 8.9 + 7.5, atol=2e-3)  # 1 mJy in AB


def test_non_positive_fluxes_follow_the_non_detection_policy(tmp_path):
    cfg = _flux_catalogue(tmp_path, [100.0, -0.3, 0.0, 10.0])
    with pytest.raises(InputError) as err:
        open_source(cfg, base_dir=str(tmp_path))
    msg = str(err.value)
    assert "flux column FLUX_G: not positive" in msg and "2 galaxies" in msg and "row 1" in msg
    src = open_source({**cfg, "non_detection": "drop"}, base_dir=str(tmp_path))
    assert src.table["id"].tolist() == [0, 3]
    src = open_source({**cfg, "non_detection": "flag"}, base_dir=str(tmp_path))
    assert np.isnan(src.table["mag_g"].to_numpy()[1:3]).all() and len(src.table) == 4


@pytest.mark.parametrize("spec, expected", [
    ({"flux": "FLUX_G", "unit": "nanomaggies"}, "unit 'nanomaggies'"),
    ({"flux": "FLUX_G"}, "exactly one of 'unit' or 'zero_point'"),
    ({"flux": "FLUX_G", "unit": "Jy", "zero_point": 8.9}, "exactly one of"),
    ({"flux": "FLUX_G", "zero_point": "22.5"}, "zero_point '22.5'"),
])
def test_a_bad_flux_mapping_is_refused_at_ingestion_and_by_the_config_check(tmp_path, spec,
                                                                            expected):
    from photoz_debias.config_checks import _column_problems

    cfg = _flux_catalogue(tmp_path, [100.0, 10.0], mag_g=spec)
    with pytest.raises(InputError, match="bad flux mapping"):
        open_source(cfg, base_dir=str(tmp_path))
    problems = _column_problems(cfg["columns"], "gri", "datasets.legacy.source.columns")
    assert [p[0] for p in problems] == ["datasets.legacy.source.columns.mag_g"]
    assert expected in problems[0][2]


def test_a_legacy_survey_like_input_goes_in_as_it_comes(tmp_path):
    """All of section 2 at once, as a user brings Legacy Survey DR10 files: a band-first
    (C, N, H, W) cube of 23x23 griz stamps at 0.262"/px, and a CSV whose header is a '#'
    comment line, with text ids and dereddened fluxes in nanomaggies (one not detected)."""
    from photoz_debias.data.preprocess import write_preprocessed
    from photoz_debias.grid import MagnitudeRows
    from photoz_debias.io import read_labels

    n = 6
    rng = np.random.default_rng(3)
    np.save(tmp_path / "stamps.npy", rng.normal(size=(4, n, 23, 23)).astype(np.float32))
    mag = np.linspace(15.0, 17.5, n)
    flux = {b: 10 ** (-0.4 * (mag + dm - 22.5)) for b, dm in zip("griz", (0.8, 0.0, -0.4, -0.6))}
    flux["g"][2] = -0.05  # a non-detection, as the Legacy Surveys write it
    rows = [f"{f'DR10_{i:04d}_{7 * i}'},{0.05 + 0.03 * i},0.02,"
            + ",".join(f"{flux[b][i]:.6f}" for b in "griz") for i in range(n)]
    (tmp_path / "cat.csv").write_text("# Legacy Survey DR10 sample, dereddened fluxes\n"
                                      "# OBJID,Z_SPEC,EBV,FLUX_G,FLUX_R,FLUX_I,FLUX_Z\n"
                                      + "\n".join(rows) + "\n")
    cfg = {"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
           "axis_order": "CNHW", "bands": "griz", "pixel_scale_arcsec": 0.262,
           "non_detection": "flag",
           "columns": {"id": "OBJID", "z_spec": "Z_SPEC", "ebv": "EBV",
                       **{f"mag_{b}": {"flux": f"FLUX_{b.upper()}", "unit": "nanomaggy"}
                          for b in "griz"}}}
    src = open_source(cfg, base_dir=str(tmp_path))
    out = tmp_path / "stamps.h5"
    write_preprocessed(src, str(out), rows=MagnitudeRows(14.5, 7), split={"n_test": 2, "seed": 0},
                       pixel_divisor=1.0, z_range=(0.0, 0.4), r_range=(14.5, 18.0),
                       provenance={"config": {}})
    labels = read_labels(out)
    assert labels["id"].tolist() == [f"DR10_{i:04d}_{7 * i}" for i in range(n)]
    np.testing.assert_allclose(labels["r_mag"], mag, atol=1e-4)
    assert np.isnan(labels["mag_g"][2]) and np.isfinite(labels["mag_g"].drop(index=2)).all()
    import h5py

    with h5py.File(out) as f:
        assert f["images"].shape == (n, 4, 64, 64) and f.attrs["bands"] == "griz"
        assert f.attrs["pixel_scale_arcsec"] == pytest.approx(0.262)
