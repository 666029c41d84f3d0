"""The five-seed ensembles (Sect. 4.1): average the seeds' densities, then take point
estimates.  Baseline averages its five models; the Steps average only the final densities
of each step (each seed ran its own Step 1 -> 2 -> 3 chain)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.debias.steps import densities_from_heads
from photoz_debias.evaluate.estimates import ensemble_density, point_estimates

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
