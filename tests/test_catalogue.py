"""Catalogue / metrics Parquet writers and the Appendix E tables."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from photoz_debias.evaluate import catalogue
from photoz_debias.evaluate.catalogue import (
    METHODS,
    catalogue_columns,
    read_column_docs,
    write_catalogue,
    write_metrics,
    write_tables,
)
from photoz_debias.errors import InputError
from photoz_debias.evaluate.table import METRICS_COLUMNS


def _catalogue(n=5):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "id": np.arange(n, dtype=np.int64),
            "z_spec": rng.uniform(0, 0.4, n),
            "r_mag": rng.uniform(14, 18, n).astype(np.float32),
            "ebv": np.full(n, 0.03, np.float32),
            "mag_row": np.arange(n, dtype=np.int16),
            "field": ["SDSS"] * n,
            "quality": ["HQ"] * n,
        }
    )
    for m in METHODS:
        for e in ("zmode", "zmean", "zmedian", "zerr"):
            df[f"{m}_{e}"] = rng.uniform(0, 0.4, n)
    df["step4_zmode"] = df["step3_zmode"] - 0.001
    df["knn_z"] = rng.uniform(0, 0.4, n)
    return df


def test_catalogue_columns_cover_the_contract():
    docs = catalogue_columns()
    for col in [
        "id",
        "z_spec",
        "r_mag",
        "ebv",
        "mag_row",
        "field",
        "quality",
        "step4_zmode",
        "knn_z",
        "survey_photoz",
        "step3_no_step2_zerr",
        "baseline_zmedian",
    ]:
        assert col in docs and docs[col][1]
    assert docs["r_mag"][0] == "mag" and docs["z_spec"][0] == "dimensionless"


def test_catalogue_round_trip_keeps_metadata(tmp_path):
    df = _catalogue()
    path = tmp_path / "sub" / "catalogue.parquet"
    write_catalogue(df, path, catalogue_columns(), metadata={"dataset": "sdss"})
    back = pd.read_parquet(path)
    pd.testing.assert_frame_equal(back, df)
    docs = read_column_docs(path)
    assert docs["r_mag"] == catalogue_columns()["r_mag"]
    assert docs["step4_zmode"][1].startswith("Step 4")
    meta = pq.read_schema(path).metadata
    assert meta[b"dataset"] == b"sdss"
    assert json.loads(meta[b"column_docs"])["ebv"] == ["mag", "Galactic reddening E(B-V)"]
    assert [p.name for p in path.parent.iterdir()] == ["catalogue.parquet"]  # no temporary left


def test_undocumented_column_is_rejected_and_nothing_written(tmp_path):
    df = _catalogue().assign(mystery=1.0)
    with pytest.raises(InputError, match="mystery"):
        write_catalogue(df, tmp_path / "c.parquet", catalogue_columns())
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "c.parquet"
    df = _catalogue()
    write_catalogue(df, path, catalogue_columns())

    def crash(table, where):
        open(where, "wb").write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(catalogue.pq, "write_table", crash)
    with pytest.raises(OSError):
        write_catalogue(df.head(2), path, catalogue_columns())
    assert len(pd.read_parquet(path)) == 5 and [p.name for p in tmp_path.iterdir()] == ["c.parquet"]


def test_write_metrics(tmp_path):
    m = pd.DataFrame(
        [
            ["baseline", "zmode", "sigma_mad", np.nan, np.nan, 0.00975, 0.0001],
            ["baseline", "zmode", "sigma_mad_rmag", 14.0, 14.5, 0.008, np.nan],
        ],
        columns=METRICS_COLUMNS,
    )
    path = tmp_path / "metrics.parquet"
    write_metrics(m, path)
    pd.testing.assert_frame_equal(pd.read_parquet(path), m)
    metric_docs = json.loads(pq.read_schema(path).metadata[b"metric_docs"])
    assert "Eq. 11" in metric_docs["sigma_mad"][1]
    with pytest.raises(InputError, match="undocumented"):
        write_metrics(m.assign(metric="foo"), path)
    with pytest.raises(InputError, match="columns"):
        write_metrics(m.drop(columns="error"), path)


def test_write_tables(tmp_path):
    table = pd.DataFrame(
        {
            "method": ["baseline", "step4"],
            "mean_residual_zmode": [-0.00046, 0.00002],
            "sigma_mad_zmode": [0.00975, 0.00919],
            "outlier_fraction_zmode": [0.0051, 0.0041],
        }
    )
    md, csv = tmp_path / "t.md", tmp_path / "t.csv"
    write_tables(table, md, csv, outlier_threshold=0.05)
    text = md.read_text()
    assert "| Baseline | -0.00046 | 0.00975 | 0.51% |" in text
    assert "η>0.05(z_mode)" in text and "Step 4" in text
    pd.testing.assert_frame_equal(pd.read_csv(csv), table)
