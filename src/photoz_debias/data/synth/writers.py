"""Writers of the synthetic surveys in the raw layouts that :mod:`photoz_debias.data.ingest`
reads: the SDSS-like ``.npz`` cube with its label array, the CFHTLS-like FITS cube with its
catalogue.  Every file is written atomically (:func:`photoz_debias.atomic.atomic_path`)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.atomic import atomic_path
from photoz_debias.data.synth import population as popmod


def sdss_labels(df: pd.DataFrame) -> np.ndarray:
    """The ``labels`` record array of layout (a)."""
    fields = [("id", np.int64), ("z", np.float64), ("EBV", np.float32), ("dered_petro_r", np.float32)]
    fields += [(f"dered_petro_{b}", np.float32) for b in "ugiz"] + [("z_true", np.float64)]
    lab = np.zeros(len(df), dtype=fields)
    lab["id"] = df["id"].to_numpy()
    lab["z"] = df["z_spec"].to_numpy()
    lab["EBV"] = df["ebv"].to_numpy()
    for b in "ugriz":
        lab[f"dered_petro_{b}"] = df[f"petro_{b}"].to_numpy()
    lab["z_true"] = df["z_true"].to_numpy()
    return lab


def write_sdss_npz(path, df: pd.DataFrame, chunks, n: int, stamp: int = 64) -> None:
    """Write layout (a) ``sdss.npz`` (uncompressed, as ``np.savez``) streaming the cube.

    ``chunks`` yields float32 arrays (k, 64, 64, 5) in galaxy order; the cube is never held
    in memory whole.
    """
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("cube.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_2_0(
                    fh, {"descr": "<f4", "fortran_order": False, "shape": (n, stamp, stamp, 5)}
                )
                written = 0
                for c in chunks:
                    fh.write(np.ascontiguousarray(c, dtype="<f4").tobytes())
                    written += len(c)
            if written != n:
                raise RuntimeError(f"cube has {written} galaxies, expected {n}")
            with zf.open("labels.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, sdss_labels(df), allow_pickle=False)


def _with_sentinel(mags: np.ndarray) -> np.ndarray:
    return np.where(mags >= popmod.FAINTEST_MAG - 1e-3, np.float32(99.0), mags)


def write_cfhtls(stamps_path, catalogue_path, df: pd.DataFrame, chunks, n: int, stamp: int = 64) -> None:
    """Write layout (c): ``stamps.npy`` (N, 5, 64, 64) float32 and ``catalogue.parquet``."""
    stamps_path, catalogue_path = Path(stamps_path), Path(catalogue_path)
    with atomic_path(stamps_path) as tmp:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype="<f4", shape=(n, 5, stamp, stamp))
        i = 0
        for c in chunks:
            mm[i : i + len(c)] = c
            i += len(c)
        if i != n:
            raise RuntimeError(f"stamps has {i} galaxies, expected {n}")
        mm.flush()
        del mm
    cat = pd.DataFrame(
        {
            "id": df["id"].to_numpy(np.int64),
            "z_spec": df["z_spec"].to_numpy(np.float64),
            "r_mag": df["mag_r"].to_numpy(np.float32),
            "ebv": df["ebv"].to_numpy(np.float32),
            "field": df["field"].astype(str).to_numpy(),
            "quality": df["quality"].astype(str).to_numpy(),
            # IGM drop-outs (flux floored at FAINTEST_MAG) are written as the usual
            # non-detection sentinel 99, as survey catalogues do
            **{f"mag_{b}": _with_sentinel(df[f"mag_{b}"].to_numpy(np.float32)) for b in "ugriz"},
            "z_true": df["z_true"].to_numpy(np.float64),
        }
    )
    with atomic_path(catalogue_path) as tmp:
        cat.to_parquet(tmp, index=False)
