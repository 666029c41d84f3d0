"""Catalogue mode (no images): a train/test pair of photometric catalogues as the split, a
list of catalogues pooled, the bad catalogue inputs, and the whole workflow on the real SDSS
Main Galaxy Sample (``config/mgs-catalogue.yaml``: its two files pooled, the split drawn).

The 99/-99 sentinels (error, drop, flag) and the real MGS text file's broken header are tested
in ``test_ingest.py``; the generic-layout bad inputs in ``test_bad_input.py``.
"""

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import yaml

from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import write_preprocessed

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "mgs-catalogue.yaml"
METHODS = ["baseline", "step1", "step2", "step3", "step3a", "step3b", "step3_no_step2"]
COLS = {"z_spec": "zs", "mag_u": "u", "mag_g": "g", "mag_r": "r", "mag_i": "i", "mag_z": "z",
        "ebv": {"constant": 0.0}, "field": {"constant": "SDSS"}}


def write_cat(path, n, *, z0=0.05, **changes):
    """A small valid MGS-like CSV catalogue (columns as in the MLZ files), then damage."""
    z = np.linspace(z0, z0 + 0.2, n)
    cat = pd.DataFrame({"zs": z, "u": 19.0 + z, "g": 17.5 + z, "r": 16.8 + z, "i": 16.4 + z,
                        "z": 16.1 + z})
    for k, v in changes.items():
        if v is None:
            del cat[k]
        else:
            cat[k] = v
    cat.to_csv(path, index=False)
    return str(path)


def pair(tmp_path, train_changes=None, test_changes=None, **cfg):
    tr = write_cat(tmp_path / "train.csv", 6, **(train_changes or {}))
    te = write_cat(tmp_path / "test.csv", 4, z0=0.1, **(test_changes or {}))
    return {"layout": "catalogue", "catalogue_train": tr, "catalogue_test": te,
            "columns": COLS, **cfg}


# ----------------------------------------------------------------------------- the split


def test_train_and_test_catalogues_fix_the_split(tmp_path):
    src = open_source(pair(tmp_path))
    assert src.mode == "catalogue" and src.n == 10
    np.testing.assert_array_equal(src.split, [0] * 6 + [1] * 4)
    # no id column: ids are rows, the test file's numbered after the train file's
    np.testing.assert_array_equal(src.table["id"], np.arange(10))
    np.testing.assert_allclose(src.table["z_spec"].iloc[6:], np.linspace(0.1, 0.3, 4))
    np.testing.assert_allclose(src.table["g-r"], 0.7, atol=5e-6)  # 17.5 + z - (16.8 + z), float32
    out = tmp_path / "stamps.h5"
    # the files' split wins over a drawn one
    write_preprocessed(src, str(out), rows=MagnitudeRows(14.5, 7), split={"n_test": 1, "seed": 0},
                       pixel_divisor=1.0, z_range=(0.0, 0.4), r_range=(8.0, 18.0),
                       provenance={"config": {}})
    with h5py.File(out) as f:
        np.testing.assert_array_equal(f["split"][:], [0] * 6 + [1] * 4)
        assert f["features"].shape == (10, 9)
        # r = 16.8 + z: rows floor((r - 14.5) / 0.5) = 4 for r < 17.0, else 5
        np.testing.assert_array_equal(f["mag_row"][:], np.where(16.8 + f["z_spec"][:] < 17.0, 4, 5))


def test_drop_applies_per_file_and_keeps_the_split(tmp_path):
    u = [19.0, 19.0, -99.0, 19.0]
    src = open_source(pair(tmp_path, test_changes={"u": u}, non_detection="drop"))
    np.testing.assert_array_equal(src.split, [0] * 6 + [1] * 3)
    np.testing.assert_array_equal(src.table["id"], [0, 1, 2, 3, 4, 5, 6, 7, 9])


# ----------------------------------------------------------------------------- bad input


