"""Average the seeds' densities of every method over one part's test galaxies (and Step 3's
over the part's training galaxies, which Step 4 resamples); write densities and estimates."""

import h5py
import numpy as np
import pandas as pd
from _common import start

from photoz_debias.atomic import atomic_path
from photoz_debias.debias.steps import rows_of_ids
from photoz_debias.debias.ensemble import average, estimates_table, seed_test_densities, step_densities
from photoz_debias.grid import grids_from_config
from photoz_debias.methods import HEAD_METHODS, METHODS
from photoz_debias.io import (
    h5_data,
    load_heads,
    load_step1_heads,
    part_mask,
    read_labels,
    read_representations,
    write_parquet,
)

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid, ext = grids_from_config(g)
labels = read_labels(sm.input.stamps)
keep = part_mask(labels, p.part)
test = labels[(labels["split"] == 1) & keep].reset_index(drop=True)
train_all = labels[labels["split"] == 0].reset_index(drop=True)
train = train_all[part_mask(train_all, p.part)].reset_index(drop=True)
test_all_ids = labels.loc[labels["split"] == 1, "id"].to_numpy()
test_rows = rows_of_ids(test_all_ids, test["id"].to_numpy())
train_rows = rows_of_ids(train_all["id"].to_numpy(), train["id"].to_numpy())

dens = {m: [] for m in METHODS}
train_step3 = []
for k in range(len(sm.input.step1)):
    one = seed_test_densities(
        sm.input.baseline[k],
        sm.input.step1[k],
        sm.input.representations[k],
        {m: sm.input[m][k] for m in HEAD_METHODS},
        test["id"].to_numpy(),
        test_rows,
    )
    for m in METHODS:
        dens[m].append(one[m])
    h1 = load_step1_heads(sm.input.step1[k])
    w, b, _ = load_heads(sm.input.step3[k])
    tr = read_representations(sm.input.representations[k], "train", train_rows)
    train_step3.append(step_densities(tr[:, 0] if tr.ndim == 3 else tr, h1, (w, b)))
    log.info("seed %d of %d read", k + 1, len(sm.input.step1))

grids = {m: (ext if m.startswith("step3") else grid) for m in dens}
info = ["id", "split", "z_spec", "r_mag", "ebv", "mag_row", "field", "quality"]
tables = [test[[c for c in info if c in test]]]
with atomic_path(sm.output.densities) as tmp, h5py.File(tmp, "w") as f:
    f["id"] = h5_data(test["id"].to_numpy())
    f.attrs["description"] = "ensemble-averaged p(z) of the part's test galaxies"
    for m, ps in dens.items():
        mean = average(ps)
        f.create_group(m)
        f[m]["p"] = mean
        f[m]["edges"] = grids[m].edges
        tables.append(estimates_table(m, mean, grids[m].centres))
test_est = pd.concat(tables, axis=1)
train_est = pd.concat(
    [
        train[[c for c in info if c in train]],
        estimates_table("step3", average(train_step3), ext.centres),
    ],
    axis=1,
)
write_parquet(pd.concat([test_est, train_est], ignore_index=True), sm.output.estimates)
log.info("ensemble of %d seeds: %d test, %d training galaxies", len(sm.input.step1), len(test), len(train))
