"""Bad input: one test per class.  The InputError names the file, the galaxy and the field,
and no output or temporary file survives."""

import numpy as np
import pandas as pd
import pytest

from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import write_preprocessed

N = 8


def ingest(tmp_path, cfg):
    """Open and preprocess; return the InputError message, checking nothing was left."""
    out = tmp_path / "out.h5"
    with pytest.raises(InputError) as err:
        src = open_source(cfg, base_dir=str(tmp_path))
        write_preprocessed(src, str(out), rows=MagnitudeRows(12.5, 11),
                           split={"test_fraction": 0.25, "seed": 0}, pixel_divisor=1.0,
                           z_range=(0.0, 0.4), r_range=(8.0, 18.0),
                           provenance={"config": {}}, chunk_size=2)
    assert not out.exists() and not (tmp_path / "out.h5.tmp").exists()
    return str(err.value)


def generic(tmp_path, cube=None, **cat_changes):
    """A valid generic-layout input (.npy cube + CSV), then the requested damage."""
    rng = np.random.default_rng(0)
    if cube is None:
        cube = rng.normal(size=(N, 5, 64, 64)).astype(np.float32)
    np.save(tmp_path / "stamps.npy", cube)
    cat = pd.DataFrame({"id": 500 + np.arange(N), "z_spec": np.linspace(0.05, 0.35, N),
                        "r_mag": np.linspace(14, 17.5, N), "ebv": 0.03})
    for k, v in cat_changes.items():
        if v is None:
            del cat[k]
        else:
            cat[k] = v
    cat.to_csv(tmp_path / "cat.csv", index=False)
    return {"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
            "pixel_scale_arcsec": 0.396}


def test_nan_and_inf_pixels(tmp_path):
    cube = np.ones((N, 5, 64, 64), np.float32)
    cube[5, 2, 10, 10] = np.nan
    cube[5, 3, 0, 0] = np.inf
    msg = ingest(tmp_path, generic(tmp_path, cube))
    assert "stamps.npy" in msg and "galaxy row 5 (id 505)" in msg and "'images'" in msg
    assert "2 NaN/inf pixels" in msg


def test_wrong_band_count(tmp_path):
    msg = ingest(tmp_path, generic(tmp_path, np.zeros((N, 4, 64, 64), np.float32)))
    # a problem of the whole cube names no galaxy
    assert "stamps.npy" in msg and "galaxy row" not in msg and "'images'" in msg
    assert "4 bands" in msg and "expected 5 bands (ugriz)" in msg


def test_wrong_stamp_shape(tmp_path):
    (tmp_path / "st").mkdir()
    for i in range(N):
        s = np.zeros((64, 64, 5) if i != 3 else (64, 5), np.float32)
        np.save(tmp_path / "st" / f"{i}.npy", s)
    pd.DataFrame({"id": range(N), "z_spec": 0.1, "r_mag": 16.0, "ebv": 0.0}).to_csv(
        tmp_path / "t.csv", index=False)
    np.save(tmp_path / "tr.npy", np.arange(6))
    np.save(tmp_path / "te.npy", np.arange(6, N))
    msg = ingest(tmp_path, {"layout": "per_galaxy", "stamp_dir": "st", "table": "t.csv",
                            "train_index": "tr.npy", "test_index": "te.npy",
                            "pixel_scale_arcsec": 0.187})
    assert "3.npy" in msg and "galaxy row 3 (id 3)" in msg and "'stamp'" in msg
    assert "shape (64, 5)" in msg


def test_missing_stamp_file(tmp_path):
    (tmp_path / "st").mkdir()
    for i in range(N - 1):
        np.save(tmp_path / "st" / f"{i}.npy", np.zeros((64, 64, 5), np.float32))
    pd.DataFrame({"id": range(N), "z_spec": 0.1, "r_mag": 16.0, "ebv": 0.0}).to_csv(
        tmp_path / "t.csv", index=False)
    np.save(tmp_path / "tr.npy", np.arange(N))
    np.save(tmp_path / "te.npy", np.arange(0))
    msg = ingest(tmp_path, {"layout": "per_galaxy", "stamp_dir": "st", "table": "t.csv",
                            "train_index": "tr.npy", "test_index": "te.npy",
                            "pixel_scale_arcsec": 0.187})
    assert f"{N - 1}.npy" in msg and f"galaxy row {N - 1}" in msg and "'stamp'" in msg


def test_missing_column(tmp_path):
    msg = ingest(tmp_path, {**generic(tmp_path, z_spec=None)})
    # A missing column concerns every galaxy: the message names the file and the column.
    assert "cat.csv" in msg and "'z_spec'" in msg and "missing column" in msg