def test_non_detection_in_the_test_file_names_that_file_and_its_row(tmp_path):
    with pytest.raises(InputError) as err:
        open_source(pair(tmp_path, test_changes={"g": [17.6, 17.6, 17.6, 99.0]}))
    msg = str(err.value)
    assert "test.csv:" in msg and "train.csv" not in msg
    assert "galaxy row 3" in msg and "'g'" in msg and "non-detection mag_g = 99" in msg


def test_nan_magnitude_is_a_non_detection(tmp_path):
    with pytest.raises(InputError) as err:
        open_source(pair(tmp_path, train_changes={"i": [16.5, np.nan, 16.5, 16.5, 16.5, 16.5]}))
    msg = str(err.value)
    assert "train.csv:" in msg and "galaxy row 1" in msg and "'i'" in msg
    assert "non-detection mag_i = nan" in msg


def test_missing_magnitude_column(tmp_path):
    with pytest.raises(InputError) as err:
        open_source(pair(tmp_path, test_changes={"z": None}))
    msg = str(err.value)
    assert "test.csv:" in msg and "missing column 'z' for mag_z" in msg


def test_missing_redshift_column(tmp_path):
    with pytest.raises(InputError, match=r"train\.csv: field 'zs': missing column 'zs'"):
        open_source(pair(tmp_path, train_changes={"zs": None}))


def test_duplicate_ids_across_the_two_files(tmp_path):
    cfg = pair(tmp_path, train_changes={"gid": np.arange(6) + 100},
               test_changes={"gid": [200, 201, 105, 203]})
    cfg["columns"] = {**COLS, "id": "gid"}
    with pytest.raises(InputError) as err:
        open_source(cfg)
    msg = str(err.value)
    assert "train.csv + " in msg and "test.csv" in msg and "duplicate id 105" in msg
    assert "rows 5, 8" in msg  # row 2 of the test file, numbered after the 6 train rows


def test_a_list_of_catalogues_is_pooled_and_the_split_drawn(tmp_path):
    cfg = pair(tmp_path)
    files = [cfg.pop("catalogue_train"), cfg.pop("catalogue_test")]
    src = open_source({**cfg, "catalogue": files})
    assert src.split is None and src.n == 10  # the config draws the split
    np.testing.assert_array_equal(src.table["id"], np.arange(10))  # rows numbered on
    np.testing.assert_allclose(src.table["z_spec"].iloc[6:], np.linspace(0.1, 0.3, 4))
    assert "pooled" in src.description
    out = tmp_path / "stamps.h5"
    write_preprocessed(src, str(out), rows=MagnitudeRows(14.5, 7), split={"n_test": 3, "seed": 0},
                       pixel_divisor=1.0, z_range=(0.0, 0.4), r_range=(8.0, 18.0),
                       provenance={"config": {}})
    with h5py.File(out) as f:
        assert (f["split"][:] == 1).sum() == 3 and len(f["split"]) == 10
    with pytest.raises(InputError, match="empty list"):
        open_source({**cfg, "catalogue": []})
    a = write_cat(tmp_path / "a.csv", 3, id=[1, 2, 3])
    b = write_cat(tmp_path / "b.csv", 3, id=[3, 4, 5])
    with pytest.raises(InputError, match="unique"):  # id 3 in both files
        open_source({**cfg, "catalogue": [a, b], "columns": {**COLS, "id": "id"}})


def test_half_a_pair_or_both_layouts_is_refused(tmp_path):
    cfg = pair(tmp_path)
    with pytest.raises(InputError, match="gives catalogue_train; expected either catalogue"):
        open_source({k: v for k, v in cfg.items() if k != "catalogue_test"})
    with pytest.raises(InputError, match="gives catalogue, catalogue_train, catalogue_test"):
        open_source({**cfg, "catalogue": cfg["catalogue_train"]})


def test_every_galaxy_of_a_file_dropped(tmp_path):
    with pytest.raises(InputError, match=r"test\.csv: field 'catalogue_test': no galaxies left"):
        open_source(pair(tmp_path, test_changes={"u": [99.0] * 4}, non_detection="drop"))


