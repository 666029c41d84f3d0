"""Do the claims hold for each trained model alone?  Claims 1-3 for every seed's Baseline and
Steps 2-3 and for their ensemble, which must equal the workflow's own metrics."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from photoz_debias.grid import grids_from_config
from photoz_debias.evaluate.metrics import sigma_mad
from photoz_debias.paths import seed_dir, seed_part_dir, stamps_path
from photoz_debias.diagnostics.runs import finished_part


#: the methods ``seed_scatter`` evaluates per model (Step 4 calibrates the ensemble only)
SEED_METHODS = ("baseline", "step2", "step3b", "step3")


def claims_of_model(metrics: pd.DataFrame) -> dict:
    """The numbers behind the paper's claims 1-3 (``claims.claim_values``) of one metrics
    table (zmode): Baseline's and Step 3's high-z slope C (Eq. 9), the bound |C(Baseline)|/2,
    whether claim 2 holds and by how many standard errors, D_TV (Eq. 10) and sigma_MAD
    (Eq. 11) of both, and Step 2's and Step 3b's C."""
    from photoz_debias.evaluate.claims import claim_values
    from photoz_debias.evaluate.table import get_scalar

    v = claim_values(metrics)
    keep = ("C_baseline", "C_step3", "bound", "claim1", "claim2", "margin2", "tv_baseline",
            "tv_step3", "claim3")
    return {
        **{k: v[k] for k in keep},
        "C_step3b": get_scalar(metrics, "step3b", "slope_high")[0],
        "C_step2": get_scalar(metrics, "step2", "slope_high")[0],
        "sigma_mad_baseline": get_scalar(metrics, "baseline", "sigma_mad")[0],
        "sigma_mad_step3": get_scalar(metrics, "step3", "sigma_mad")[0],
    }


def seed_scatter(config: dict, dataset: str, part: str, root=".", log=None) -> pd.DataFrame:
    """Claims 1-3 for every trained model of the ensemble alone, and for the ensemble.

    The claims' error bars (bootstrap over test galaxies) leave out how much the trained
    models differ. Here each seed's Baseline, Step 2, 3b and 3 densities are rebuilt from its
    checkpoint files (``baseline_test.h5``, ``step1.pt``, the part's head files, the cached
    test representations), evaluated alone on the part's test galaxies with its own Eq. 6
    curves, and reduced with :func:`claims_of_model`; the last row, ``ensemble``, evaluates the
    catalogue's columns (the workflow's ``metrics.parquet`` values). Claim 4 needs Step 4,
    which calibrates the ensemble only, so it is not per model.
    """
    from photoz_debias.debias.steps import rows_of_ids
    from photoz_debias.debias.ensemble import average, estimates_table, seed_test_densities
    from photoz_debias.evaluate.evaluation import evaluate_catalogue
    from photoz_debias.io import read_labels

    ds, cat = finished_part(config, dataset, part, root)
    grid, ext = grids_from_config(ds["grid"])
    labels = read_labels(Path(root, stamps_path(dataset)))
    test_rows = rows_of_ids(labels.loc[labels["split"] == 1, "id"].to_numpy(), cat["id"].to_numpy())
    rows, all_curves = [], []
    for seed in config["ensemble"]["seeds"]:
        sd = Path(root, seed_dir(dataset, ds["net"], seed))
        spd = Path(root, seed_part_dir(dataset, ds["net"], seed, part))
        curves = pd.read_parquet(spd / "error_curves.parquet")
        all_curves.append(curves)
        heads = {m: spd / f"{m}.pt" for m in SEED_METHODS[1:]}
        dens = seed_test_densities(sd / "baseline_test.h5", sd / "step1.pt", sd / "representations.h5",
                                   heads, cat["id"].to_numpy(), test_rows)
        cols = estimates_table("baseline", average([dens["baseline"]]), grid.centres)
        for m in SEED_METHODS[1:]:
            centres = ext.centres if m.startswith("step3") else grid.centres
            est = estimates_table(m, average([dens[m]]), centres)
            cols = pd.concat([cols, est], axis=1)
        one = cat.assign(**{c: cols[c].to_numpy() for c in cols.columns})
        metrics = evaluate_catalogue(one, list(SEED_METHODS), ds["grid"], ds["parts"][part],
                                     [curves], estimates=("zmode",))
        rows.append({"model": f"seed {seed}", **claims_of_model(metrics)})
        if log is not None:
            print(f"seed {seed} evaluated", file=log, flush=True)
    metrics = evaluate_catalogue(cat, list(SEED_METHODS), ds["grid"], ds["parts"][part],
                                 all_curves, estimates=("zmode",))
    rows.append({"model": "ensemble", **claims_of_model(metrics)})
    return pd.DataFrame(rows)
