"""Apply mode: the seeds' Baseline and Step 3 densities of an applied sample averaged, chunk
by chunk; the densities and the point estimates written."""

import h5py
import numpy as np
import pandas as pd
from _common import start

from photoz_debias.atomic import atomic_path
from photoz_debias.debias.ensemble import average, estimates_table, step_densities
from photoz_debias.grid import grids_from_config
from photoz_debias.methods import APPLIED_METHODS
from photoz_debias.io import load_heads, load_step1_heads, read_ids, read_labels, write_parquet

CHUNK = 8192  # galaxies at a time: bounded memory for any sample size

sm = snakemake  # noqa: F821
log = start(sm)
grid, ext = grids_from_config(sm.params.grid)
labels = read_labels(sm.input.stamps)
step1 = [load_step1_heads(f) for f in sm.input.step1]
step3 = [load_heads(f)[:2] for f in sm.input.step3]
seeds = [h5py.File(f, "r") for f in sm.input.applied]
n = len(labels)
for f in seeds:
    if not np.array_equal(read_ids(f["id"]), labels["id"].to_numpy()):
        raise ValueError(f"{f.filename}: galaxy ids differ from {sm.input.stamps}")
tables = []
with atomic_path(sm.output.densities) as tmp, h5py.File(tmp, "w") as out:
    out["id"] = labels["id"].to_numpy()
    out.attrs["description"] = "ensemble-averaged p(z) of the applied sample"
    for m, g in zip(APPLIED_METHODS, (grid, ext)):
        out.create_group(m)
        out[m].create_dataset("p", (n, g.n_bins), dtype=np.float32, chunks=(min(n, 1024), g.n_bins))
        out[m]["edges"] = g.edges
    for s in range(0, n, CHUNK):
        e = min(n, s + CHUNK)
        pb = average([f["baseline"][s:e] for f in seeds])
        p3 = average([
            step_densities(f["representation"][s:e].astype(np.float32), h1, heads)
            for f, h1, heads in zip(seeds, step1, step3)
        ])
        out["baseline"]["p"][s:e] = pb
        out["step3"]["p"][s:e] = p3
        tables.append(pd.concat([estimates_table("baseline", pb, grid.centres),
                                 estimates_table("step3", p3, ext.centres)], axis=1))
        log.info("%d of %d galaxies", e, n)
for f in seeds:
    f.close()
info = [c for c in ("id", "r_mag", "ebv", "mag_row", "field", "quality") if c in labels]
est = pd.concat([labels[info].reset_index(drop=True), pd.concat(tables, ignore_index=True)], axis=1)
write_parquet(est, sm.output.estimates)
log.info("ensemble of %d seeds on %d applied galaxies", len(seeds), n)
