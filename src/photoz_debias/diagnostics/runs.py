"""What the diagnostics read of a finished run (its configuration, catalogue and per-seed
folders, found by the results path scheme of :mod:`photoz_debias.paths`), and the z_spec
intervals they tabulate in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.paths import part_file


def intervals(top: float, width: float) -> np.ndarray:
    """Edges of ``width``-wide z intervals from 0 past ``top``."""
    return np.arange(0.0, top + width, width)


def finished_part(config: dict, dataset: str, part: str, root):
    """(dataset config, the part's catalogue) of a finished run;
    a clear error when the dataset, the part or the catalogue is missing."""
    if dataset not in config.get("datasets", {}):
        raise InputError(f"dataset {dataset!r} not in the configuration", field="dataset",
                         expected=" | ".join(config.get("datasets", {})))
    ds = config["datasets"][dataset]
    if part not in ds["parts"]:
        raise InputError(f"part {part!r} not in dataset {dataset!r}", field="part",
                         expected=" | ".join(ds["parts"]))
    cat_path = Path(root, part_file("catalogue.parquet", dataset, ds["net"], part))
    if not cat_path.exists():
        raise InputError(f"{cat_path} not found (run from the run's directory, after the run)",
                         field="catalogue", expected="a finished run of that configuration")
    cat = pd.read_parquet(cat_path)
    return ds, cat


def interval_means(z: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per half-open ``z`` interval of ``edges`` (NaN where empty)."""
    k = np.searchsorted(edges, z, side="right") - 1
    ok = (k >= 0) & (k < len(edges) - 1) & np.isfinite(values)
    n = np.bincount(k[ok], minlength=len(edges) - 1)
    s = np.bincount(k[ok], weights=values[ok], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)
