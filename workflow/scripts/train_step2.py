"""Step 2 (Sect. 3.2.2): fine-tune Step 1's redshift heads on the balanced subset, on the
cached representations (trunk, FC layers and magnitude head frozen)."""

import pandas as pd
from _common import job_device, start

from photoz_debias.debias.heads import head_settings
from photoz_debias.debias.steps import fit_ids, step2, training_galaxies
from photoz_debias.grid import RedshiftGrid
from photoz_debias.io import load_step1_heads, save_heads

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid = RedshiftGrid.from_config(g)
ids = fit_ids(pd.read_parquet(sm.input.subset))
gal, reps = training_galaxies(sm.input.stamps, sm.input.representations, ids)
h1 = load_step1_heads(sm.input.step1)
w, b, summary = step2(
    reps,
    gal["z_spec"].to_numpy(),
    gal["mag_row"].to_numpy(),
    grid,
    h1["heads_weight"],
    h1["heads_bias"],
    head_settings(p.heads, int(p.seed), device=job_device(sm)),
    log=log.info,
)
save_heads(sm.output[0], w, b, {"grid": dict(g), "step": "step2", "n_train": len(ids)})
log.info("Step 2 done: %s", summary)
