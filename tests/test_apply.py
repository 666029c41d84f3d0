"""Apply mode (photo-z for galaxies without spectra): ingestion without z_spec, the refusal of
an applied sample the model cannot read, chunked inference, Step 4 on an applied sample, the
tomographic n(z) from Step 4's resampled training galaxies, and the config checks.  The
workflow (nothing retrained, end to end) is in test_end_to_end.py and test_catalogue_mode.py."""

import copy
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from snakemake.utils import update_config

from photoz_debias.config_checks import ConfigError, check_config, check_keys
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import SPLIT_APPLY, write_preprocessed
from photoz_debias.debias.calibrate import calibrate_applied_sample, step4_shift
from photoz_debias.errors import InputError
from photoz_debias.evaluate.tomography import tomographic_nz, validation_table
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import check_applicable
from photoz_debias.model.inference import compute_representations, infer_applied, predict_densities
from photoz_debias.model.networks import build_model

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
TINY = yaml.safe_load((ROOT / "tests" / "config" / "config.yaml").read_text())
ROWS = MagnitudeRows(12.5, 11, 0.5)
GRID = RedshiftGrid(0.0, 0.4, 80)
torch.set_num_threads(1)


# ----------------------------------------------------------------------------- ingestion


def _catalogue(path, with_z=False):
    z = np.linspace(0.05, 0.25, 5)
    cat = pd.DataFrame({"u": 19.0 + z, "g": 17.5 + z, "r": 16.8 + z, "i": 16.4 + z, "z": 16.1 + z})
    if with_z:
        cat["zs"] = z
    cat.to_csv(path, index=False)
    return {"layout": "catalogue", "catalogue": str(path),
            "columns": {"mag_u": "u", "mag_g": "g", "mag_r": "r", "mag_i": "i", "mag_z": "z",
                        "ebv": {"constant": 0.0}}}


def test_an_applied_sample_needs_no_z_spec_and_is_all_applied(tmp_path):
    src_cfg = _catalogue(tmp_path / "photometric.csv")
    with pytest.raises(InputError, match="missing column 'z_spec'"):
        open_source(src_cfg)  # a training set needs its labels
    src = open_source(src_cfg, labelled=False)
    assert src.table["z_spec"].isna().all()
    out = tmp_path / "stamps.h5"
    info = write_preprocessed(src, str(out), rows=ROWS, split=None, pixel_divisor=1.0,
                              z_range=(0.0, 0.4), r_range=(8.0, 18.0), provenance={"config": {}},
                              applied=True)
    assert info["n_applied"] == 5 and info["n_train"] == info["n_test"] == 0
    with h5py.File(out) as f:
        assert (f["split"][:] == SPLIT_APPLY).all() and np.isnan(f["z_spec"][:]).all()


def test_an_explicit_z_spec_mapping_must_exist_even_when_applied(tmp_path):
    src_cfg = _catalogue(tmp_path / "photometric.csv")
    src_cfg["columns"]["z_spec"] = "zs"
    with pytest.raises(InputError, match="missing column 'zs'"):
        open_source(src_cfg, labelled=False)


def _stamps(path, bands="ugriz", shape=(5, 64, 64), features=None, scale=0.396):
    with h5py.File(path, "w") as f:
        f.attrs["bands"] = bands
        f.attrs["pixel_scale_arcsec"] = scale
        if features is None:
            f.create_dataset("images", shape=(2,) + shape, dtype=np.float32)
        else:
            f.create_dataset("features", shape=(2, len(features)), dtype=np.float32)
            f.attrs["feature_names"] = str(features)
    return path


@pytest.mark.parametrize("applied, what", [
    (dict(bands="griz", shape=(4, 64, 64)), "bands"),
    (dict(shape=(5, 32, 32)), "stamp shape"),
    (dict(features=["u", "g", "r"]), "stamp shape"),
    (dict(scale=0.262), "pixel scale"),
])
def test_an_applied_sample_the_model_cannot_read_is_refused_naming_both(tmp_path, applied, what):
    model = _stamps(tmp_path / "model.h5")
    other = _stamps(tmp_path / "applied.h5", **applied)
    with pytest.raises(InputError) as err:
        check_applicable(other, model)
    msg = str(err.value)
    assert what in msg and "applied.h5" in msg and "model.h5" in msg
    check_applicable(model, model)


