"""Readers for the raw input layouts, streamed in chunks and validated.

Every layout is opened with :func:`open_source`, which returns a :class:`Source`.  A source
holds the whole label table in memory (a few columns per galaxy: small even for 660k
galaxies) and streams the stamp images in chunks, so that a cube of tens of GB is never
loaded whole.  Every problem found in the input raises :class:`photoz_debias.errors.InputError`
naming the file, the galaxy (row and id) and the field.

Standard table columns
----------------------
``id`` int64 (unique; the source row number when the input has no id), ``z_spec`` float64
(spectroscopic redshift, the label), ``r_mag`` float32 (dereddened r magnitude, mag),
``ebv`` float32 (E(B-V), mag), ``field`` str (``SDSS``, ``DEEP``, ``WIDE``, ...), ``quality`` str
(``HQ`` or ``LR``); optional ``mag_<band>`` float32 (dereddened magnitudes), ``magerr_<band>``
float32, ``z_true`` float64 (synthetic surveys), ``photoz_survey`` float32 (a survey's own
photo-z).  The table's index is the galaxy's row in the source file, used in error messages.

Column mapping (``columns:`` in every layout)
---------------------------------------------
Maps a standard column name to the source's column name, or to ``{constant: value}``.  Unmapped
columns fall back to the layout's default source name (the standard name itself except for
``npz``).  An optional column whose source column is absent is left out.  E(B-V) is never
silently zero: when neither the mapped nor the default column exists, ``columns.ebv:
{constant: 0.0}`` must be given explicitly, or the source is rejected.  Unmapped and absent
``field`` / ``quality`` become the constants ``ALL`` / ``HQ`` (logged).

Non-detections
--------------
A magnitude (``mag_<band>``) that is NaN/inf or has ``|m| >= 90`` (the 99 / -99 / -9999
sentinels) is a non-detection.  ``non_detection: error`` (default) rejects the input naming the
first such galaxy; ``non_detection: drop`` leaves those galaxies out and logs how many;
``non_detection: flag`` keeps them with NaN in the non-detected magnitudes (for image layouts,
where the magnitudes only feed the kNN peer; the synthetic CFHTLS-like survey uses it).  ``r_mag``
is checked later against ``valid_range.r`` by :func:`validate_labels`: a NaN or negative r is
rejected (the authors replaced it by max(r); we do not).

Layouts
-------
(a) ``layout: npz`` -- one stamp cube + label table, the public Pasquet et al. (2019) SDSS
    release layout.  ``path`` (default ``sdss.npz``): an ``.npz`` with member ``cube``
    (``cube_key``) float32 (N, 64, 64, 5), bands last (``axis_order: NHWC``, default), and member
    ``labels`` (``labels_key``), a structured array with fields ``z`` (-> z_spec), ``EBV``
    (-> ebv), ``dered_petro_r`` (-> r_mag and mag_r), optional ``id`` (else the row index),
    optional ``dered_petro_u/g/i/z`` (-> mag_u/g/i/z), optional ``z_true``, optional ``photoz``
    (-> photoz_survey).  ``field`` is the constant ``SDSS`` and ``quality`` ``HQ``.  Defaults:
    ``bands: ugriz``, ``pixel_scale_arcsec: 0.396``.  A stored (np.savez) member is read in
    chunks at its byte offset in the zip; a deflated (np.savez_compressed) member is streamed.
(b) ``layout: per_galaxy`` -- the authors' layout.  ``stamp_dir``: one ``.npy`` stamp per
    galaxy, named by ``stamp_pattern`` (default ``'{id}.npy'``; format fields ``id`` and
    ``row``), shaped (64, 64, C) for ``axis_order: HWC`` (default) or (C, 64, 64) for ``CHW``;
    ``table``: the label table (CSV, Parquet, FITS or whitespace text); ``train_index`` and
    ``test_index``: ``.npy`` arrays of table row indices that fix the split (disjoint; rows
    in neither are left out, logged); ``pixel_scale_arcsec`` (required).
(c) ``layout: generic`` -- ``images``: a stamp cube, ``.npy`` or FITS (``images_hdu``, default
    the first 4-D HDU), with ``axis_order`` ``NCHW`` (default) or ``NHWC``; ``catalogue``: the
    label table (CSV, Parquet, FITS or text) with one row per stamp, in the same order.
    ``bands`` (default ``ugriz``) lists the bands in the file's order; the band count must
    match.  ``pixel_scale_arcsec`` is required.  Stamps larger or smaller than 64 pixels are
    centre-cropped / zero-padded to 64; ``stamp_size``, when given, must match the file.
(d) ``layout: catalogue`` -- photometry only (no images): ``catalogue`` (CSV, Parquet, FITS or
    whitespace text with a ``#`` header; or a list of such files in the same columns, pooled,
    rows numbered on file after file), the split then drawn by the config; or, instead,
    ``catalogue_train`` and ``catalogue_test``, two files in the same format and columns that
    fix the split (``Source.split``, as the ``per_galaxy`` index arrays do).  The test file's
    rows are numbered after the train file's (a default id is that joined row number), and
    ids must be unique across both files.  ``text_columns`` names the columns of a text file
    whose header is wrong or missing (the SDSS MGS file of MLZ has 19 columns but an 18-name
    header: use ``[zs, u, g, r, i, z, u-g, g-r, r-i, i-z, eu, eg, er, ei, ez, eu-g, eg-r, er-i,
    ei-z]``).  ``bands`` (default ``ugriz``) and ``columns`` mapping ``mag_<band>`` (required),
    ``magerr_<band>`` (optional), ``z_spec``, ``ebv`` (column or explicit constant), ``r_mag``
    (defaults to ``mag_r``), ``field``, ``quality``, ``id``.  MLP features: the magnitudes and
    the adjacent colours (u-g, g-r, ...), float32, named in ``Source.feature_names``.
``layout: synthetic`` reads the raw folder of ``photoz_debias.data.synth``: ``survey: sdss_like``
-> ``npz`` (``sdss.npz``), ``cfhtls_like`` -> ``generic`` (``stamps.npy`` +
``catalogue.parquet``, pixel scale 0.187 arcsec).

File formats of tables are chosen by extension (``.csv``, ``.parquet``/``.pq``, ``.fits``/
``.fit``/``.fits.gz``, anything else whitespace text), or by ``table_format``.
"""

