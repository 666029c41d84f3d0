"""Readers for the raw input layouts, streamed in chunks and validated.

Every layout is opened with :func:`open_source`, which returns a :class:`Source`.  A source
holds the whole label table in memory (a few columns per galaxy: small even for 660k
galaxies) and streams the stamp images in chunks, so that a cube of tens of GB is never
loaded whole.  Every problem found in the input raises :class:`photoz_debias.errors.InputError`
naming the file, the galaxy (row and id) and the field.

Standard table columns
----------------------
``id`` int64, or str when the survey's ids are text (unique; the source row number when the
input has no id), ``z_spec`` float64
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
from collections.abc import Iterator

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.data.images import (CACHE_BLOCK, FitsReader, NETWORK_SIZE, check_axis_order,
                                       crop_pad, open_npy, open_npz_member, padding_fraction,
                                       to_nchw)
from photoz_debias.data.tables import (Z_SPEC_OPTIONAL, check_ids, id_value, non_detections,
                                       read_table, resolve_mapping)


log = logging.getLogger(__name__)


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
                             field="images", expected="3-D stamps")
        img = to_nchw(raw, self._axis_order)
        if img.shape[1] != self.n_channels:
            raise InputError(f"{img.shape[1]} bands", file=self.image_file, field="images",
                             expected=f"{self.n_channels} bands ({''.join(self.bands)})")
        img = crop_pad(np.ascontiguousarray(img, dtype=np.float32))
        for b0 in range(0, len(img), CACHE_BLOCK):
            block = img[b0:b0 + CACHE_BLOCK]
            if np.isfinite(block).all():
                continue
            finite = np.isfinite(block).all(axis=(1, 2, 3))
            j = b0 + int(np.flatnonzero(~finite)[0])
            nbad = int((~np.isfinite(img[j])).sum())
            raise InputError(f"{nbad} NaN/inf pixels", file=self.image_file, row=int(src_rows[j]),
                             gal_id=id_value(part["id"].iloc[j]), field="images",
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
    table, used = resolve_mapping(raw, cfg, defaults, bands, file, mags_required)
    check_ids(table, file, used.get("id", "id") if isinstance(used.get("id"), str) else "id")
    keep = non_detections(table, bands, cfg.get("non_detection", "error"), file, used)
    return table, used, keep


def open_source(source_cfg: dict, base_dir: str | None = None, *, labelled: bool = True) -> Source:
    """Open a raw input described by ``source_cfg`` (layouts in the module docstring).

    Parameters
    ----------
    source_cfg : dict
        The dataset's ``source`` block: ``layout`` (``npz``, ``per_galaxy``, ``generic``,
        ``catalogue`` or ``synthetic``) and the layout's keys.
    base_dir : str, optional
        Folder that relative paths are relative to (the raw folder for ``synthetic``).
    labelled : bool
        False for an applied sample (apply mode): the source needs no z_spec column (NaN).

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
    if not labelled:
        cfg[Z_SPEC_OPTIONAL] = True
    openers = {"npz": _open_npz, "per_galaxy": _open_per_galaxy, "generic": _open_generic,
               "catalogue": _open_catalogue}
    if layout not in openers:
        raise InputError(f"unknown layout {layout!r}", field="layout",
                         expected=f"one of {sorted(openers) + ['synthetic']}")
    return openers[layout](cfg, base_dir)


def _open_npz(cfg, base_dir):
    path = _path(cfg, "path", base_dir, "sdss.npz")
    bands = _bands(cfg)
    axis = check_axis_order(cfg.get("axis_order", "NHWC"), "NCHW", path)
    cube_key, labels_key = cfg.get("cube_key", "cube"), cfg.get("labels_key", "labels")
    reader, shape = open_npz_member(path, cube_key, axis.index("N"))
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
                  read_rows=_rows_reader(reader), n_channels=len(bands),
                  axis_order=_galaxy_first(axis))


def _galaxy_first(axis):
    """The axis order of the blocks the row readers return: galaxies first, the others as
    in the file."""
    return "N" + axis.replace("N", "")


def _log_padding(size, file):
    if size < NETWORK_SIZE:
        log.info("%s: stamps of %dx%d pixels are zero-padded to the network's %dx%d: %.0f%% of "
                 "each network input is padding", file, size, size, NETWORK_SIZE, NETWORK_SIZE,
                 100 * padding_fraction(size))
    elif size > NETWORK_SIZE:
        log.info("%s: stamps of %dx%d pixels are centre-cropped to the network's %dx%d", file,
                 size, size, NETWORK_SIZE, NETWORK_SIZE)


