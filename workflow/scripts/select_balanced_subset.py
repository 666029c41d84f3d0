"""Step 2's near-balanced subset of one part, for one seed (Sect. 3.2.2, Fig. 4)."""

import numpy as np
from _common import start

from photoz_debias.debias.balance import cell_occupancy
from photoz_debias.debias.steps import select_subset
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import part_mask, read_labels, write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
labels = read_labels(sm.input.stamps)
train = labels[labels["split"] == 0].reset_index(drop=True)
grid, rows = RedshiftGrid.from_config(p.grid), MagnitudeRows(**p.rows)
eligible = part_mask(train, p.part)
subset = select_subset(
    train["id"].to_numpy(),
    train["z_spec"].to_numpy(),
    train["mag_row"].to_numpy(),
    eligible,
    grid,
    rows,
    threshold=p.part["threshold"],
    subset_size=p.part["subset_size"],
    seed=int(p.seed),
)
write_parquet(subset, sm.output[0])
row = train["mag_row"].to_numpy()[eligible]
occ = cell_occupancy(grid.bin_index(train["z_spec"].to_numpy()[eligible]), row, p.part["threshold"])
log.info(
    "cells of %d z bins x %d rows: %d populated, the fullest with %d galaxies; %d above "
    "the threshold %d, cut to it; eligible training galaxies per row: %s",
    grid.n_bins, rows.n_rows, occ["populated"], occ["fullest"], occ["capped"],
    p.part["threshold"], np.bincount(row, minlength=rows.n_rows).tolist(),
)
log.info(
    "balanced subset: %d of %d eligible training galaxies, %d in the fits",
    len(subset), int(eligible.sum()), int(subset["in_fit"].sum()),
)