from __future__ import annotations

import logging
import os
import zipfile
from collections.abc import Iterator

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError

log = logging.getLogger(__name__)

NETWORK_SIZE = 64  # stamp side the networks take (pixels)
# Galaxies per cache-resident block: array passes over ~1 MB run about twice as fast as
# passes over a whole 80 MB chunk.
CACHE_BLOCK = 16
NON_DETECTION_ABS = 90.0  # |mag| at or above this is a sentinel (99, -99, -9999), not a magnitude

_NPZ_DEFAULTS = {
    "id": "id",
    "z_spec": "z",
    "r_mag": "dered_petro_r",
    "ebv": "EBV",
    "field": {"constant": "SDSS"},
    "quality": {"constant": "HQ"},
    "z_true": "z_true",
    "photoz_survey": "photoz",
}
_FLOAT64 = ("z_spec", "z_true")
_REQUIRED = ("z_spec", "r_mag", "ebv")


# ----------------------------------------------------------------------------- tables


def read_table(path: str, fmt: str = "auto", *, hdu: int = 1, text_columns=None) -> pd.DataFrame:
    """Read a label table or catalogue into a DataFrame.

    Parameters
    ----------
    path : str
        CSV, Parquet, FITS (binary table) or whitespace-separated text file.
    fmt : {'auto', 'csv', 'parquet', 'fits', 'text'}
        ``auto`` chooses by extension; unknown extensions are read as whitespace text.
    hdu : int
        FITS extension holding the table.
    text_columns : list of str, optional
        Column names of a text file, overriding its ``#`` header line.

    Returns
    -------
    pandas.DataFrame
        One row per galaxy, byte strings decoded, a fresh RangeIndex (the file's row numbers).
    """
    if fmt == "auto":
        low = path.lower()
        if low.endswith(".csv"):
            fmt = "csv"
        elif low.endswith((".parquet", ".pq")):
            fmt = "parquet"
        elif low.endswith((".fits", ".fit", ".fits.gz", ".fts")):
            fmt = "fits"
        else:
            fmt = "text"
    if not os.path.exists(path):
        raise InputError("file not found", file=path, field="table", expected="a readable table")
    try:
        if fmt == "csv":
            df = pd.read_csv(path)
        elif fmt == "parquet":
            df = pd.read_parquet(path)
        elif fmt == "fits":
            from astropy.table import Table

            t = Table.read(path, hdu=hdu)
            names = [n for n in t.colnames if len(t[n].shape) <= 1]
            df = t[names].to_pandas()
        elif fmt == "text":
            df = _read_text(path, text_columns)
        else:
            raise InputError(f"unknown table format {fmt!r}", file=path, field="table_format",
                             expected="auto, csv, parquet, fits or text")
    except InputError:
        raise
    except Exception as exc:  # the readers raise many types for a damaged file
        raise InputError(f"cannot read table ({type(exc).__name__}: {exc})", file=path,
                         field="table", expected=f"a readable {fmt} table") from exc
    for c in df.columns:
        if df[c].dtype == object and len(df) and isinstance(df[c].iloc[0], bytes):
            df[c] = df[c].str.decode("ascii").str.strip()
    return df.reset_index(drop=True)


def _read_text(path, text_columns):
    with open(path) as f:
        first = f.readline()
    body = pd.read_csv(path, sep=r"\s+", comment="#", header=None)
    if text_columns is not None:
        names = list(text_columns)
    elif first.startswith("#"):
        names = first.lstrip("#").split()
    else:
        return pd.read_csv(path, sep=r"\s+")
    if len(names) != body.shape[1]:
        raise InputError(
            f"header names {len(names)} columns but the rows have {body.shape[1]}",
            file=path, row=0, field="text_columns",
            expected="text_columns in the config listing every column in order")
    body.columns = names
    return body


# ----------------------------------------------------------------------------- mapping


