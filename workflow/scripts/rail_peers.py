"""RAIL's FlexZBoost and KNN on one part: trained on the part's training galaxies, applied to
its test galaxies, on the same magnitudes as the kNN peer; their densities on our output grid
(qp files) and point estimates (Parquet)."""

import numpy as np
import pandas as pd
from _common import start

from photoz_debias.debias.ensemble import estimates_table
from photoz_debias.errors import InputError
from photoz_debias.evaluate.peers import fill_non_detections, peer_magnitude_columns
from photoz_debias.evaluate.rail_peers import rail_method, rail_peer_densities
from photoz_debias.grid import RedshiftGrid
from photoz_debias.io import file_bands, part_mask, read_labels, write_parquet
from photoz_debias.qp_export import densities_ensemble, write_qp

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
grid = RedshiftGrid.from_config(p.grid)
labels = read_labels(sm.input.stamps)
bands = file_bands(sm.input.stamps)
mags = peer_magnitude_columns(bands, labels.columns)
if not mags:
    raise InputError(
        f"fewer than two of the bands {bands} have magnitudes", file=sm.input.stamps,
        field="mag_<band>", expected="magnitudes in two bands or more (or peers.rail.activate: false)",
    )
keep = part_mask(labels, p.part)
train = labels[(labels["split"] == 0) & keep]
test = labels[(labels["split"] == 1) & keep].reset_index(drop=True)
train_mags = fill_non_detections(train[mags].to_numpy())
test_mags = fill_non_detections(test[mags].to_numpy(), train_mags)
used = [m.removeprefix("mag_") for m in mags]
log.info("RAIL peers %s on %s: %d training, %d test galaxies", p.rail["estimators"],
         ", ".join(mags), len(train), len(test))
dens = rail_peer_densities(
    train_mags, train["z_spec"].to_numpy(), test_mags, used, grid.edges,
    estimators=p.rail["estimators"], seed=p.rail["seed"], threads=sm.threads,
)
ids = test["id"].to_numpy()
for x, path in zip(p.rail["estimators"], sm.output.qp):
    write_qp(densities_ensemble(dens[rail_method(x)], grid.edges, ids), path)
empty = {m: int((d.sum(axis=1) == 0).sum()) for m, d in dens.items()}
tables = [pd.DataFrame({"id": ids})]
tables += [estimates_table(m, d, grid.centres) for m, d in dens.items()]
write_parquet(pd.concat(tables, axis=1), sm.output.estimates)
log.info("RAIL peers written; galaxies with no probability on the grid: %s", empty)
