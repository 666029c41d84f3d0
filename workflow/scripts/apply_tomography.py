"""Apply mode: the tomographic n(z) and mean redshift of each z_photo bin of an applied
sample, from the training galaxies Step 4 resampled (photoz_debias.evaluate.tomography)."""

import numpy as np
import pandas as pd
from _common import start

from photoz_debias.evaluate.catalogue import write_catalogue
from photoz_debias.evaluate.tomography import BIN_DOCS, NZ_DOCS, tomographic_nz
from photoz_debias.grid import MagnitudeRows, grids_from_config

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
grid, ext = grids_from_config(p.grid)
cal, tomo = p.calibrate, p.tomography
cat = pd.read_parquet(sm.input.catalogue)
model = pd.read_parquet(sm.input.model_estimates[0])
train = model[model["split"] == 0]
bins, nz = tomographic_nz(
    cat["step3_zmode"].to_numpy(),
    cat["r_mag"].to_numpy(),
    cat["step4_zmode"].to_numpy(),
    train["step3_zmode"].to_numpy(),
    train["z_spec"].to_numpy(),
    train["mag_row"].to_numpy(),
    MagnitudeRows(**p.rows),
    grid.edges,
    ext.aligned_edges(p.part["zphoto_cell"], ext.z_min, ext.z_max),
    tomo["bins"],
    np.append(np.arange(grid.z_min, grid.z_max, tomo["nz_width"]), grid.z_max),
    n_resamplings=cal["n_resamplings"],
    seed=cal["seed"],
    n_bootstrap=tomo["n_bootstrap"],
    bootstrap_seed=cal["seed"],
)
meta = {"part": sm.wildcards.part, "n_from": "resampled training redshifts (Step 4's resamplings)"}
write_catalogue(nz, sm.output.nz, NZ_DOCS, metadata=meta)
write_catalogue(bins, sm.output.bins, BIN_DOCS, metadata=meta)
log.info("tomographic bins:\n%s", bins.to_string(index=False))