def _resolve_mapping(raw: pd.DataFrame, cfg: dict, defaults: dict, bands, file: str,
                     mags_required: bool) -> tuple[pd.DataFrame, dict]:
    """Standard table from a raw one, following ``columns`` over the layout's defaults."""
    user = dict(cfg.get("columns") or {})
    known = {"id", "z_spec", "r_mag", "ebv", "field", "quality", "z_true", "photoz_survey"}
    known |= {f"mag_{b}" for b in bands} | {f"magerr_{b}" for b in bands}
    unknown = set(user) - known
    if unknown:
        raise InputError(f"unknown column mapping key(s) {sorted(unknown)}", file=file,
                         field="columns", expected=f"keys among {sorted(known)}")
    out = pd.DataFrame(index=raw.index)
    used = {}
    order = ["id", "z_spec", "ebv", "field", "quality"]
    order += [f"mag_{b}" for b in bands] + [f"magerr_{b}" for b in bands]
    order += ["r_mag", "z_true", "photoz_survey"]
    for name in order:
        explicit = name in user
        spec = user[name] if explicit else defaults.get(name, name)
        if isinstance(spec, dict):
            if set(spec) != {"constant"}:
                raise InputError(f"bad mapping {spec!r}", file=file, field=name,
                                 expected="a column name or {constant: value}")
            out[name] = spec["constant"]
            used[name] = spec
            continue
        if spec not in raw.columns:
            if name == "r_mag" and "mag_r" in out:
                out[name] = out["mag_r"]
                used[name] = used["mag_r"]
                continue
            if explicit or name in _REQUIRED or (mags_required and name.startswith("mag_")):
                hint = ""
                if name == "ebv":
                    hint = ("; E(B-V) is never assumed: map it with columns.ebv, or set "
                            "columns.ebv: {constant: 0.0} explicitly")
                raise InputError(f"missing column {spec!r} for {name}{hint}", file=file,
                                 field=spec, expected=f"one of the columns {list(raw.columns)}")
            if name in ("field", "quality"):
                const = "ALL" if name == "field" else "HQ"
                log.info("%s: no %s column; every galaxy gets %s=%r", file, name, name, const)
                out[name] = const
                used[name] = {"constant": const}
            elif name == "id":
                out[name] = raw.index.to_numpy(np.int64)
                used[name] = "row index"
            continue
        out[name] = _typed(raw[spec], name, spec, file, raw)
        used[name] = spec
    return out, used


def _typed(col: pd.Series, name: str, src: str, file: str, raw: pd.DataFrame) -> pd.Series:
    """A column converted to its standard type; the first unparsable entry is reported."""
    if name in ("field", "quality"):
        s = col.astype(str).str.strip()
        if name == "quality":
            s = s.str.upper()
            bad = ~s.isin(["HQ", "LR"])
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                raise InputError(f"quality {s.iloc[i]!r}", file=file, row=int(col.index[i]),
                                 field=src, expected="HQ or LR")
        return s
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        num = pd.to_numeric(col, errors="coerce")
        bad = num.isna() & col.notna() | pd.api.types.is_bool_dtype(col)
        if bad.any():
            i = int(np.flatnonzero(np.asarray(bad))[0])
            raise InputError(f"mistyped value {col.iloc[i]!r} in column of dtype {col.dtype}",
                             file=file, row=int(col.index[i]), field=src, expected="a number")
        col = num
    if name == "id":
        v = col.to_numpy(np.float64)
        bad = ~np.isfinite(v) | (v != np.round(v))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"id {col.iloc[i]!r} is not an integer", file=file,
                             row=int(col.index[i]), field=src, expected="integer ids")
        return col.astype(np.int64)
    return col.astype(np.float64 if name in _FLOAT64 else np.float32)


def _check_ids(table: pd.DataFrame, file: str, src):
    ids = table["id"].to_numpy()
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = ids[rows[0]]
        same = rows[ids[rows] == first]
        raise InputError(
            f"duplicate id {first} (rows {', '.join(str(int(table.index[r])) for r in same[:5])});"
            f" {int(dup.sum())} rows share an id", file=file, row=int(table.index[same[-1]]),
            gal_id=int(first), field=src, expected="unique ids")


def _non_detections(table: pd.DataFrame, bands, policy: str, file: str, used: dict) -> np.ndarray:
    """Boolean keep-mask after the non-detection policy (``error`` raises, ``drop`` drops,
    ``flag`` keeps the galaxy with the non-detected magnitudes set to NaN)."""
    if policy not in ("error", "drop", "flag"):
        raise InputError(f"non_detection {policy!r}", file=file, field="non_detection",
                         expected="error, drop or flag")
    bad = np.zeros(len(table), bool)
    first = None
    for b in bands:
        c = f"mag_{b}"
        if c not in table:
            continue
        m = table[c].to_numpy(np.float64)
        nd = ~np.isfinite(m) | (np.abs(m) >= NON_DETECTION_ABS)
        if nd.any() and first is None:
            first = (int(np.flatnonzero(nd)[0]), c)
        bad |= nd
    if first is not None and policy == "error":
        i, c = first
        raise InputError(
            f"non-detection {c} = {table[c].iloc[i]} "
            f"({int(bad.sum())} galaxies have a non-detection)",
            file=file, row=int(table.index[i]), gal_id=int(table["id"].iloc[i]),
            field=used[c] if isinstance(used.get(c), str) else c,
            expected="finite magnitudes with |m| < 90; or set non_detection: drop (leave such galaxies out) "
                     "or non_detection: flag (keep them with NaN magnitudes)")
    if bad.any() and policy == "flag":
        for b in bands:
            c = f"mag_{b}"
            if c in table:
                m = table[c].to_numpy(np.float64)
                nd = ~np.isfinite(m) | (np.abs(m) >= NON_DETECTION_ABS)
                table.loc[nd, c] = np.nan
        log.info("%s: %d galaxies have a non-detected magnitude, kept with NaN there "
                 "(non_detection: flag)", file, int(bad.sum()))
        return np.ones(len(table), bool)
    if bad.any():
        log.info("%s: dropped %d galaxies with a non-detection (non_detection: drop)",
                 file, int(bad.sum()))
    return ~bad


