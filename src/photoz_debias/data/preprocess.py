"""Raw source -> preprocessed stamps HDF5 (Sect. 2.3 of Lin et al. 2022).

:func:`write_preprocessed` validates the labels, draws (or takes) the train/test split,
assigns magnitude rows, streams the stamps through the pixel divisor and Eq. 1 and writes
``results/<dataset>/stamps.h5`` as ``docs/architecture.md`` specifies.  The file appears
only when complete (temporary file then ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import logging

import h5py
import numpy as np
import pandas as pd

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows
from photoz_debias.io import h5_data
from photoz_debias.data.images import CACHE_BLOCK
from photoz_debias.data.ingest import Source
from photoz_debias.data.tables import validate_labels

log = logging.getLogger(__name__)

RESCALING = "Eq. 1 of Lin et al. 2022: I = sqrt(I0 + 1) - 1 (I0 >= 0), 1 - sqrt(1 - I0) (I0 < 0)"
_OPTIONAL_F32 = ("photoz_survey",)
SPLIT_APPLY = 2  # the ``split`` of an applied sample's galaxies (0 train, 1 test)
_OPTIONAL_F64 = ("z_true",)


def rescale_intensity(I0: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Pixel intensity rescaling, Eq. 1 of Lin et al. 2022.

    ``I = sqrt(I0 + 1) - 1`` for ``I0 >= 0`` and ``I = -sqrt(-I0 + 1) + 1`` for ``I0 < 0``;
    odd and continuous at 0.

    Parameters
    ----------
    I0 : numpy.ndarray
        Original intensity (after the pixel divisor; dimensionless image units).
    out : numpy.ndarray, optional
        Where to write the result (may be ``I0`` itself, float32, to save memory).

    Returns
    -------
    numpy.ndarray
        Rescaled intensity ``I``, same shape and float dtype as ``I0``.

    Notes
    -----
    Computed as ``I0 / (1 + sqrt(1 + |I0|))``, which equals both branches
    (``sqrt(1 + a) - 1 = a / (sqrt(1 + a) + 1)``) and avoids the cancellation of
    ``sqrt(1 + a) - 1`` for the small sky pixels of SDSS stamps in float32.
    """
    I0 = np.asarray(I0)
    if not np.issubdtype(I0.dtype, np.floating):
        I0 = I0.astype(np.float64)
    denom = np.abs(I0)
    denom += 1
    np.sqrt(denom, out=denom)
    denom += 1
    return np.divide(I0, denom, out=out)


def _versions() -> dict:
    import photoz_debias

    v = {"numpy": np.__version__, "h5py": h5py.__version__, "pandas": pd.__version__,
         "photoz_debias": photoz_debias.__version__}
    try:
        import torch

        v["torch"] = torch.__version__
    except ImportError:
        pass
    return v


def config_hash(config) -> str:
    """SHA-256 (hex, first 16 characters) of a config object in canonical JSON."""
    text = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def draw_split(table: pd.DataFrame, split: dict, *, file: str = "split") -> np.ndarray:
    """Seeded random train/test split.

    Parameters
    ----------
    table : pandas.DataFrame
        Standard columns ``field`` and ``quality``.
    split : dict
        ``seed`` (int) and either ``test_fraction`` (of each group's galaxies) or ``n_test``
        (int, or a dict field -> int with ``per_field``).  ``per_field: true`` draws the
        test sample of each field separately (the paper's CFHTLS Deep and Wide test
        samples); ``test_quality`` (list) restricts test galaxies to those quality flags
        (the paper's HQ-only CFHTLS test samples).

    Returns
    -------
    numpy.ndarray of uint8
        0 = train, 1 = test, per table row.  The same seed and table give the same split.
    """
    if "seed" not in split or ("test_fraction" in split) == ("n_test" in split):
        raise InputError(f"split {split!r}", file=file, field="split",
                         expected="seed and exactly one of test_fraction, n_test")
    rng = np.random.default_rng(int(split["seed"]))
    n = len(table)
    out = np.zeros(n, np.uint8)
    field = table["field"].to_numpy(str)
    if split.get("per_field"):
        groups = [(f, np.flatnonzero(field == f)) for f in sorted(set(field))]
    else:
        groups = [(None, np.arange(n))]
    allowed = split.get("test_quality")
    eligible = np.ones(n, bool)
    if allowed is not None:
        eligible = table["quality"].isin(list(allowed)).to_numpy()
    for f, idx in groups:
        if "test_fraction" in split:
            k = int(round(float(split["test_fraction"]) * len(idx)))
        else:
            nt = split["n_test"]
            k = int(nt[f]) if isinstance(nt, dict) else int(nt)
        pool = idx[eligible[idx]]
        if k > len(pool):
            where = f" in field {f}" if f is not None else ""
            raise InputError(f"{k} test galaxies asked{where} but only {len(pool)} are eligible",
                             file=file, field="split",
                             expected=f"n_test <= {len(pool)} (test_quality {allowed})")
        out[rng.choice(pool, size=k, replace=False)] = 1
    return out


def _bytes(values) -> np.ndarray:
    return np.char.encode(np.asarray(values, dtype=str), "ascii")