# ----------------------------------------------------------------------------- the workflow


@pytest.mark.slow
def test_mgs_catalogue_workflow_end_to_end(tmp_path):
    files = yaml.safe_load(CONFIG.read_text())["datasets"]["mgs"]["source"]["catalogue"]
    assert len(files) == 2  # the two MLZ files, pooled
    for f in files:
        # shipped in resources/, named relative to the repository: found from another
        # working directory (--directory below)
        assert Path(f).parts[0] == "resources" and (ROOT / f).is_file(), f
    work = tmp_path / "work"
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(work), "--configfile", str(CONFIG), "--replace-workflow-config",
         "--workflow-profile", "none", "--cores", "2"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]

    part = work / "results" / "mgs" / "mlp" / "all"
    cat = pd.read_parquet(part / "catalogue.parquet")
    pooled = np.concatenate([np.loadtxt(ROOT / f) for f in files])
    assert len(pooled) == 10000
    assert len(cat) == 5000 and cat["id"].is_unique
    # a random half of the pooled rows (ids are the pooled row numbers), from both files
    ids = cat["id"].to_numpy()
    assert ids.min() >= 0 and ids.max() < 10000
    assert 2000 < (ids < 5000).sum() < 3000
    np.testing.assert_allclose(cat["z_spec"], pooled[ids, 0])
    for m in METHODS:
        for e in ("zmode", "zmean", "zmedian", "zerr"):
            v = cat[f"{m}_{e}"].to_numpy()
            assert np.isfinite(v).all(), (m, e)
        # zmode is a bin centre of the method's grid: 60 bins of 0.005 (+30/+30 for Step 3)
        lo, hi = (-0.15, 0.45) if m.startswith("step3") else (0.0, 0.3)
        z = cat[f"{m}_zmode"].to_numpy()
        assert (z > lo).all() and (z < hi).all(), m
        np.testing.assert_allclose((z - lo) / 0.005 % 1, 0.5, atol=1e-6)
    assert np.isfinite(cat["step4_zmode"]).all() and np.isfinite(cat["knn_z"]).all()

    metrics = pd.read_parquet(part / "metrics.parquet")
    assert set(METHODS + ["step4"]) <= set(metrics["method"])
    for metric in ("sigma_mad", "outlier_fraction", "mean_residual", "slope_high",
                   "total_variation"):
        sel = metrics[(metrics.metric == metric) & (metrics.estimate == "zmode")
                      & metrics.bin_lo.isna()]
        assert set(METHODS) <= set(sel.method), metric
        assert np.isfinite(sel["value"]).all(), metric
    table = (part / "tables" / "appendix_e.md").read_text()
    for label in ("Baseline", "Step 1", "Step 2", "Step 3", "Step 3a", "Step 3b", "Step 3\\2",
                  "Step 4"):
        assert f"| {label} |" in table, label
    assert (work / "results" / "mgs" / "figures" / "fig06_residuals_mlp_all.png").exists()
    assert not (work / "results" / "mgs" / "figures" / "example_stamps.png").exists()


def test_report_table_formats_the_metrics_it_is_given():
    from photoz_debias.evaluate.report_tables import summary_table

    nan = float("nan")
    rows = [("baseline", "zmode", "sigma_mad", nan, 0.0128, 0.0002),
            ("baseline", "zmode", "outlier_fraction", nan, 0.0134, nan),
            ("baseline", "zmode", "slope_high", nan, -0.0913, 0.0300),
            ("baseline", "zmode", "tv_floor", nan, 0.0685, 0.0031),
            ("baseline", "zmode", "slope_high", 0.1, 99.0, 0.0),  # a binned row: not global
            ("baseline", "zmean", "sigma_mad", nan, 0.5, 0.0),    # another estimate
            ("knn", "z", "sigma_mad", nan, 0.0135, 0.0002)]
    m = pd.DataFrame(rows, columns=["method", "estimate", "metric", "bin_lo", "value", "error"])
    lines = summary_table(m).splitlines()
    assert lines[0].startswith("| method | <Δz> | σ_MAD | η |")
    # <dz> absent -> '–'; eta as a percentage; C with its error
    assert lines[2] == "| Baseline | – | 0.01280 | 1.34% | – | -0.091 ± 0.030 | – | – |"
    assert lines[3].startswith("| kNN peer | – | 0.01350 |")
    assert len(lines) == 6 and lines[5].endswith("0.069 ± 0.003")