def validate_labels(table: pd.DataFrame, *, z_range, r_range, file: str, columns=None) -> None:
    """Reject galaxies whose labels are unusable.

    Parameters
    ----------
    table : pandas.DataFrame
        Standard columns (``id``, ``z_spec``, ``r_mag``, ``ebv``); index = source row.
    z_range, r_range : (float, float)
        Closed intervals of valid spectroscopic redshift and dereddened r magnitude (mag).
        A NaN or negative r is always rejected (the authors replaced it by max(r); we reject).
    file : str
        The label file, named in the error.
    columns : dict, optional
        Standard name -> source column, to name the source column in the error.

    Raises
    ------
    InputError
        At the first offending galaxy, with its row, id and column.
    """
    columns = columns or {}
    if len(table) == 0:
        raise InputError("no galaxies", file=file, field="z_spec", expected="at least one galaxy")
    checks = [("z_spec", z_range, "redshift"), ("r_mag", r_range, "magnitude"),
              ("ebv", None, "E(B-V)")]
    for name, rng, what in checks:
        v = table[name].to_numpy(np.float64)
        bad = ~np.isfinite(v)
        expect = "a finite value"
        if name == "r_mag":
            bad |= v < 0
            expect = "a finite, non-negative magnitude"
        if rng is not None:
            lo, hi = float(rng[0]), float(rng[1])
            bad |= (v < lo) | (v > hi)
            expect += f" in [{lo}, {hi}]"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            src = columns.get(name, name)
            raise InputError(f"{what} {name} = {v[i]} ({int(bad.sum())} galaxies fail this check)",
                             file=file, row=int(table.index[i]), gal_id=int(table["id"].iloc[i]),
                             field=src if isinstance(src, str) else name, expected=expect)


# ----------------------------------------------------------------------------- images


class _RowReader:
    """Rows ``[i0, i1)`` of a C-ordered array stored at a byte offset in a file.

    Reads with ``readinto`` rather than a memory map so that pages already processed are not
    held as resident memory: the peak RSS stays at one chunk whatever the cube size.
    """

    def __init__(self, path, offset, dtype, shape, member=None):
        self.path, self.offset, self.dtype, self.shape = path, offset, np.dtype(dtype), shape
        self.row_bytes = int(np.prod(shape[1:])) * self.dtype.itemsize
        self.member = member  # deflated npz member: streamed sequentially
        self._stream = None
        self._pos = 0

    def read(self, i0: int, i1: int) -> np.ndarray:
        out = np.empty((i1 - i0,) + tuple(self.shape[1:]), self.dtype)
        buf = memoryview(out.reshape(-1).view(np.uint8))
        if self.member is None:
            with open(self.path, "rb") as f:
                f.seek(self.offset + i0 * self.row_bytes)
                got = f.readinto(buf)
        else:
            if self._stream is None or i0 < self._pos:
                self._open_member()
            self._skip((i0 - self._pos) * self.row_bytes)
            got = 0
            while got < len(buf):
                n = self._stream.readinto(buf[got:])
                if not n:
                    break
                got += n
            self._pos = i0 + got // self.row_bytes
        if got != len(buf):
            row = i0 + got // self.row_bytes
            raise InputError(f"file is truncated: galaxy rows {row}..{i1 - 1} missing",
                             file=self.path, row=row, field="images",
                             expected=f"{self.shape[0]} complete stamps")
        return out

    def _open_member(self):
        if self._stream is not None:
            self._stream.close()
            self._zip.close()
        self._zip = zipfile.ZipFile(self.path)
        self._stream = self._zip.open(self.member)
        _npy_header(self._stream, self.path, "images")
        self._pos = 0

    def _skip(self, nbytes):
        while nbytes > 0:
            step = min(nbytes, 1 << 24)
            got = len(self._stream.read(step))
            if got == 0:
                break
            nbytes -= got


def _npy_header(f, file, field):
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=1 << 20)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=1 << 20)
    except Exception as exc:
        raise InputError(f"not a readable .npy array ({exc})", file=file, row=0, field=field,
                         expected="a .npy array") from exc
    return shape, fortran, dtype


def _open_npy(path: str) -> tuple[_RowReader, tuple]:
    if not os.path.exists(path):
        raise InputError("file not found", file=path, field="images", expected="a stamp cube")
    with open(path, "rb") as f:
        shape, fortran, dtype = _npy_header(f, path, "images")
        offset = f.tell()
    size = os.path.getsize(path)
    reader = _RowReader(path, offset, dtype, shape)
    _check_complete(path, shape, reader.row_bytes, size - offset, "images")
    if fortran:
        raise InputError("Fortran-ordered array", file=path, row=0, field="images",
                         expected="a C-ordered cube (np.save of a C-contiguous array)")
    return reader, shape


def _check_complete(path, shape, row_bytes, have, field):
    n = shape[0] if shape else 0
    if have < n * row_bytes:
        row = have // row_bytes
        raise InputError(f"file is truncated: it holds {row} complete stamps of the {n} its "
                         f"header declares; galaxy rows {row}..{n - 1} missing",
                         file=path, row=int(row), field=field, expected=f"{n} complete stamps")


def _open_npz_member(path: str, key: str) -> tuple[_RowReader, tuple]:
    member = key + ".npy"
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise InputError("file not found", file=path, field=key, expected="an .npz archive")
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"corrupt or truncated .npz ({exc}); no galaxy can be read", file=path,
                         field=key, expected="a complete .npz archive (np.savez)") from exc
    with zf:
        if member not in zf.namelist():
            raise InputError(f"no member {member!r} (members: {zf.namelist()})", file=path,
                             field=key, expected=f"an array saved as {key}=...")
        info = zf.getinfo(member)
        with zf.open(member) as m:
            shape, fortran, dtype = _npy_header(m, path, key)
            header_len = m.tell()
    if fortran:
        raise InputError("Fortran-ordered array", file=path, row=0, field=key,
                         expected="a C-ordered cube")
    row_bytes = int(np.prod(shape[1:])) * np.dtype(dtype).itemsize
    _check_complete(path, shape, row_bytes, info.file_size - header_len, key)
    if info.compress_type == zipfile.ZIP_STORED:
        # The local header's extra field can differ from the central directory's (zip64), so
        # the data offset is read from the local header itself.
        with open(path, "rb") as f:
            f.seek(info.header_offset)
            local = f.read(30)
            if len(local) < 30 or local[:4] != b"PK\x03\x04":
                raise InputError("corrupt .npz member header", file=path, field=key,
                                 expected="a complete .npz archive")
            n_name = int.from_bytes(local[26:28], "little")
            n_extra = int.from_bytes(local[28:30], "little")
        offset = info.header_offset + 30 + n_name + n_extra + header_len
        if os.path.getsize(path) < offset + shape[0] * row_bytes:
            _check_complete(path, shape, row_bytes, os.path.getsize(path) - offset, key)
        return _RowReader(path, offset, dtype, shape), shape
    return _RowReader(path, None, dtype, shape, member=member), shape


