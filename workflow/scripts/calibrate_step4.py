"""Step 4 (Sect. 3.2.4) on one test sample of the Fig. 9 experiment: the training galaxies,
with their Step 3 estimates, are resampled to the test sample's (z_photo, row) distribution
and the mean (z_photo - z_spec) per (z_photo cell, row) is subtracted; 5 resamplings."""

import pandas as pd
from _common import start

from photoz_debias.debias.calibrate import biased_test_sample, step4_shift
from photoz_debias.grid import grids_from_config
from photoz_debias.io import write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid, ext = grids_from_config(g)
cal = p.calibrate
est = pd.read_parquet(sm.input.estimates)
test = est[est["split"] == 1].reset_index(drop=True)
train = est[est["split"] == 0].reset_index(drop=True)
sample = dict(cal["test_samples"][p.sample])
kind = sample.pop("kind")
idx = biased_test_sample(
    test["z_spec"].to_numpy(), test["r_mag"].to_numpy(), kind, seed=cal["seed"], **sample
)
test = test.iloc[idx].reset_index(drop=True)
shift = step4_shift(
    test["step3_zmode"].to_numpy(),
    test["mag_row"].to_numpy(),
    train["step3_zmode"].to_numpy(),
    train["z_spec"].to_numpy(),
    train["mag_row"].to_numpy(),
    grid.edges,
    # cells on the grid's edges: z_photo (zmode) takes grid centres only
    ext.aligned_edges(p.part["zphoto_cell"], ext.z_min, ext.z_max),
    n_resamplings=cal["n_resamplings"],
    seed=cal["seed"],
)
out = pd.DataFrame({"id": test["id"], "step4_shift": shift})
for e in ("zmode", "zmean", "zmedian"):
    out[f"step4_{e}"] = test[f"step3_{e}"].to_numpy() - shift
write_parquet(out, sm.output[0])
log.info("Step 4 on test sample %r (%s): %d galaxies", p.sample, kind, len(out))
