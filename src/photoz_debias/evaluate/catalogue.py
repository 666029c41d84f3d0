"""Writers of the catalogue, the metrics table and the Appendix E tables.

Parquet files carry their documentation: every field has ``unit`` and ``description``
metadata, and the schema metadata holds the same as JSON (``column_docs``) plus, for the
metrics table, a glossary of the metric names (``metric_docs``).  Every file is written to
a temporary file in the destination folder and moved into place with ``os.replace``, so
an interrupted run never leaves a half-written file under the final name.
"""

from __future__ import annotations

import json
import math
import os
from typing import Callable, Mapping, Sequence

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError
from photoz_debias.methods import DESCRIPTIONS, METHODS
from photoz_debias.evaluate.evaluation import APPENDIX_E_METRICS
from photoz_debias.evaluate.table import METRICS_COLUMNS


_ESTIMATES = {
    "zmode": "centre of the most probable redshift bin of the ensemble density (the paper's point estimate, App. B)",
    "zmean": "probability-weighted mean of the bin centres of the ensemble density (App. B)",
    "zmedian": "median of the ensemble density, linear within the bin (App. B)",
    "zerr": "standard deviation of the ensemble density about zmean (bin probabilities at bin centres)",
}

Z = "dimensionless"

#: the metric names of metrics.parquet: (unit, meaning)
METRIC_DOCS = {
    "n_galaxies": ("", "number of test galaxies with a finite estimate"),
    "mean_residual": (
        Z,
        "<dz>, mean of dz = (z_photo - z_spec)/(1 + z_spec) (App. E); error: bootstrap",
    ),
    "sigma_mad": (Z, "1.4826 median|dz - median(dz)| (Eq. 11); error: bootstrap"),
    "outlier_fraction": (
        Z,
        "fraction with |dz| > outlier threshold (App. E), not percent; error: bootstrap",
    ),
    "mean_redshift_residual": (
        Z,
        "(<z_photo> - <z_spec>)/(1 + <z_spec>) (Eq. 12); error: bootstrap",
    ),
    "total_variation": (
        Z,
        "D_TV of normalised z_photo and z_spec histograms (Eq. 10); error: bootstrap",
    ),
    "wasserstein1": (
        Z,
        "1-Wasserstein distance of the z_photo and z_spec histograms (Eq. 13), in redshift; error: bootstrap",
    ),
    "slope_low": (
        Z,
        "A of Eq. 9: slope of <dz> vs z_spec below z_b (per unit redshift); error: fit standard error",
    ),
    "intercept_low": (Z, "B of Eq. 9; error: fit standard error"),
    "slope_high": (
        Z,
        "C of Eq. 9: slope of <dz> vs z_spec above z_b (per unit redshift); error: fit standard error",
    ),
    "intercept_high": (Z, "D of Eq. 9; error: fit standard error"),
    "slope_zphoto": (Z, "slope of <dz> vs z_photo over all z_photo bins (weights n/RMS^2)"),
    "slope_zphoto_high": (Z, "slope of <dz> vs z_photo over the bins above z_b (weights n/RMS^2)"),
    "tv_floor": (
        Z,
        "mean D_TV of simulated z_photo samples without mode collapse; error: their 1-sigma spread",
    ),
    "mean_residual_zspec": (
        Z,
        "per z_spec bin: weighted <dz> (weights 1/sigma_2^2, Eq. 6 on test data); error: 1/sqrt(sum w)",
    ),
    "mean_residual_zphoto": (
        Z,
        "per z_photo bin: plain <dz>; error: RMS of dz in the bin (Sect. 4.3)",
    ),
    "sigma_mad_rmag": (
        Z,
        "per r-magnitude bin (bins in mag): sigma_MAD (Eq. 11); error: bootstrap",
    ),
    "wasserstein1_rmag": (
        Z,
        "per r-magnitude bin (bins in mag): 1-Wasserstein distance (Eq. 13); error: bootstrap",
    ),
    "delta_mean_z_rmag": (Z, "per r-magnitude bin (bins in mag): Eq. 12; error: bootstrap"),
    "delta_mean_z_zphoto": (Z, "per z_photo (tomographic) bin: Eq. 12; error: bootstrap"),
}