def test_steps_2_and_3_take_representations_without_views():
    """Catalogue representations are (N, D): no dihedral views, so no view draw."""
    from photoz_debias.debias.steps import step2, step3
    from photoz_debias.grid import RedshiftGrid
    from photoz_debias.debias.heads import HeadSettings, init_heads, train_heads

    rng = np.random.default_rng(0)
    n, d, m = 40, 6, 2
    grid = RedshiftGrid(0.0, 0.3, 12)
    reps = rng.normal(size=(n, d)).astype(np.float32)
    z = rng.uniform(0.01, 0.29, n)
    mag_row = rng.integers(0, 3, n)
    w1, b1 = init_heads(m, grid.n_bins, d, seed=1)
    s = HeadSettings(iterations=20, batch_size=8, lr=1e-2, seed=3, log_every=10)
    w, b, _ = step2(reps, z, mag_row, grid, w1, b1, s)
    lo, hi = mag_row // 2, (mag_row + 1) // 2
    w_ref, b_ref, _ = train_heads(reps, None, grid.bin_index(z), grid.bin_index(z), lo, hi,
                                  w1, b1, s)
    np.testing.assert_array_equal(w, w_ref)
    np.testing.assert_array_equal(b, b_ref)
    assert not np.array_equal(w, w1)  # it trained

    ids = np.arange(n)
    odd = mag_row == 1
    table = pd.DataFrame({"id": np.r_[ids, ids[odd]], "output": np.r_[lo, hi[odd]],
                          "z0": np.r_[z, z[odd]], "sigma1": 0.01})
    table["z_star"] = table["z0"]
    w3, b3, _, ext = step3(reps, ids, mag_row, table, grid, (2, 2), m, "step3b", s)
    assert w3.shape == (m, grid.n_bins + 4, d) and ext.n_bins == grid.n_bins + 4
    assert np.isfinite(w3).all() and np.isfinite(b3).all()


