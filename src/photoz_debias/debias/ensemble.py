"""The five-seed ensembles (Sect. 4.1): average the seeds' densities, then take point
estimates.  Baseline averages its five models; the Steps average only the final densities
of each step (each seed ran its own Step 1 -> 2 -> 3 chain)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.debias.steps import densities_from_heads, rows_of_ids
from photoz_debias.debias.estimates import ensemble_density, point_estimates

ESTIMATES = ("zmode", "zmean", "zmedian", "zerr")


def step_densities(reps: np.ndarray, step1_heads: dict, heads: tuple | None) -> np.ndarray:
    """Eq. 2 densities of one seed's step from cached (N, D) representations.

    ``heads`` = (heads_weight, heads_bias) of Step 2/3, or None for Step 1's own heads; the
    magnitude head is always Step 1's (it stays frozen in Steps 2 and 3).
    """
    w, b = heads if heads is not None else (step1_heads["heads_weight"], step1_heads["heads_bias"])
    return densities_from_heads(reps, w, b, step1_heads["mag_weight"], step1_heads["mag_bias"])


def estimates_table(method: str, p: np.ndarray, centres: np.ndarray) -> pd.DataFrame:
    """Columns ``<method>_zmode, _zmean, _zmedian, _zerr`` of an ensemble density."""
    est = point_estimates(p, centres)
    return pd.DataFrame({f"{method}_{k}": est[k] for k in ESTIMATES})


def average(densities: list[np.ndarray]) -> np.ndarray:
    return ensemble_density(densities).astype(np.float32)


def seed_test_densities(baseline_h5, step1_pt, representations_h5, heads, test_ids: np.ndarray,
                        test_rows: np.ndarray) -> dict[str, np.ndarray]:
    """One seed's densities of the test galaxies ``test_ids``: Baseline's (read from its
    ``baseline_test.h5``), Step 1's, and those of the heads files ``heads`` (method -> path)
    on Step 1's cached representations (rows ``test_rows`` of the test split)."""
    import h5py

    from photoz_debias.io import load_heads, load_step1_heads, read_ids, read_representations

    with h5py.File(baseline_h5, "r") as f:
        out = {"baseline": f["p"][:][rows_of_ids(read_ids(f["id"]), test_ids)]}
    h1 = load_step1_heads(step1_pt)
    reps = read_representations(representations_h5, "test", test_rows)
    out["step1"] = step_densities(reps, h1, None)
    for m, path in heads.items():
        w, b, _ = load_heads(path)
        out[m] = step_densities(reps, h1, (w, b))
    return out
