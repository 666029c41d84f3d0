"""Label tables of the raw inputs: reading (FITS, Parquet, CSV, text), mapping a source's
columns to the standard ones, typing, ids, non-detections and validation.

The standard columns and the mapping are described in :mod:`photoz_debias.data.ingest`."""

from __future__ import annotations

import logging
import os

import numpy as np
import pandas as pd

from photoz_debias.config_checks import FLUX_ZERO_POINTS, flux_spec_problem
from photoz_debias.errors import InputError

log = logging.getLogger(__name__)


NON_DETECTION_ABS = 90.0  # |mag| at or above this is a sentinel (99, -99, -9999), not a magnitude


_FLOAT64 = ("z_spec", "z_true", "flux")


_REQUIRED = ("z_spec", "r_mag", "ebv")
# Source-config key set by ``ingest.open_source(..., labelled=False)``: the sample is applied
# (a trained model gives its photo-z), so a missing z_spec column is not an error.
Z_SPEC_OPTIONAL = "_z_spec_optional"


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
        Column names of a CSV or text file, in order; the file then has no header line (its
        ``#`` lines are comments).  Refused for Parquet and FITS, which name their columns.

    Notes
    -----
    CSV and whitespace text are read alike: a ``#`` starts a comment (whole lines, or the
    rest of a line), and the header is, in this order, ``text_columns``; the last of the
    ``#`` lines the file starts with (``# id z flux_g ...``, as many catalogues write it);
    or the first line.  A first line that holds only numbers is refused as a header: give
    ``text_columns``.

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
    if text_columns is not None and fmt not in ("csv", "text"):
        raise InputError(f"text_columns given for a {fmt} table", file=path,
                         field="text_columns",
                         expected="text_columns only for CSV and whitespace text tables (a "
                                  f"{fmt} table names its own columns: map them with columns)")
    try:
        if fmt == "csv":
            df = _read_delimited(path, ",", text_columns)
        elif fmt == "parquet":
            df = pd.read_parquet(path)
        elif fmt == "fits":
            from astropy.table import Table

            t = Table.read(path, hdu=hdu)
            names = [n for n in t.colnames if len(t[n].shape) <= 1]
            df = t[names].to_pandas()
        elif fmt == "text":
            df = _read_delimited(path, r"\s+", text_columns)
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


def _read_delimited(path, sep, text_columns):
    """A CSV (``sep=','``) or whitespace text table; header rules in :func:`read_table`."""
    leading = []
    with open(path) as f:
        for line in f:
            if not line.lstrip().startswith("#"):
                break
            leading.append(line)
    kw = {"sep": sep, "comment": "#"}
    if sep == ",":
        kw["skipinitialspace"] = True
    if text_columns is None and not leading:
        body = pd.read_csv(path, **kw)
        if len(body.columns) and all(_is_number(c) for c in body.columns):
            raise InputError(f"the first line {list(body.columns)[:6]} holds only numbers",
                             file=path, field="text_columns",
                             expected="a header line naming the columns, or text_columns in "
                                      "the config listing every column in order")
        return body
    if text_columns is not None:
        names, origin = [str(c) for c in text_columns], "text_columns names"
    else:
        head = leading[-1].lstrip()[1:]
        names = [c.strip() for c in head.split(",")] if sep == "," else head.split()
        origin = "the '#' header names"
    try:
        body = pd.read_csv(path, header=None, **kw)
    except pd.errors.EmptyDataError:
        return pd.DataFrame(columns=names)
    if len(names) != body.shape[1]:
        raise InputError(
            f"{origin} {len(names)} columns but the rows have {body.shape[1]}",
            file=path, field="text_columns",
            expected="text_columns in the config listing every column in order")
    body.columns = names
    return body


