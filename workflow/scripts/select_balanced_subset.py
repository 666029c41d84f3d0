"""Step 2's near-balanced subset of one part, for one seed (Sect. 3.2.2, Fig. 4)."""

from _common import start

from photoz_debias.debias import select_subset
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import part_mask, read_labels, write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
labels = read_labels(sm.input.stamps)
train = labels[labels["split"] == 0].reset_index(drop=True)
g = p.grid
subset = select_subset(
    train["id"].to_numpy(),
    train["z_spec"].to_numpy(),
    train["mag_row"].to_numpy(),
    part_mask(train, p.part),
    RedshiftGrid.from_config(g),
    MagnitudeRows(**p.rows),
    threshold=p.part["threshold"],
    subset_size=p.part["subset_size"],
    seed=int(p.seed),
)
write_parquet(subset, sm.output[0])
log.info(
    "balanced subset: %d of %d eligible training galaxies, %d in the fits",
    len(subset),
    int(part_mask(train, p.part).sum()),
    int(subset["in_fit"].sum()),
)