@pytest.mark.slow
def test_apply_mode_in_catalogue_mode_with_string_ids(tmp_path):
    """The MGS catalogue-mode model trained on a CSV whose ids are text, then applied to a
    photometric catalogue without redshifts (MGS rows, zs dropped), also with text ids: the
    ids stay strings in the model's catalogue and densities and in the applied sample's
    catalogue, Step 4 and n(z). Two seeds to stay short."""
    cfg = yaml.safe_load(CONFIG.read_text())
    cfg["ensemble"]["seeds"] = [0, 1]
    cfg["peers"]["rail"]["activate"] = False  # RAIL's peers are run by the tiny workflow test
    names = cfg["datasets"]["mgs"]["source"]["text_columns"]
    files = cfg["datasets"]["mgs"]["source"]["catalogue"]
    pooled = pd.DataFrame(np.concatenate([np.loadtxt(ROOT / f) for f in files]), columns=names)
    pooled.insert(0, "objid", [f"MGS-{i:05d}" for i in range(len(pooled))])
    pooled.to_csv(tmp_path / "mgs.csv", index=False)
    src = {k: v for k, v in cfg["datasets"]["mgs"]["source"].items() if k != "text_columns"}
    cfg["datasets"]["mgs"]["source"] = {**src, "catalogue": str(tmp_path / "mgs.csv"),
                                        "columns": {**src["columns"], "id": "objid"}}
    rows = np.loadtxt(ROOT / "resources/mlz_sdss_mgs/SDSS_MGS.test")[:3000]
    photometric = pd.DataFrame(rows, columns=names).drop(columns=["zs"])
    photometric.insert(0, "objid", [f"PHOT-{i:05d}" for i in range(len(photometric))])
    photometric.to_csv(tmp_path / "photometric.csv", index=False)
    src["catalogue"] = str(tmp_path / "photometric.csv")
    src["columns"] = {**{k: v for k, v in src["columns"].items() if k != "z_spec"}, "id": "objid"}
    cfg["datasets"]["photometric"] = {
        "apply": {"model": "mgs", "tomography": {"bins": [0.0, 0.08, 0.12, 0.3],
                                                 "nz_width": 0.01, "n_bootstrap": 10}},
        "source": src, "pixel_divisor": 1.0, "valid_range": {"z": [0.0, 0.3], "r": [8.0, 18.0]},
    }
    cfg["run"] = ["mgs", "photometric"]
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False))
    work = tmp_path / "work"
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(work), "--configfile", str(config), "--replace-workflow-config",
         "--workflow-profile", "none", "--cores", "2"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]

    # the model's own test galaxies: text ids, the right redshifts, every method
    model = work / "results" / "mgs" / "mlp" / "all"
    cat = pd.read_parquet(model / "catalogue.parquet")
    assert cat["id"].map(type).eq(str).all() and cat["id"].str.startswith("MGS-").all()
    truth = pooled.set_index("objid")
    np.testing.assert_allclose(cat["z_spec"], truth.loc[cat["id"], "zs"])
    assert np.isfinite(cat["step3_zmode"]).all() and np.isfinite(cat["step4_zmode"]).all()
    with h5py.File(model / "densities.h5") as f:
        assert sorted(f["id"].asstr()[:]) == sorted(cat["id"])

    part = work / "results" / "photometric" / "mlp" / "all"
    cat = pd.read_parquet(part / "catalogue.parquet")
    assert len(cat) == 3000 and "z_spec" not in cat
    assert cat["id"].tolist() == photometric["objid"].tolist()
    for c in ("baseline_zmode", "step3_zmode", "step3_zmean", "step3_zerr"):
        assert np.isfinite(cat[c]).all(), c
    # Step 4 calibrates the galaxies inside the model's rows (r 14.5-18.0) that have
    # training galaxies in their (z_photo cell, row)
    inside = (cat["r_mag"] >= 14.5) & (cat["r_mag"] < 18.0)
    assert not cat.loc[~inside, "step4_calibrated"].any()
    assert cat.loc[inside, "step4_calibrated"].mean() > 0.9
    log = (work / "logs/photometric/mlp/all/apply_step4.log").read_text()
    assert f"{(~cat['step4_calibrated']).sum()} of 3000 applied galaxies" in log
    bins = pd.read_parquet(part / "nz_bins.parquet")
    assert np.isfinite(bins["mean_z"]).all() and (bins["n_galaxies"] > 0).all()
    # the true redshifts of these rows (never given to the workflow): the tomographic means
    # come out within 0.01 of them
    z4 = cat["step4_zmode"].to_numpy()
    zs = rows[:, 0][cat["id"].str.removeprefix("PHOT-").astype(int).to_numpy()]
    for b in bins.itertuples():
        sel = (z4 >= b.zphoto_lo) & (z4 < b.zphoto_hi)
        assert abs(b.mean_z - zs[sel].mean()) < 0.01, b
    assert (work / "results/photometric/figures/nz_mlp_all.png").exists()
    # the densities as qp files (RAIL's format), the text ids as their ancillary column
    qp = pytest.importorskip("qp")
    for m in ("baseline", "step3"):
        ens = qp.read(str(part / f"qp/{m}.hdf5"))
        assert ens.ancil["id"].tolist() == cat["id"].tolist()
    ens = qp.read(str(model / "qp/step3.hdf5"))
    assert sorted(ens.ancil["id"].tolist()) == sorted(pd.read_parquet(
        model / "catalogue.parquet")["id"])
