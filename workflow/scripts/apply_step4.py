"""Apply mode: Step 4 (Sect. 3.2.4) on an applied sample, with the model part's training
galaxies resampled to the sample's own (z_photo, row) distribution; the catalogue."""

import pandas as pd
from _common import start

from photoz_debias.debias.calibrate import calibrate_applied_sample, rows_inside
from photoz_debias.evaluate.catalogue import catalogue_columns, write_catalogue
from photoz_debias.grid import MagnitudeRows, grids_from_config

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
grid, ext = grids_from_config(p.grid)
rows = MagnitudeRows(**p.rows)
cal = p.calibrate
cat = pd.read_parquet(sm.input.estimates)
model = pd.read_parquet(sm.input.model_estimates[0])
train = model[model["split"] == 0]
shift, calibrated = calibrate_applied_sample(
    cat["step3_zmode"].to_numpy(),
    cat["r_mag"].to_numpy(),
    train["step3_zmode"].to_numpy(),
    train["z_spec"].to_numpy(),
    train["mag_row"].to_numpy(),
    rows,
    grid.edges,
    # cells on the grid's edges: z_photo (zmode) takes grid centres only
    ext.aligned_edges(p.part["zphoto_cell"], ext.z_min, ext.z_max),
    n_resamplings=cal["n_resamplings"],
    seed=cal["seed"],
)
for e in ("zmode", "zmean", "zmedian"):
    cat[f"step4_{e}"] = cat[f"step3_{e}"].to_numpy() - shift
cat["step4_shift"] = shift
cat["step4_calibrated"] = calibrated
outside = int((~rows_inside(cat["r_mag"], rows)).sum())
n_bad = int((~calibrated).sum())
if n_bad:
    log.warning(
        "Step 4 cannot calibrate %d of %d applied galaxies (step4_* NaN): %d with r outside "
        "the model's magnitude rows [%g, %g), %d in a (z_photo cell, row) without training "
        "galaxies", n_bad, len(cat), outside, rows.edges[0], rows.edges[-1], n_bad - outside,
    )
write_catalogue(cat, sm.output[0], catalogue_columns(["baseline", "step3"]),
                metadata={"part": sm.wildcards.part, "step4_uncalibrated": str(n_bad),
                          "step4_outside_rows": str(outside)})
log.info("applied catalogue: %d galaxies, %d calibrated by Step 4", len(cat), len(cat) - n_bad)