def write_preprocessed(source: Source, out_path: str, *, rows: MagnitudeRows, split: dict | None,
                       pixel_divisor: float, z_range, r_range, provenance: dict,
                       chunk_size: int = 1024, compression: str | None = None,
                       compression_opts=None, applied: bool = False) -> dict:
    """Write the preprocessed stamps HDF5 of ``docs/architecture.md``.

    Parameters
    ----------
    source : Source
        From :func:`photoz_debias.data.ingest.open_source`.
    out_path : str
        The HDF5 file; written to a temporary file beside it, renamed when complete, removed on any error.
    rows : MagnitudeRows
        The dataset's magnitude rows; ``mag_row = rows.row_index(r_mag)`` (clipped into the
        first/last row, as the paper does).
    split : dict or None
        Seeded split (:func:`draw_split`); ignored (logged) when the source fixes its own.
    pixel_divisor : float
        Pixels are divided by this before Eq. 1 (Sect. 2.3: 1000 for CFHTLS, 1 for SDSS).
    z_range, r_range : (float, float)
        Valid z_spec and r (mag); a galaxy outside raises :class:`InputError`.
    provenance : dict
        ``source`` (str, default the source's description), ``config_hash`` (str) or
        ``config`` (hashed with :func:`config_hash`); everything is also stored as JSON.
    chunk_size : int
        Galaxies read, rescaled and written at a time (memory ~ chunk_size * 80 kB for 5 bands).
    compression : str, optional
        h5py compression of ``images`` (``'lzf'``, ``'gzip'``); None (default) for speed.
    compression_opts : int, optional
        h5py compression level (gzip: 0-9).
    applied : bool
        An applied sample (apply mode, photo-z for galaxies without spectra): z_spec may be
        NaN (not validated), every galaxy gets ``split`` = :data:`SPLIT_APPLY` and ``split``
        is ignored.

    Returns
    -------
    dict
        ``n``, ``n_train``, ``n_test``, ``n_channels`` (or ``n_features``).
    """
    if not pixel_divisor > 0:
        raise InputError(f"pixel_divisor {pixel_divisor}", field="pixel_divisor",
                         expected="a positive number")
    table = source.table
    validate_labels(table, z_range=z_range, r_range=r_range, file=source.table_file,
                    columns=source.columns, labelled=not applied)
    if applied:
        split_arr = np.full(source.n, SPLIT_APPLY, np.uint8)
    elif source.split is not None:
        if split:
            log.info("the source fixes the split (index arrays); config split %s ignored", split)
        split_arr = source.split
    else:
        if not split:
            raise InputError("no split given", file=source.table_file, field="split",
                             expected="{test_fraction or n_test, seed}")
        split_arr = draw_split(table, split, file=source.table_file)
    mag_row = rows.row_index(table["r_mag"].to_numpy(np.float64)).astype(np.int16)
    n = source.n

    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as h5:
        cols = {
            # int64, or text ids as str objects (data.tables keeps them so)
            "id": h5_data(table["id"].to_numpy()),
            "z_spec": table["z_spec"].to_numpy(np.float64),
            "r_mag": table["r_mag"].to_numpy(np.float32),
            "ebv": table["ebv"].to_numpy(np.float32),
            "split": split_arr.astype(np.uint8),
            "mag_row": mag_row,
            "field": _bytes(table["field"]),
            "quality": _bytes(table["quality"]),
        }
        for c in table.columns:
            if c.startswith(("mag_", "magerr_")) and c != "mag_row" or c in _OPTIONAL_F32:
                cols[c] = table[c].to_numpy(np.float32)
            elif c in _OPTIONAL_F64:
                cols[c] = table[c].to_numpy(np.float64)
        for name, v in cols.items():
            h5.create_dataset(name, data=v)
        info = {"n": n, "n_train": int((split_arr == 0).sum()),
                "n_test": int((split_arr == 1).sum())}
        if applied:
            info["n_applied"] = n
        if source.mode == "catalogue":
            names = source.feature_names
            h5.create_dataset("features",
                              data=table[names].to_numpy(np.float32).reshape(n, len(names)))
            h5["features"].attrs["feature_names"] = json.dumps(names)
            h5.attrs["feature_names"] = json.dumps(names)
            info["n_features"] = len(names)
        else:
            c = source.n_channels
            shape = (n, c, 64, 64)
            dset = h5.create_dataset("images", shape=shape, dtype=np.float32,
                                     chunks=(1, c, 64, 64), compression=compression,
                                     compression_opts=compression_opts)
            i0 = 0
            for images, part in source.iter_chunks(chunk_size):
                if images.shape[1:] != shape[1:]:
                    raise InputError(f"stamps of shape {images.shape[1:]}",
                                     file=source.image_file, row=int(part.index[0]),
                                     field="images", expected=f"{shape[1:]}")
                for b0 in range(0, len(images), CACHE_BLOCK):
                    block = images[b0:b0 + CACHE_BLOCK]
                    if pixel_divisor != 1:
                        block /= np.float32(pixel_divisor)
                    rescale_intensity(block, out=block)
                dset[i0:i0 + len(images)] = images
                i0 += len(images)
            if i0 != n:
                raise InputError(f"{i0} stamps read for {n} galaxies", file=source.image_file,
                                 row=i0, field="images", expected=f"{n} stamps")
            info["n_channels"] = c
        prov = dict(provenance or {})
        chash = prov.get("config_hash") or config_hash(prov.get("config", prov))
        bands = source.bands
        h5.attrs.update({
            "bands": "".join(bands) if all(len(b) == 1 for b in bands) else ",".join(bands),
            "pixel_scale_arcsec": np.nan if source.pixel_scale is None
            else float(source.pixel_scale),
            "pixel_divisor": float(pixel_divisor),
            "rescaling": "none (catalogue mode)" if source.mode == "catalogue" else RESCALING,
            "source": str(prov.get("source", source.description)),
            "config_hash": str(chash),
            "versions": json.dumps(_versions()),
            "provenance": json.dumps(prov, sort_keys=True, default=str),
            "r_min": float(rows.r_min),
            "n_rows": int(rows.n_rows),
            "row_width": float(rows.row_width),
            "mode": source.mode,
            "z_range": np.asarray(z_range, np.float64),
            "r_range": np.asarray(r_range, np.float64),
        })
    log.info("wrote %s: %s", out_path, info)
    return info