def test_missing_ebv_needs_an_explicit_constant(tmp_path):
    cfg = generic(tmp_path, ebv=None)
    msg = ingest(tmp_path, cfg)
    assert "cat.csv" in msg and "'ebv'" in msg and "{constant: 0.0}" in msg
    src = open_source({**cfg, "columns": {"ebv": {"constant": 0.0}}}, base_dir=str(tmp_path))
    assert (src.table["ebv"] == 0).all()


def test_mistyped_column(tmp_path):
    z = [0.1] * N
    z[4] = "abc"
    msg = ingest(tmp_path, generic(tmp_path, z_spec=z))
    assert "cat.csv" in msg and "galaxy row 4" in msg and "'z_spec'" in msg and "'abc'" in msg


def test_redshift_out_of_range(tmp_path):
    z = np.full(N, 0.2)
    z[6] = 0.55
    msg = ingest(tmp_path, generic(tmp_path, z_spec=z))
    assert "cat.csv" in msg and "galaxy row 6 (id 506)" in msg and "'z_spec'" in msg
    assert "0.55" in msg and "[0.0, 0.4]" in msg


@pytest.mark.parametrize("bad", [np.nan, -1.0, 19.5])
def test_magnitude_nan_negative_or_out_of_range(tmp_path, bad):
    r = np.full(N, 16.0)
    r[2] = bad
    msg = ingest(tmp_path, generic(tmp_path, r_mag=r))
    assert "cat.csv" in msg and "galaxy row 2 (id 502)" in msg and "'r_mag'" in msg


def test_non_detection(tmp_path):
    msg = ingest(tmp_path, generic(tmp_path, mag_g=[18.0] * 3 + [99.0] + [18.0] * (N - 4)))
    assert "cat.csv" in msg and "galaxy row 3 (id 503)" in msg and "'mag_g'" in msg
    # the message names every policy that would accept the file
    assert "non_detection: drop" in msg and "non_detection: flag" in msg


def test_duplicate_ids(tmp_path):
    ids = 500 + np.arange(N)
    ids[7] = ids[1]
    msg = ingest(tmp_path, generic(tmp_path, id=ids))
    assert "cat.csv" in msg and "galaxy row 7 (id 501)" in msg and "'id'" in msg
    assert "rows 1, 7" in msg


def test_empty_input(tmp_path):
    np.save(tmp_path / "stamps.npy", np.zeros((0, 5, 64, 64), np.float32))
    (tmp_path / "cat.csv").write_text("id,z_spec,r_mag,ebv\n")
    msg = ingest(tmp_path, {"layout": "generic", "images": "stamps.npy",
                            "catalogue": "cat.csv", "pixel_scale_arcsec": 0.4})
    assert "cat.csv" in msg and "no galaxies" in msg and "'z_spec'" in msg


def test_truncated_npy(tmp_path):
    cfg = generic(tmp_path)
    raw = (tmp_path / "stamps.npy").read_bytes()
    (tmp_path / "stamps.npy").write_bytes(raw[: len(raw) // 2])  # 3.5 of 8 stamps survive
    msg = ingest(tmp_path, cfg)
    assert "stamps.npy" in msg and "galaxy row 3" in msg and "'images'" in msg
    assert "truncated" in msg


def test_corrupt_npz(tmp_path):
    lab = np.zeros(N, dtype=[("z", "f8"), ("EBV", "f4"), ("dered_petro_r", "f4")])
    np.savez(tmp_path / "sdss.npz", cube=np.zeros((N, 64, 64, 5), np.float32), labels=lab)
    raw = (tmp_path / "sdss.npz").read_bytes()
    (tmp_path / "sdss.npz").write_bytes(raw[: len(raw) // 2])
    msg = ingest(tmp_path, {"layout": "npz", "path": "sdss.npz"})
    # A cut zip loses its directory: no galaxy can be located, the message says so.
    assert "sdss.npz" in msg and "'cube'" in msg and "no galaxy can be read" in msg


def test_npz_member_cut_short(tmp_path):
    """A stored npz member shorter than its header says (rewritten archive)."""
    import zipfile

    lab = np.zeros(N, dtype=[("z", "f8"), ("EBV", "f4"), ("dered_petro_r", "f4")])
    np.savez(tmp_path / "full.npz", cube=np.zeros((N, 64, 64, 5), np.float32), labels=lab)
    with zipfile.ZipFile(tmp_path / "full.npz") as zin, \
            zipfile.ZipFile(tmp_path / "sdss.npz", "w") as zout:
        cube = zin.read("cube.npy")
        zout.writestr("cube.npy", cube[: len(cube) - 64 * 64 * 5 * 4 - 10])
        zout.writestr("labels.npy", zin.read("labels.npy"))
    msg = ingest(tmp_path, {"layout": "npz", "path": "sdss.npz"})
    assert "sdss.npz" in msg and f"galaxy row {N - 2}" in msg and "'cube'" in msg
