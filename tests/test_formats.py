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