class _FitsReader:
    def __init__(self, path, hdu):
        from astropy.io import fits

        if not os.path.exists(path):
            raise InputError("file not found", file=path, field="images",
                             expected="a FITS stamp cube")
        try:
            self.hdul = fits.open(path, memmap=True)
            if hdu is None:
                hdu = next(i for i, h in enumerate(self.hdul)
                           if h.header.get("NAXIS", 0) == 4)
            self.hdu = self.hdul[hdu]
            self.shape = tuple(self.hdu.shape)
        except StopIteration:
            raise InputError("no 4-D image HDU", file=path, field="images",
                             expected="a (N, C, H, W) or (N, H, W, C) cube") from None
        except Exception as exc:
            raise InputError(f"cannot read FITS ({type(exc).__name__}: {exc})", file=path,
                             field="images", expected="a readable FITS cube") from exc
        self.path = path

    def read(self, i0, i1):
        try:
            # .section reads only these rows from disk, unlike .data[i0:i1] on a scaled HDU.
            return np.asarray(self.hdu.section[i0:i1], dtype=np.float32)
        except Exception as exc:
            raise InputError(f"cannot read stamps ({type(exc).__name__}: {exc})",
                             file=self.path, row=i0, field="images",
                             expected="a complete FITS cube") from exc


def _to_nchw(stamps: np.ndarray, axis_order: str) -> np.ndarray:
    if axis_order in ("NHWC", "HWC"):
        return np.moveaxis(stamps, -1, -3)
    return stamps


