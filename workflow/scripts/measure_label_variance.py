"""Eq. 8 with the scattering variance measured on Step 3b (the default `heads.label_variance:
measured`): Step 3b's zmode for the fit subset gives Eqs. 5-6 error curves, which replace
Eq. 7's sigma_1^2 + sigma_2^2 (see photoz_debias.debias.soft_labels.fit_soft_labels_measured)."""

import pandas as pd
from _common import start

from photoz_debias.debias.steps import predict_zphoto, training_galaxies
from photoz_debias.grid import MagnitudeRows, grids_from_config
from photoz_debias.io import load_heads, load_step1_heads, write_parquet
from photoz_debias.debias.soft_labels import fit_soft_labels_measured

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid, ext = grids_from_config(g)
rows = MagnitudeRows(**p.rows)
table = pd.read_parquet(sm.input.soft_labels)
ids = table["id"].drop_duplicates().to_numpy()
gal, reps = training_galaxies(sm.input.stamps, sm.input.representations, ids)
h1 = load_step1_heads(sm.input.step1)
w, b, _ = load_heads(sm.input.step3b)
z_photo = predict_zphoto(reps, w, b, h1["mag_weight"], h1["mag_bias"], ext)
soft, curves = fit_soft_labels_measured(
    table, gal["z_spec"].to_numpy(), z_photo, gal["mag_row"].to_numpy(), grid, rows.n_outputs
)
write_parquet(soft, sm.output.soft_labels)
write_parquet(curves, sm.output.error_curves)
eq7 = (table["z_star"] - table["z0"]).abs().mean()
measured = (soft["z_star"] - soft["z0"]).abs().mean()
log.info(
    "mean |z* - z0|: %.5f with Eq. 7's variance, %.5f with Step 3b's measured variance "
    "(mean Var %.3g vs %.3g)",
    eq7,
    measured,
    table["var"].mean(),
    soft["var"].mean(),
)