def test_a_different_feature_set_is_refused(tmp_path):
    model = _stamps(tmp_path / "model.h5", features=["u", "g", "u-g"])
    other = _stamps(tmp_path / "applied.h5", features=["u", "g", "g-r"])
    with pytest.raises(InputError, match="feature set"):
        check_applicable(other, model)


# ----------------------------------------------------------------------------- inference


def test_chunked_inference_equals_the_whole_sample_at_once():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(11, 3, 16, 16)).astype(np.float32)
    ebv = rng.uniform(0, 0.1, 11).astype(np.float32)
    base = build_model("netcpu", "single", n_bins=7, n_bands=3, seed=0)
    step1 = build_model("netcpu", "multi", n_bins=7, n_outputs=3, n_bands=3, rep_dim=24, seed=1)
    with h5py.File("mem", "w", driver="core", backing_store=False) as f:
        info = infer_applied(base, step1, x, ebv, f, chunk=4, batch_size=3)
        assert info == {"n": 11, "n_bins": 7, "rep_dim": 24}
        np.testing.assert_allclose(f["baseline"][:], predict_densities(base, x, ebv), atol=1e-6)
        np.testing.assert_array_equal(f["representation"][:],
                                      compute_representations(step1, x, ebv, views=None))


# ----------------------------------------------------------------------------- Step 4, n(z)


def _population(rng, n, bias=0.01):
    """z_spec, r and a grid-valued z_photo with a z-dependent bias and scatter."""
    z = rng.gamma(4.0, 0.025, n).clip(0.001, 0.39)
    r = rng.uniform(13.0, 18.0, n)
    zp = np.clip(z + bias - 0.1 * (z - 0.1) + rng.normal(0, 0.02, n), 0, 0.3999)
    return z, r, GRID.centres[GRID.bin_index(zp)]


def _cells():
    return GRID.aligned_edges(0.01, 0.0, 0.4)


def test_step4_on_an_applied_sample_is_step4_where_every_galaxy_is_inside_the_rows():
    rng = np.random.default_rng(1)
    zt, rt, zpt = _population(rng, 4000)
    _, ra, zpa = _population(rng, 1000)
    shift, ok = calibrate_applied_sample(zpa, ra, zpt, zt, ROWS.row_index(rt), ROWS, GRID.edges,
                                         _cells(), 5, 7)
    ref = step4_shift(zpa, ROWS.row_index(ra), zpt, zt, ROWS.row_index(rt), GRID.edges, _cells(), 5, 7)
    assert ok.mean() > 0.85  # sparse cells of 4,000 training galaxies in 10 rows
    np.testing.assert_array_equal(shift[ok], ref[ok])
    assert np.isnan(shift[~ok]).all()


def test_galaxies_outside_the_models_rows_are_not_calibrated():
    rng = np.random.default_rng(2)
    zt, rt, zpt = _population(rng, 10000)
    _, ra, zpa = _population(rng, 500)
    ra[:7] = [10.0, 12.0, 18.0, 18.5, 21.0, np.nan, 12.4999]
    shift, ok = calibrate_applied_sample(zpa, ra, zpt, zt, ROWS.row_index(rt), ROWS, GRID.edges,
                                         _cells(), 3, 0)
    assert not ok[:7].any() and np.isnan(shift[:7]).all()
    assert ok[7:].mean() > 0.75  # the resampled set is as small as the sample: sparse cells