_METRICS_COLUMN_DOCS = {
    "method": ("", "method: baseline, step1..step4, knn, survey_photoz, ..."),
    "estimate": ("", "point estimate: zmode, zmean, zmedian, or z for peers"),
    "metric": ("", "metric name; meanings in the schema metadata 'metric_docs'"),
    "bin_lo": ("", "lower bin edge (redshift, or mag for *_rmag metrics); NaN for global metrics"),
    "bin_hi": ("", "upper bin edge (half-open bins); NaN for global metrics"),
    "value": ("", "metric value; unit per metric in 'metric_docs'"),
    "error": (
        "",
        "its uncertainty (bootstrap, fit standard error or RMS; see 'metric_docs'); NaN if none",
    ),
}


def catalogue_columns(methods: Sequence[str] = METHODS) -> dict[str, tuple[str, str]]:
    """Units and meanings of the catalogue columns (docs/architecture.md, "Catalogue").

    Parameters
    ----------
    methods : the methods with ``_zmode``, ``_zmean``, ``_zmedian``, ``_zerr`` columns.

    Returns
    -------
    dict column -> ``(unit, description)``.  Also documents the Step 4 and peer columns and
    the optional columns carried from the stamps file; a catalogue need not have them all.
    """
    docs = {
        "id": ("", "galaxy identifier, unique in the dataset"),
        "z_spec": (Z, "spectroscopic redshift (the label, as measured)"),
        "r_mag": ("mag", "dereddened r-band magnitude"),
        "ebv": ("mag", "Galactic reddening E(B-V)"),
        "mag_row": ("", "magnitude row of the training grid (0.5 mag rows, Table 1)"),
        "field": ("", "survey field: SDSS, DEEP or WIDE"),
        "quality": ("", "spec-z quality: HQ (high quality) or LR (low resolution)"),
    }
    for m in methods:
        name = DESCRIPTIONS.get(m, m)
        for est, what in _ESTIMATES.items():
            docs[f"{m}_{est}"] = (Z, f"{name}: {what}")
    shift = "Step 4 (Sect. 3.2.4): Step 3 {0} minus the Step 4 shift calibrated on Step 3 zmode"
    docs["step4_zmode"] = (Z, shift.format("zmode") + " (averaged over 5 resamplings)")
    docs["step4_zmean"] = (Z, shift.format("zmean") + " (same shift as zmode, Fig. B.1)")
    docs["step4_zmedian"] = (Z, shift.format("zmedian") + " (same shift as zmode, Fig. B.1)")
    docs["step4_shift"] = (Z, "apply mode: the Step 4 shift subtracted from Step 3's estimates; NaN if not calibrated")
    docs["step4_calibrated"] = (
        "",
        "apply mode: whether Step 4 could calibrate the galaxy (r inside the model's magnitude "
        "rows, training galaxies in its (z_photo cell, row)); False: step4_* are NaN",
    )
    docs["knn_z"] = (
        Z,
        "peer: kNN local-linear photo-z on magnitudes and colours (Beck et al. 2016 idea, Sect. 6)",
    )
    docs["survey_photoz"] = (Z, "peer: the survey's own photo-z (e.g. the SDSS photo-z table)")
    docs["z_true"] = (Z, "true redshift of a synthetic galaxy")
    for b in "ugriz":
        docs[f"mag_{b}"] = ("mag", f"dereddened {b}-band magnitude")
    return docs


def _atomic_write(path, write: Callable[[str], None]) -> None:
    """Run ``write(tmp)`` on a temporary file beside ``path``, then move it into place."""
    with atomic_path(path) as tmp:
        write(os.fspath(tmp))


def _documented_table(
    df: pd.DataFrame, column_docs: Mapping[str, tuple[str, str]], extra: Mapping[str, str]
) -> pa.Table:
    missing = [c for c in df.columns if c not in column_docs]
    if missing:
        raise InputError(
            f"columns {missing} have no (unit, description)",
            field="column_docs",
            expected="an entry for every column",
        )
    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        unit, desc = column_docs[f.name]
        fields.append(f.with_metadata({"unit": unit, "description": desc}))
    meta = dict(table.schema.metadata or {})
    meta[b"column_docs"] = json.dumps({c: list(column_docs[c]) for c in df.columns}).encode()
    for k, v in extra.items():
        meta[k.encode()] = v.encode()
    return pa.Table.from_arrays(table.columns, schema=pa.schema(fields, metadata=meta))