def _crop_pad(images: np.ndarray, size: int = NETWORK_SIZE) -> np.ndarray:
    """Centre crop or zero-pad the last two axes to ``size`` pixels."""
    h, w = images.shape[-2:]
    if (h, w) == (size, size):
        return images
    out = np.zeros(images.shape[:-2] + (size, size), images.dtype)
    # Crop and pad offsets so that the stamp centre stays at pixel (size // 2, size // 2).
    sy, dy = max(0, (h - size) // 2), max(0, (size - h) // 2)
    sx, dx = max(0, (w - size) // 2), max(0, (size - w) // 2)
    ny, nx = min(h, size), min(w, size)
    out[..., dy:dy + ny, dx:dx + nx] = images[..., sy:sy + ny, sx:sx + nx]
    return out


# ----------------------------------------------------------------------------- the source


class Source:
    """An opened input: the label table in memory, the stamps streamed.

    Attributes
    ----------
    n : int
        Number of galaxies ingested (after ``non_detection: drop`` and the split arrays).
    bands : tuple of str
        Band names in channel order.
    pixel_scale : float or None
        arcsec per pixel (None in catalogue mode).
    mode : {'images', 'catalogue'}
    table : pandas.DataFrame
        Standard columns (module docstring), index = source row.
    split : numpy.ndarray of uint8 or None
        0 train / 1 test when the layout fixes the split (``per_galaxy``; ``catalogue`` with
        ``catalogue_train`` / ``catalogue_test``), else None.
    feature_names : list of str or None
        Catalogue mode: the MLP features, columns of the chunk tables.
    description : str
        Layout and files, for provenance.
    columns : dict
        Standard name -> source column (or constant) actually used.
    table_file, image_file : str
        The files named in error messages.
    """

    def __init__(self, *, table, bands, pixel_scale, mode, description, columns, table_file,
                 image_file=None, read_rows=None, n_channels=None, axis_order="NCHW",
                 split=None, feature_names=None):
        self.table = table
        self.n = len(table)
        self.bands = tuple(bands)
        self.pixel_scale = pixel_scale
        self.mode = mode
        self.description = description
        self.columns = columns
        self.table_file = table_file
        self.image_file = image_file
        self.split = split
        self.feature_names = feature_names
        self.n_channels = n_channels
        self._read_rows = read_rows  # (src_rows: ndarray of consecutive-ish rows) -> stamps
        self._axis_order = axis_order

    def iter_chunks(self, chunk_size: int = 1024
                    ) -> Iterator[tuple[np.ndarray | None, pd.DataFrame]]:
        """Yield ``(images, table)`` per chunk of at most ``chunk_size`` galaxies.

        ``images`` is float32 (n, C, 64, 64), raw pixels (no divisor, no Eq. 1), or None in
        catalogue mode; ``table`` the chunk's rows of :attr:`table`.  Stamps are checked for
        shape and for NaN/inf pixels; the first bad galaxy raises :class:`InputError`.
        """
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        rows = self.table.index.to_numpy()
        for i0 in range(0, self.n, chunk_size):
            part = self.table.iloc[i0:i0 + chunk_size]
            if self.mode == "catalogue":
                yield None, part
                continue
            images = self._images(rows[i0:i0 + chunk_size], part)
            yield images, part

    def _images(self, src_rows, part):
        raw = self._read_rows(src_rows)
        if raw.ndim != 4:
            raise InputError(f"stamps of shape {raw.shape[1:]}", file=self.image_file,
                             row=int(src_rows[0]), field="images", expected="3-D stamps")
        img = _to_nchw(raw, self._axis_order)
        if img.shape[1] != self.n_channels:
            raise InputError(f"{img.shape[1]} bands", file=self.image_file, row=int(src_rows[0]),
                             field="images",
                             expected=f"{self.n_channels} bands ({''.join(self.bands)})")
        img = _crop_pad(np.ascontiguousarray(img, dtype=np.float32))
        for b0 in range(0, len(img), CACHE_BLOCK):
            block = img[b0:b0 + CACHE_BLOCK]
            if np.isfinite(block).all():
                continue
            finite = np.isfinite(block).all(axis=(1, 2, 3))
            j = b0 + int(np.flatnonzero(~finite)[0])
            nbad = int((~np.isfinite(img[j])).sum())
            raise InputError(f"{nbad} NaN/inf pixels", file=self.image_file, row=int(src_rows[j]),
                             gal_id=int(part["id"].iloc[j]), field="images",
                             expected="finite pixel values")
        return img


def _rows_reader(reader):
    """Stamps for sorted source rows: one contiguous read per chunk, then a selection."""

    def read(src_rows):
        lo, hi = int(src_rows[0]), int(src_rows[-1]) + 1
        block = reader.read(lo, hi)
        if hi - lo == len(src_rows):
            return block
        return block[src_rows - lo]

    return read


def _path(cfg, key, base_dir, default=None):
    p = cfg.get(key, default)
    if p is None:
        raise InputError(f"source config lacks {key!r}", field=key, expected="a file path")
    p = os.fspath(p)
    return p if base_dir is None or os.path.isabs(p) else os.path.join(base_dir, p)


def _bands(cfg):
    b = cfg.get("bands", "ugriz")
    return tuple(b) if isinstance(b, str) else tuple(str(x) for x in b)


def _finish_table(raw, cfg, defaults, bands, file, mags_required=False):
    if len(raw) == 0:
        raise InputError("no galaxies (empty table)", file=file, field="z_spec",
                         expected="at least one galaxy")
    table, used = _resolve_mapping(raw, cfg, defaults, bands, file, mags_required)
    _check_ids(table, file, used.get("id", "id") if isinstance(used.get("id"), str) else "id")
    keep = _non_detections(table, bands, cfg.get("non_detection", "error"), file, used)
    return table, used, keep


def open_source(source_cfg: dict, base_dir: str | None = None) -> Source:
    """Open a raw input described by ``source_cfg`` (layouts in the module docstring).

    Parameters
    ----------
    source_cfg : dict
        The dataset's ``source`` block: ``layout`` (``npz``, ``per_galaxy``, ``generic``,
        ``catalogue`` or ``synthetic``) and the layout's keys.
    base_dir : str, optional
        Folder that relative paths are relative to (the raw folder for ``synthetic``).

    Returns
    -------
    Source
        Validated label table; images streamed by :meth:`Source.iter_chunks`.

    Raises
    ------
    InputError
        Missing, unreadable or truncated files, missing or mistyped columns, duplicate ids,
        non-detections, wrong stamp shape or band count, empty input.
    """
    cfg = dict(source_cfg)
    layout = cfg.get("layout")
    if layout == "synthetic":
        # Non-detected magnitudes (99, as survey catalogues write them) are kept as NaN: in
        # the deep fields faint high-z galaxies drop out of u (the Lyman break), and about one
        # in 20,000 SDSS-like galaxies is too faint in u (survey seed 21). The magnitudes only
        # feed the kNN peer and the catalogue; the images and r (the selection band) are there.
        if cfg.get("survey") == "sdss_like":
            cfg = {"layout": "npz", "path": "sdss.npz", "non_detection": "flag",
                   **{k: v for k, v in cfg.items() if k in ("columns",)}}
        else:
            cfg = {"layout": "generic", "images": "stamps.npy", "catalogue": "catalogue.parquet",
                   "axis_order": "NCHW", "pixel_scale_arcsec": 0.187, "non_detection": "flag",
                   **{k: v for k, v in cfg.items() if k in ("columns",)}}
        layout = cfg["layout"]
    openers = {"npz": _open_npz, "per_galaxy": _open_per_galaxy, "generic": _open_generic,
               "catalogue": _open_catalogue}
    if layout not in openers:
        raise InputError(f"unknown layout {layout!r}", field="layout",
                         expected=f"one of {sorted(openers) + ['synthetic']}")
    return openers[layout](cfg, base_dir)


def _open_npz(cfg, base_dir):
    path = _path(cfg, "path", base_dir, "sdss.npz")
    bands = _bands(cfg)
    axis = cfg.get("axis_order", "NHWC")
    cube_key, labels_key = cfg.get("cube_key", "cube"), cfg.get("labels_key", "labels")
    reader, shape = _open_npz_member(path, cube_key)
    try:
        with np.load(path, allow_pickle=False) as z:
            labels = z[labels_key]
    except KeyError:
        raise InputError(f"no member {labels_key!r}", file=path, field=labels_key,
                         expected="a structured label array") from None
    except Exception as exc:
        raise InputError(f"cannot read labels ({type(exc).__name__}: {exc})", file=path,
                         field=labels_key, expected="a structured label array") from exc
    if labels.dtype.names is None:
        raise InputError(f"labels of dtype {labels.dtype}", file=path, field=labels_key,
                         expected="a structured array with fields z, EBV, dered_petro_r")
    raw = pd.DataFrame({n: labels[n] for n in labels.dtype.names if labels[n].ndim == 1})
    defaults = dict(_NPZ_DEFAULTS)
    for b in bands:
        defaults[f"mag_{b}"] = f"dered_petro_{b}"
    table, used, keep = _finish_table(raw, cfg, defaults, bands, path)
    _check_stamp_shape(shape, len(table), axis, bands, path, cube_key, cfg)
    return Source(table=table[keep], bands=bands,
                  pixel_scale=float(cfg.get("pixel_scale_arcsec", 0.396)), mode="images",
                  description=f"npz {path} (cube {cube_key!r} {shape}, labels {labels_key!r})",
                  columns=used, table_file=path, image_file=path,
                  read_rows=_rows_reader(reader), n_channels=len(bands), axis_order=axis)


def _check_stamp_shape(shape, n_table, axis, bands, path, field, cfg):
    if axis not in ("NCHW", "NHWC"):
        raise InputError(f"axis_order {axis!r}", file=path, field="axis_order",
                         expected="NCHW or NHWC")
    if len(shape) != 4:
        raise InputError(f"cube of shape {shape}", file=path, row=0, field=field,
                         expected=f"a 4-D cube in {axis} order")
    c = shape[1] if axis == "NCHW" else shape[3]
    h, w = (shape[2], shape[3]) if axis == "NCHW" else (shape[1], shape[2])
    if c != len(bands):
        raise InputError(f"cube of shape {shape} has {c} bands", file=path, row=0, field=field,
                         expected=f"{len(bands)} bands ({''.join(bands)}) on the {axis} C axis")
    size = cfg.get("stamp_size")
    if h != w or (size is not None and h != int(size)):
        raise InputError(f"stamps of {h}x{w} pixels", file=path, row=0, field=field,
                         expected=f"square stamps of {size or h} pixels")
    if shape[0] != n_table:
        raise InputError(f"the cube holds {shape[0]} stamps but the label table {n_table} rows",
                         file=path, row=min(shape[0], n_table), field=field,
                         expected="one stamp per table row")


def _open_generic(cfg, base_dir):
    img_path = _path(cfg, "images", base_dir)
    cat_path = _path(cfg, "catalogue", base_dir)
    bands = _bands(cfg)
    axis = cfg.get("axis_order", "NCHW")
    if "pixel_scale_arcsec" not in cfg:
        raise InputError("source config lacks pixel_scale_arcsec", file=img_path,
                         field="pixel_scale_arcsec", expected="the pixel scale in arcsec")
    if img_path.lower().endswith((".fits", ".fit", ".fits.gz", ".fts")):
        reader = _FitsReader(img_path, cfg.get("images_hdu"))
        shape = reader.shape
    else:
        reader, shape = _open_npy(img_path)
    raw = read_table(cat_path, cfg.get("table_format", "auto"), hdu=cfg.get("table_hdu", 1),
                     text_columns=cfg.get("text_columns"))
    table, used, keep = _finish_table(raw, cfg, {}, bands, cat_path)
    _check_stamp_shape(shape, len(table), axis, bands, img_path, "images", cfg)
    return Source(table=table[keep], bands=bands, pixel_scale=float(cfg["pixel_scale_arcsec"]),
                  mode="images",
                  description=f"generic cube {img_path} {shape} {axis} + catalogue {cat_path}",
                  columns=used, table_file=cat_path, image_file=img_path,
                  read_rows=_rows_reader(reader), n_channels=len(bands), axis_order=axis)


def _open_per_galaxy(cfg, base_dir):
    stamp_dir = _path(cfg, "stamp_dir", base_dir)
    tab_path = _path(cfg, "table", base_dir)
    pattern = cfg.get("stamp_pattern", "{id}.npy")
    axis = cfg.get("axis_order", "HWC")
    if axis not in ("HWC", "CHW"):
        raise InputError(f"axis_order {axis!r}", file=stamp_dir, field="axis_order",
                         expected="HWC or CHW")
    bands = _bands(cfg)
    if "pixel_scale_arcsec" not in cfg:
        raise InputError("source config lacks pixel_scale_arcsec", file=stamp_dir,
                         field="pixel_scale_arcsec", expected="the pixel scale in arcsec")
    raw = read_table(tab_path, cfg.get("table_format", "auto"), hdu=cfg.get("table_hdu", 1),
                     text_columns=cfg.get("text_columns"))
    table, used, keep = _finish_table(raw, cfg, {}, bands, tab_path)
    split = np.full(len(table), 255, np.uint8)
    for value, key in ((0, "train_index"), (1, "test_index")):
        ipath = _path(cfg, key, base_dir)
        try:
            idx = np.load(ipath, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"cannot read index array ({type(exc).__name__}: {exc})",
                             file=ipath, field=key, expected="a .npy array of row indices") from exc
        if idx.ndim != 1 or not np.issubdtype(idx.dtype, np.integer):
            raise InputError(f"index array of dtype {idx.dtype} and shape {idx.shape}",
                             file=ipath, field=key, expected="a 1-D integer array of row indices")
        out = (idx < 0) | (idx >= len(table))
        if out.any():
            raise InputError(f"row index {idx[out][0]} out of range", file=ipath,
                             row=int(idx[out][0]), field=key,
                             expected=f"indices in [0, {len(table) - 1}]")
        clash = split[idx] != 255
        if clash.any() or len(np.unique(idx)) != len(idx):
            r = int(idx[clash][0]) if clash.any() else int(idx[pd.Series(idx).duplicated()][0])
            raise InputError("row listed twice in the train/test index arrays", file=ipath,
                             row=r, gal_id=int(table["id"].iloc[r]), field=key,
                             expected="disjoint train and test indices")
        split[idx] = value
    unused = split == 255
    if unused.any():
        log.info("%s: %d rows in neither train_index nor test_index are left out",
                 tab_path, int(unused.sum()))
    keep &= ~unused
    table = table[keep]
    n_ch = len(bands)

    def read(src_rows):
        out = np.empty((len(src_rows), n_ch, NETWORK_SIZE, NETWORK_SIZE), np.float32)
        for j, r in enumerate(src_rows):
            gid = int(table.at[r, "id"])
            f = os.path.join(stamp_dir, pattern.format(id=gid, row=int(r)))
            try:
                s = np.load(f, allow_pickle=False)
            except Exception as exc:
                raise InputError(f"cannot read stamp ({type(exc).__name__}: {exc})", file=f,
                                 row=int(r), gal_id=gid, field="stamp",
                                 expected="a readable .npy stamp") from exc
            want = (n_ch, None, None) if axis == "CHW" else (None, None, n_ch)
            ok = s.ndim == 3 and all(w is None or w == d for w, d in zip(want, s.shape))
            ok = ok and s.shape[0 if axis == "HWC" else 1] == s.shape[1 if axis == "HWC" else 2]
            if not ok:
                raise InputError(f"stamp of shape {s.shape}", file=f, row=int(r), gal_id=gid,
                                 field="stamp",
                                 expected=f"a square {axis} stamp with {n_ch} bands")
            s = _to_nchw(s, axis)
            out[j] = _crop_pad(s.astype(np.float32, copy=False))
        return out

    return Source(table=table, bands=bands, pixel_scale=float(cfg["pixel_scale_arcsec"]),
                  mode="images", description=f"per-galaxy stamps {stamp_dir}/{pattern} + "
                  f"table {tab_path} + split arrays", columns=used, table_file=tab_path,
                  image_file=stamp_dir, read_rows=read, n_channels=n_ch, axis_order="NCHW",
                  split=split[keep])


def catalogue_features(table: pd.DataFrame, bands) -> tuple[np.ndarray, list[str]]:
    """MLP features of the catalogue mode: the magnitudes and the adjacent colours.

    Parameters
    ----------
    table : pandas.DataFrame
        With ``mag_<band>`` columns (mag).
    bands : sequence of str
        Band order, e.g. ``'ugriz'``.

    Returns
    -------
    features : numpy.ndarray, float32, shape (N, 2 * len(bands) - 1)
        ``mag_u .. mag_z`` then ``u-g, g-r, ...`` (mag).
    names : list of str
    """
    mags = np.stack([table[f"mag_{b}"].to_numpy(np.float64) for b in bands], axis=1)
    colours = mags[:, :-1] - mags[:, 1:]
    names = [f"mag_{b}" for b in bands] + [f"{a}-{b}" for a, b in zip(bands[:-1], bands[1:])]
    return np.concatenate([mags, colours], axis=1).astype(np.float32), names


def _open_catalogue(cfg, base_dir):
    bands = _bands(cfg)
    pair = ("catalogue_train" in cfg, "catalogue_test" in cfg)
    if any(pair) and ("catalogue" in cfg or not all(pair)):
        raise InputError("source config gives " + ", ".join(
                             k for k in ("catalogue", "catalogue_train", "catalogue_test")
                             if k in cfg), field="catalogue_train",
                         expected="either catalogue (one file, split drawn by the config) or "
                                  "both catalogue_train and catalogue_test (the split)")
    if all(pair):
        entries = [(key, _path(cfg, key, base_dir)) for key in ("catalogue_train", "catalogue_test")]
    else:
        files = cfg.get("catalogue")
        if isinstance(files, (list, tuple)):
            if not files:
                raise InputError("an empty list", field="catalogue",
                                 expected="a file path, or a list of files to pool")
            entries = [("catalogue", _path({"catalogue": f}, "catalogue", base_dir)) for f in files]
        else:
            entries = [("catalogue", _path(cfg, "catalogue", base_dir))]
    keys = [key for key, _ in entries]
    paths, tables, splits, used = [], [], [], {}
    offset = 0
    for value, (key, path) in enumerate(entries):
        raw = read_table(path, cfg.get("table_format", "auto"), hdu=cfg.get("table_hdu", 1),
                         text_columns=cfg.get("text_columns"))
        table, used, keep = _finish_table(raw, cfg, {}, bands, path, mags_required=True)
        # Errors above name the file's own rows; in the joined table the test file's rows
        # (and the default ids, which are rows) are numbered after the train file's.
        table = table[keep].copy()
        table.index = table.index + offset
        if used.get("id") == "row index":
            table["id"] = table["id"] + offset
        offset += len(raw)
        paths.append(path)
        tables.append(table)
        splits.append(np.full(len(table), value, np.uint8))
    table = pd.concat(tables) if len(tables) > 1 else tables[0]
    split = None
    if len(tables) > 1:
        _check_ids(table, " + ".join(paths),
                   used["id"] if isinstance(used.get("id"), str) else "id")
    if all(pair):
        split = np.concatenate(splits)
        for value, path in enumerate(paths):
            if not (split == value).any():
                raise InputError("no galaxies left", file=path, field=keys[value],
                                 expected="at least one galaxy in each of the train and "
                                          "test catalogues")
    feats, names = catalogue_features(table, bands)
    for j, name in enumerate(names[len(bands):], start=len(bands)):
        table[name] = feats[:, j]
    if split is None and len(paths) > 1:
        desc = f"catalogue {' + '.join(paths)} (pooled; the split drawn by the config)"
        table_file = f"{' + '.join(paths)} (rows numbered on, file after file)"
    elif split is None:
        desc, table_file = f"catalogue {paths[0]}", paths[0]
    else:
        desc = f"catalogue train {paths[0]} + test {paths[1]} (the files fix the split)"
        table_file = f"{paths[0]} + {paths[1]} (test rows numbered after the train rows)"
    return Source(table=table, bands=bands, pixel_scale=None, mode="catalogue",
                  description=desc, columns=used, table_file=table_file,
                  feature_names=names, split=split)