def test_tomographic_nz_recovers_the_true_mean_and_is_wider_than_the_estimates():
    rng = np.random.default_rng(3)
    zt, rt, zpt = _population(rng, 20000)
    za, ra, zpa = _population(rng, 5000)
    shift, ok = calibrate_applied_sample(zpa, ra, zpt, zt, ROWS.row_index(rt), ROWS, GRID.edges,
                                         _cells(), 5, 7)
    zf = zpa - shift
    edges = [0.0, 0.08, 0.12, 0.2]
    bins, nz = tomographic_nz(zpa, ra, zf, zpt, zt, ROWS.row_index(rt), ROWS, GRID.edges, _cells(),
                              edges, np.linspace(0, 0.4, 41), 5, 7, n_bootstrap=20)
    assert bins["n_galaxies"].sum() == ((zf < 0.2) & ok).sum()
    for b in range(3):  # each n(z) is a density: it integrates to one over the redshift bins
        one = nz[nz["bin"] == b]
        assert abs((one["nz"] * (one["z_hi"] - one["z_lo"])).sum() - 1) < 1e-9
        assert (one["nz_err"] >= 0).all()
    assert (bins["mean_z_err"] > 0).all() and (bins["mean_z_err"] < 0.005).all()
    table = validation_table(bins, nz, zf, za)
    # same population: the true mean within 4 bootstrap errors (plus Step 4's own bias)
    assert (np.abs(table["mean_z"] - table["mean_z_true"]) < 4 * table["mean_z_err"] + 0.003).all()
    # the n(z) keeps the scatter of z_spec at fixed z_photo: closer in shape to the truth than
    # the histogram of the corrected estimates
    assert (table["d_tv"] < table["d_tv_step4_hist"]).all()


def test_tomography_uses_the_same_resamplings_as_step4():
    """Same seed, same draws: the mean of n(z) over a bin made of one z_photo cell is, per
    resampling, the Step 4 corrected estimate's mean plus the spread of z_photo in the cell
    (zero here: one grid bin per cell)."""
    rng = np.random.default_rng(4)
    zt, rt, zpt = _population(rng, 3000)
    _, ra, zpa = _population(rng, 800)
    cells = GRID.aligned_edges(GRID.width, 0.0, 0.4)  # one grid bin per cell
    ra[:] = 16.2  # one row
    shift, ok = calibrate_applied_sample(zpa, ra, zpt, zt, ROWS.row_index(rt), ROWS, GRID.edges,
                                         cells, 5, 7)
    zf = zpa - shift
    c = GRID.centres[GRID.bin_index(np.array([0.1]))][0]
    lo = zf[ok & (zpa == c)][0]
    bins, _ = tomographic_nz(zpa, ra, np.where(zpa == c, zf, np.nan), zpt, zt, ROWS.row_index(rt),
                             ROWS, GRID.edges, cells, [lo - 1e-9, lo + 1e-9], np.linspace(0, 0.4, 41),
                             5, 7, n_bootstrap=0)
    assert bins["n_galaxies"][0] == (ok & (zpa == c)).sum() > 0
    assert bins["mean_z"][0] == pytest.approx(lo, abs=1e-12)


# ----------------------------------------------------------------------------- config


def _check(overlay):
    cfg = copy.deepcopy(TINY)
    update_config(cfg, overlay)
    check_keys(cfg, SCHEMA)
    check_config(cfg)


APPLIED = {"apply": {"model": "sdss", "withhold_test": True,
                     "tomography": {"bins": [0.0, 0.1, 0.4], "nz_width": 0.01, "n_bootstrap": 10}}}


def test_an_applied_sample_config_passes():
    _check({"datasets": {"applied": copy.deepcopy(APPLIED)}, "run": ["sdss", "applied"]})


@pytest.mark.parametrize("change, path", [
    ({"grid": {"z_min": 0.0, "z_max": 0.4, "n_bins": 10, "extend_left": 0, "extend_right": 0}},
     "datasets.applied.grid"),
    ({"apply": {"model": "nope"}}, "datasets.applied.apply.model"),
    ({"apply": {"parts": ["deep"]}}, "datasets.applied.apply.parts"),
    ({"apply": {"tomography": {"bins": [0.0, 0.3, 0.2]}}}, "datasets.applied.apply.tomography.bins"),
    ({"pixel_divisor": 1.0}, "datasets.applied"),
    ({"apply": {"withhold_test": False}}, "datasets.applied.source"),
])
def test_bad_applied_sample_configs_are_refused_with_their_path(change, path):
    ds = copy.deepcopy(APPLIED)
    update_config(ds, change)
    with pytest.raises(ConfigError) as err:
        _check({"datasets": {"applied": ds}})
    assert path in str(err.value)