def write_catalogue(
    df: pd.DataFrame,
    path,
    column_docs: Mapping[str, tuple[str, str]],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write the catalogue as Parquet with units and meanings in the schema, atomically.

    Parameters
    ----------
    df : one row per test galaxy.
    path : destination ``.parquet``.
    column_docs : column -> ``(unit, description)`` (:func:`catalogue_columns`); every
        column of ``df`` needs an entry.
    metadata : extra schema-level key/value strings (e.g. dataset, config hash).
    """
    table = _documented_table(df, column_docs, metadata or {})
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_column_docs(path) -> dict[str, tuple[str, str]]:
    """The per-field ``(unit, description)`` metadata of a Parquet file."""
    schema = pq.read_schema(path)
    return {
        f.name: (
            (f.metadata or {}).get(b"unit", b"").decode(),
            (f.metadata or {}).get(b"description", b"").decode(),
        )
        for f in schema
    }


def write_metrics(df: pd.DataFrame, path, metadata: Mapping[str, str] | None = None) -> None:
    """Write the tidy metrics table (``metrics.parquet``) atomically, documented.

    Parameters
    ----------
    df : columns exactly ``method, estimate, metric, bin_lo, bin_hi, value, error``.
    path : destination ``.parquet``.
    metadata : extra schema-level key/value strings.
    """
    if list(df.columns) != METRICS_COLUMNS:
        raise InputError(
            f"columns {list(df.columns)}", field="metrics", expected=f"columns {METRICS_COLUMNS}"
        )
    unknown = sorted(set(df["metric"]) - set(METRIC_DOCS))
    if unknown:
        raise InputError(
            f"undocumented metrics {unknown}",
            field="metric",
            expected=f"names among {sorted(METRIC_DOCS)}",
        )
    extra = {
        "metric_docs": json.dumps({k: list(v) for k, v in METRIC_DOCS.items()}),
        **(metadata or {}),
    }
    table = _documented_table(df.reset_index(drop=True), _METRICS_COLUMN_DOCS, extra)
    _atomic_write(path, lambda tmp: pq.write_table(table, tmp))


_TABLE_HEADERS = {
    "mean_residual": "<Δz_{e}>",
    "sigma_mad": "σ_MAD(z_{e})",
    "outlier_fraction": "η{t}(z_{e})",
}


def _format(metric: str, v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if metric == "outlier_fraction":
        return f"{100 * v:.2f}%"
    return f"{v:.5f}"


def appendix_markdown(appendix_df: pd.DataFrame, outlier_threshold: float | None = None) -> str:
    """Markdown of :func:`evaluation.appendix_e_table` in the layout of Tables E.1-E.3.

    ``<dz>`` and ``sigma_MAD`` with 5 decimals, ``eta`` in percent with 2 decimals.
    """
    if "method" not in appendix_df.columns:
        raise InputError(
            "no 'method' column", field="appendix_df", expected="the output of appendix_e_table"
        )
    t = "" if outlier_threshold is None else f">{outlier_threshold:g}"
    cols = [c for c in appendix_df.columns if c != "method"]
    heads, keys = [], []
    for c in cols:
        metric = next((m for m in APPENDIX_E_METRICS if c.startswith(m + "_")), None)
        if metric is None:
            heads.append(c)
        else:
            heads.append(
                _TABLE_HEADERS[metric].format(e=c[len(metric) + 1 :].removeprefix("z"), t=t)
            )
        keys.append(metric)
    lines = ["| method | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(cols)]
    for _, row in appendix_df.iterrows():
        cells = [_format(k or "", float(row[c])) for c, k in zip(cols, keys)]
        lines.append(
            f"| {DESCRIPTIONS.get(row['method'], row['method']).split(' (')[0]} | "
            + " | ".join(cells)
            + " |"
        )
    return "\n".join(lines) + "\n"


def write_tables(
    appendix_df: pd.DataFrame, md_path, csv_path, outlier_threshold: float | None = None
) -> None:
    """Write the Appendix E table as Markdown (formatted) and CSV (raw values), atomically.

    Parameters
    ----------
    appendix_df : output of :func:`photoz_debias.evaluate.evaluation.appendix_e_table`.
    md_path, csv_path : destinations.
    outlier_threshold : threshold shown in the eta headers (0.05 SDSS, 0.15 CFHTLS).
    """
    text = appendix_markdown(appendix_df, outlier_threshold)

    def write_md(tmp):
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)

    _atomic_write(md_path, write_md)
    _atomic_write(csv_path, lambda tmp: appendix_df.to_csv(tmp, index=False, float_format="%.8g"))
