"""Is the synthetic photometry as informative as the real one?  The same kNN photo-z on the real
SDSS MGS and on the synthetic catalogue, whole and balanced, with the colour spreads of both."""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid
from photoz_debias.evaluate.metrics import outlier_fraction, sigma_mad
from photoz_debias.diagnostics.runs import interval_means, intervals


def _photo_z_summary(zp: np.ndarray, zs: np.ndarray, threshold: float) -> dict:
    """sigma_MAD, outlier fraction and the Eq. 9 slopes (A, C) of one photometric estimate,
    fitted like ``evaluation.evaluate_methods`` (SDSS bins; plain bin means: no Eq. 6 curves)."""
    from photoz_debias.evaluate.evaluation import DEFAULT_EVAL_CONFIG
    from photoz_debias.evaluate.metrics import eq9_fit_of_curve, mean_residual_vs_zspec

    cfg = DEFAULT_EVAL_CONFIG
    curve = mean_residual_vs_zspec(zp, zs, None, cfg["zspec_bins"])
    (a, _, cc, _), (ea, _, ec, _) = eq9_fit_of_curve(curve, cfg["z_break"], cfg["min_count"])
    return {"sigma_mad": sigma_mad(zp, zs), "outliers": outlier_fraction(zp, zs, threshold),
            "A": a, "err_A": ea, "C": cc, "err_C": ec}


def photometric_check(mgs, stamps, grid: RedshiftGrid, rows, threshold: int,
                      seeds=(0, 1, 2), k: int = 32, width: float = 0.02,
                      outlier_threshold: float = 0.05, sample_seed: int = 0):
    """The same photometric estimator on the real SDSS MGS and on the synthetic catalogue.

    A kNN photo-z (``peers.knn_photo_z``: local linear fit of z on the magnitudes and colours
    of the ``k`` nearest training galaxies) is trained on one random half of the real MGS
    catalogue (its two files pooled: they are not two draws of one population) and on as
    many synthetic training galaxies (magnitudes of the stamps file's catalogue, drawn from
    its training split), then evaluated on the other half and on as many synthetic test
    galaxies.  Each is trained on the whole training set and on Step 2's near-balanced
    subsets (``balance.balanced_subset`` with ``threshold`` per (z bin, row) cell, one draw
    per seed), the same reweighting the CNN's heads get.

    Returns
    -------
    summary : one row per (sample, training): sigma_MAD, outlier fraction, Eq. 9's A and C
        (balanced rows: mean over the seeds' subsets).
    curves : mean dz per z_spec interval of width ``width`` per (sample, training).
    scatter : ``synth.realism.colour_scatter`` of both samples' training galaxies.
    """
    from photoz_debias.debias.balance import balanced_subset
    from photoz_debias.io import read_labels
    from photoz_debias.evaluate.peers import knn_photo_z
    from photoz_debias.data.synth.realism import colour_scatter, load_mgs

    bands = [f"mag_{b}" for b in "ugriz"]
    # the MLZ files are not two draws of one population (g - r < 0.7 for 24% of the .train
    # file's galaxies at z = 0.08-0.14, 14% of the .test file's): pool them, split at random
    pooled = load_mgs(mgs)
    pooled["mag_row"] = rows.row_index(pooled["mag_r"].to_numpy())
    rng = np.random.default_rng(sample_seed)
    order = rng.permutation(len(pooled))
    half = len(pooled) // 2
    real = {"train": pooled.iloc[np.sort(order[:half])].reset_index(drop=True),
            "test": pooled.iloc[np.sort(order[half:])].reset_index(drop=True)}
    lab = read_labels(stamps)
    missing = [b for b in bands if b not in lab]
    if missing:
        raise InputError(f"columns {missing} missing", file=str(stamps),
                         expected="a stamps file with catalogue magnitudes mag_u..mag_z")
    syn_all = lab.rename(columns={"z_spec": "z"})
    syn = {}
    for s, split in (("train", 0), ("test", 1)):
        pool = syn_all[syn_all["split"] == split]
        n = min(len(real[s]), len(pool))
        syn[s] = pool.iloc[np.sort(rng.choice(len(pool), n, replace=False))].reset_index(drop=True)
    edges = intervals(0.3, width)
    summary, curves = [], []
    for name, d in (("real SDSS MGS", real), ("synthetic", syn)):
        tr, te = d["train"], d["test"]
        zs = te["z"].to_numpy(np.float64)
        xb, zb_ = tr[bands].to_numpy(np.float64), tr["z"].to_numpy(np.float64)
        xt = te[bands].to_numpy(np.float64)
        cells = grid.bin_index(zb_), tr["mag_row"].to_numpy(np.int64)
        fits = {"whole training set": [np.arange(len(tr))],
                "balanced subsets": [balanced_subset(*cells, threshold, np.random.default_rng(s))
                                     for s in seeds]}
        for training, subsets in fits.items():
            zps = [knn_photo_z(xb[idx], zb_[idx], xt, k=k) for idx in subsets]
            rows_ = [_photo_z_summary(zp, zs, outlier_threshold) for zp in zps]
            summary.append({"sample": name, "training": training, "n_train": len(tr),
                            "n_fit": float(np.mean([len(idx) for idx in subsets])), "n_test": len(te),
                            **{key: float(np.mean([r[key] for r in rows_])) for key in rows_[0]}})
            curves.append(pd.DataFrame({"sample": name, "training": training, "lo": edges[:-1],
                                        "hi": edges[1:], "n_test": np.histogram(zs, edges)[0],
                                        "dz": np.mean([interval_means(zs, (zp - zs) / (1 + zs), edges)
                                                       for zp in zps], axis=0)}))
    scatter = colour_scatter(real["train"], z_col="z").rename(columns={"scatter": "real", "n": "n_real"})
    s2 = colour_scatter(syn["train"], z_col="z")
    scatter["synthetic"], scatter["n_synthetic"] = s2["scatter"].to_numpy(), s2["n"].to_numpy()
    return pd.DataFrame(summary), pd.concat(curves, ignore_index=True), scatter
