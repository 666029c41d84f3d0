"""Eqs. 4-8: sigma_1 per magnitude output, error curves and soft-label means, fitted on
Step 2's predictions for the balanced subset (or, for Step 3\\2, on Step 1's predictions
for the part's whole training set)."""

import pandas as pd
from _common import start

from photoz_debias.debias.steps import fit_ids, fit_soft_labels, predict_zphoto, select_subset, training_galaxies
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import load_heads, load_step1_heads, part_mask, read_labels, write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid = RedshiftGrid.from_config(g)
rows = MagnitudeRows(**p.rows)
h1 = load_step1_heads(sm.input.step1)
if p.mode == "step2":
    ids = fit_ids(pd.read_parquet(sm.input.subset))
    w, b, _ = load_heads(sm.input.heads)
else:  # Step 3\2: the part's eligible training galaxies, unbalanced
    labels = read_labels(sm.input.stamps)
    train = labels[labels["split"] == 0].reset_index(drop=True)
    sel = select_subset(
        train["id"].to_numpy(),
        train["z_spec"].to_numpy(),
        train["mag_row"].to_numpy(),
        part_mask(train, p.part),
        grid,
        rows,
        threshold=None,
        subset_size=p.part["subset_size"],
        seed=int(p.seed),
    )
    ids = fit_ids(sel)
    w, b = h1["heads_weight"], h1["heads_bias"]
gal, reps = training_galaxies(sm.input.stamps, sm.input.representations, ids)
z_photo = predict_zphoto(reps, w, b, h1["mag_weight"], h1["mag_bias"], grid)
soft, curves = fit_soft_labels(
    ids, gal["z_spec"].to_numpy(), gal["mag_row"].to_numpy(), z_photo, grid, rows.n_outputs
)
write_parquet(soft, sm.output.soft_labels)
write_parquet(
    pd.DataFrame(
        {"id": ids, "z_spec": gal["z_spec"], "mag_row": gal["mag_row"], "z_photo": z_photo}
    ),
    sm.output.predictions,
)
write_parquet(curves, sm.output.error_curves)
s1 = curves.groupby("output")["sigma1"].first()
log.info("sigma_1 per magnitude output (redshift units): %s", s1.round(5).to_dict())