def _check_stamp_shape(shape, n_table, axis, bands, path, field, cfg):
    """The cube as a whole (``shape`` in file order, ``axis`` checked) against the table and
    the config; problems of the whole cube name no galaxy."""
    if len(shape) != 4:
        raise InputError(f"cube of shape {shape}", file=path, field=field,
                         expected=f"a 4-D cube in {axis} order")
    n, c, h, w = (shape[axis.index(a)] for a in "NCHW")
    if c != len(bands):
        raise InputError(f"cube of shape {shape} has {c} bands", file=path, field=field,
                         expected=f"{len(bands)} bands ({''.join(bands)}) on the {axis} C axis")
    size = cfg.get("stamp_size")
    if h != w or (size is not None and h != int(size)):
        raise InputError(f"stamps of {h}x{w} pixels", file=path, field=field,
                         expected=f"square stamps of {size or h} pixels")
    if n != n_table:
        raise InputError(f"the cube holds {n} stamps but the label table {n_table} rows",
                         file=path, row=min(n, n_table), field=field,
                         expected="one stamp per table row")
    _log_padding(h, path)


def _open_generic(cfg, base_dir):
    img_path = _path(cfg, "images", base_dir)
    cat_path = _path(cfg, "catalogue", base_dir)
    bands = _bands(cfg)
    axis = check_axis_order(cfg.get("axis_order", "NCHW"), "NCHW", img_path)
    if "pixel_scale_arcsec" not in cfg:
        raise InputError("source config lacks pixel_scale_arcsec", file=img_path,
                         field="pixel_scale_arcsec", expected="the pixel scale in arcsec")
    if img_path.lower().endswith((".fits", ".fit", ".fits.gz", ".fts")):
        reader = FitsReader(img_path, cfg.get("images_hdu"), axis.index("N"))
        shape = reader.shape
    else:
        reader, shape = open_npy(img_path, axis.index("N"))
    raw = read_table(cat_path, cfg.get("table_format", "auto"), hdu=cfg.get("table_hdu", 1),
                     text_columns=cfg.get("text_columns"))
    table, used, keep = _finish_table(raw, cfg, {}, bands, cat_path)
    _check_stamp_shape(shape, len(table), axis, bands, img_path, "images", cfg)
    return Source(table=table[keep], bands=bands, pixel_scale=float(cfg["pixel_scale_arcsec"]),
                  mode="images",
                  description=f"generic cube {img_path} {shape} {axis} + catalogue {cat_path}",
                  columns=used, table_file=cat_path, image_file=img_path,
                  read_rows=_rows_reader(reader), n_channels=len(bands),
                  axis_order=_galaxy_first(axis))


def _open_per_galaxy(cfg, base_dir):
    stamp_dir = _path(cfg, "stamp_dir", base_dir)
    tab_path = _path(cfg, "table", base_dir)
    pattern = cfg.get("stamp_pattern", "{id}.npy")
    axis = check_axis_order(cfg.get("axis_order", "HWC"), "CHW", stamp_dir)
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
                             row=r, gal_id=id_value(table["id"].iloc[r]), field=key,
                             expected="disjoint train and test indices")
        split[idx] = value
    unused = split == 255
    if unused.any():
        log.info("%s: %d rows in neither train_index nor test_index are left out",
                 tab_path, int(unused.sum()))
    keep &= ~unused
    table = table[keep]
    n_ch = len(bands)
    logged = []  # the padding of the first stamp read is logged once

    def read(src_rows):
        out = np.empty((len(src_rows), n_ch, NETWORK_SIZE, NETWORK_SIZE), np.float32)
        for j, r in enumerate(src_rows):
            gid = id_value(table.at[r, "id"])
            f = os.path.join(stamp_dir, pattern.format(id=gid, row=int(r)))
            try:
                s = np.load(f, allow_pickle=False)
            except Exception as exc:
                raise InputError(f"cannot read stamp ({type(exc).__name__}: {exc})", file=f,
                                 row=int(r), gal_id=gid, field="stamp",
                                 expected="a readable .npy stamp") from exc
            ok = (s.ndim == 3 and s.shape[axis.index("C")] == n_ch
                  and s.shape[axis.index("H")] == s.shape[axis.index("W")])
            if not ok:
                raise InputError(f"stamp of shape {s.shape}", file=f, row=int(r), gal_id=gid,
                                 field="stamp",
                                 expected=f"a square {axis} stamp with {n_ch} bands")
            s = to_nchw(s, axis)
            if not logged:
                _log_padding(s.shape[-1], f)
                logged.append(True)
            out[j] = crop_pad(s.astype(np.float32, copy=False))
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
        check_ids(table, " + ".join(paths),
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
