"""Does Eq. 8's Gaussian scattering model explain Step 2's residuals?  Per z_spec interval, Step 2
on each seed's balanced subset against Eq. C.1's expectation (Appendix C), and Steps 2 and 3b
on the subset and the test set."""

from __future__ import annotations

from pathlib import Path

import warnings

import numpy as np
import pandas as pd

from photoz_debias.grid import grids_from_config
from photoz_debias.paths import seed_dir, seed_part_dir, stamps_path
from photoz_debias.diagnostics.runs import finished_part, interval_means, intervals


def scattering_check(config: dict, dataset: str, part: str, root=".", width: float = 0.02,
                     log=None) -> pd.DataFrame:
    """Does Step 2 scatter the way Eq. 8 models it?  Appendix C's test, per z_spec interval.

    Eq. 8 moves each soft label against the pull it expects from a Gaussian scattering
    profile ``N(z0, sigma_2^2)`` times the balanced subset's n(z) of the galaxy's magnitude
    output; Appendix C (Fig. C.1) compares that expected <dz> with Step 2's actual <dz> on the
    subset.  Here, per interval and averaged over the ensemble seeds (each seed has its own
    subset):

    - ``n_subset``: subset galaxies per seed; ``step2_subset``: Step 2's actual <dz> on them
      (``step2_predictions.parquet``, zmode); ``expected``: Eq. C.1 with the seed's Eq. 6
      curves (``k = 1``); ``miss = step2_subset - expected``: what the Gaussian model leaves
      out, which Eq. 8 therefore cannot correct;
    - ``step2_test`` and ``step3b_test``: the same seeds' models on the test galaxies, and
      ``step3b_subset`` on the subset (its unrotated view): a residual the models also make
      on the galaxies they were trained on is not a train/test difference.

    ``dz = (z_photo - z_spec)/(1 + z_spec)``, zmode throughout.
    """
    from photoz_debias.debias.steps import training_galaxies
    from photoz_debias.debias.ensemble import step_densities
    from photoz_debias.debias.scattering import expected_residuals
    from photoz_debias.io import load_heads, load_step1_heads, read_labels, read_representations

    ds, cat = finished_part(config, dataset, part, root)
    g = ds["grid"]
    grid, ext = grids_from_config(g)
    stamps = Path(root, stamps_path(dataset))
    labels = read_labels(stamps)
    test = labels[labels["split"] == 1].reset_index(drop=True)
    edges = intervals(float(test["z_spec"].max()), width)
    zt = test["z_spec"].to_numpy(np.float64)
    cols = {c: [] for c in ("n_subset", "step2_subset", "expected", "step2_test", "step3b_test",
                            "step3b_subset")}
    for seed in config["ensemble"]["seeds"]:
        sd = Path(root, seed_dir(dataset, ds["net"], seed))
        spd = Path(root, seed_part_dir(dataset, ds["net"], seed, part))
        pred = pd.read_parquet(spd / "step2_predictions.parquet")
        curves = pd.read_parquet(spd / "error_curves.parquet")
        zs = pred["z_spec"].to_numpy(np.float64)
        dz2 = (pred["z_photo"].to_numpy(np.float64) - zs) / (1 + zs)
        exp = expected_residuals(zs, pred["mag_row"].to_numpy(), curves, grid,
                                 (g["extend_left"], g["extend_right"]))
        cols["n_subset"].append(np.histogram(zs, edges)[0].astype(float))
        cols["step2_subset"].append(interval_means(zs, dz2, edges))
        cols["expected"].append(interval_means(zs, exp, edges))
        h1 = load_step1_heads(sd / "step1.pt")
        test_reps = read_representations(sd / "representations.h5", "test")  # the split's order
        ids = pred["id"].drop_duplicates().to_numpy()
        gal, train_reps = training_galaxies(stamps, sd / "representations.h5", ids)
        zg = gal["z_spec"].to_numpy(np.float64)
        for m, centres in (("step2", grid.centres), ("step3b", ext.centres)):
            heads = load_heads(spd / f"{m}.pt")[:2]
            zp = centres[np.argmax(step_densities(test_reps, h1, heads), axis=1)]
            cols[f"{m}_test"].append(interval_means(zt, (zp - zt) / (1 + zt), edges))
            if m == "step3b":
                zp = centres[np.argmax(step_densities(train_reps[:, 0], h1, heads), axis=1)]
                cols["step3b_subset"].append(interval_means(zg, (zp - zg) / (1 + zg), edges))
        if log is not None:
            print(f"seed {seed} evaluated", file=log, flush=True)
    with warnings.catch_warnings():  # an interval empty for every seed stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out = pd.DataFrame({c: np.nanmean(np.vstack(v), axis=0) for c, v in cols.items()})
    out.insert(0, "hi", edges[1:])
    out.insert(0, "lo", edges[:-1])
    out["miss"] = out["step2_subset"] - out["expected"]
    out["n_test"] = np.histogram(zt, edges)[0]
    return out