def _is_number(text) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def flux_magnitude(flux, zero_point: float) -> np.ndarray:
    """AB magnitudes of fluxes, ``m = zero_point - 2.5 log10(flux)``; a flux that is not
    positive or not finite (a non-detection) gives NaN, which the non-detection policy then
    treats like a 99 magnitude."""
    f = np.asarray(flux, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = zero_point - 2.5 * np.log10(np.where(f > 0, f, np.nan))
    return np.where(np.isfinite(m), m, np.nan)


def resolve_mapping(raw: pd.DataFrame, cfg: dict, defaults: dict, bands, file: str,
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
        if isinstance(spec, dict) and "flux" in spec and (name.startswith("mag_") or name == "r_mag"):
            problem = flux_spec_problem(spec)
            if problem:
                raise InputError(f"bad flux mapping {spec!r}", file=file, field=name,
                                 expected=problem)
            if spec["flux"] not in raw.columns:
                raise InputError(f"missing flux column {spec['flux']!r} for {name}", file=file,
                                 field=spec["flux"],
                                 expected=f"one of the columns {list(raw.columns)}")
            flux = _typed(raw[spec["flux"]], "flux", spec["flux"], file, raw)
            zp = spec.get("zero_point", FLUX_ZERO_POINTS.get(spec.get("unit")))
            out[name] = flux_magnitude(flux, float(zp)).astype(np.float32)
            used[name] = dict(spec)
            continue
        if isinstance(spec, dict):
            if set(spec) != {"constant"}:
                raise InputError(f"bad mapping {spec!r}", file=file, field=name,
                                 expected="a column name or {constant: value}; for a magnitude "
                                          "also {flux: column, unit: nanomaggy} or "
                                          "{flux: column, zero_point: 22.5}")
            out[name] = spec["constant"]
            used[name] = spec
            continue
        if spec not in raw.columns:
            if name == "z_spec" and not explicit and cfg.get(Z_SPEC_OPTIONAL):
                # an applied sample (photo-z wanted, no spectrum): z_spec is stored as NaN
                out[name] = np.nan
                used[name] = "absent (applied sample)"
                continue
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
    if name == "id" and not (pd.api.types.is_numeric_dtype(col)
                             or pd.api.types.is_bool_dtype(col)):
        return _string_ids(col, src, file)
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


def _string_ids(col: pd.Series, src: str, file: str) -> pd.Series:
    """A survey's own text ids (e.g. Legacy Survey ``'DR10_0001_1234'``), kept as ``str``:
    bytes (FITS) decoded, surrounding blanks stripped; an empty or missing id is refused.
    (A CSV column of digits alone is read as integers by the table reader, so ids such as
    ``007`` become 7; a FITS text column keeps them.)"""
    s = col.map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else v)
    missing = s.isna().to_numpy()
    s = s.where(~missing, "").astype(str).str.strip()
    bad = missing | (s == "").to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"empty id ({int(bad.sum())} rows)", file=file, row=int(col.index[i]),
                         field=src, expected="an id in every row")
    return s.astype(object)


def id_value(v):
    """One id as error messages and logs show it: an int, or the string as it is."""
    return v if isinstance(v, str) else int(v)


def check_ids(table: pd.DataFrame, file: str, src):
    ids = table["id"].to_numpy()
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        rows = np.flatnonzero(dup)
        first = ids[rows[0]]
        same = rows[ids[rows] == first]
        raise InputError(
            f"duplicate id {first} (rows {', '.join(str(int(table.index[r])) for r in same[:5])});"
            f" {int(dup.sum())} rows share an id", file=file, row=int(table.index[same[-1]]),
            gal_id=id_value(first), field=src, expected="unique ids")


def non_detections(table: pd.DataFrame, bands, policy: str, file: str, used: dict) -> np.ndarray:
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
        flux = used.get(c, {}).get("flux") if isinstance(used.get(c), dict) else None
        origin = f" (flux column {flux}: not positive)" if flux else ""
        raise InputError(
            f"non-detection {c} = {table[c].iloc[i]}{origin} "
            f"({int(bad.sum())} galaxies have a non-detection)",
            file=file, row=int(table.index[i]), gal_id=id_value(table["id"].iloc[i]),
            field=used[c] if isinstance(used.get(c), str) else flux or c,
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


def validate_labels(table: pd.DataFrame, *, z_range, r_range, file: str, columns=None,
                    labelled: bool = True) -> None:
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
    labelled : bool
        False for an applied sample: z_spec (NaN when absent) is not checked.

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
    if not labelled:
        checks = checks[1:]
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
                             file=file, row=int(table.index[i]), gal_id=id_value(table["id"].iloc[i]),
                             field=src if isinstance(src, str) else name, expected=expect)
