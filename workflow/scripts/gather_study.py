"""One Appendix D study as one tidy table: every point's metrics (Eqs. 9-13, the curves), with
the swept value in a column named after the study (the table figD_sweeps.plot_figD_sweep
reads). train_size is given as the number of training galaxies the trunks saw."""

import pandas as pd
from _common import start

from photoz_debias.io import read_labels, write_parquet
from photoz_debias.studies import n_subsample

sm = snakemake  # noqa: F821
log = start(sm)
study = sm.params.study
points = sm.params.points
if len(points) != len(sm.input.metrics):
    raise ValueError(f"{len(points)} points but {len(sm.input.metrics)} metrics files")
n_train = None
if study == "train_size":
    labels = read_labels(sm.input.stamps)
    n_train = int((labels["split"] == 0).sum())
frames = []
for pt, path in zip(points, sm.input.metrics):
    m = pd.read_parquet(path)
    value = pt["value"]
    if study == "train_size":
        m.insert(0, "train_fraction", float(value))
        value = n_subsample(n_train, float(value))
    m.insert(0, study, value)
    m.insert(1, "part", pt["base_part"])
    m.insert(2, "run", f"{pt['dataset']}/{pt['part']}")
    frames.append(m)
    log.info("%s = %s: %s (%d rows)", study, pt["value"], path, len(m))
table = pd.concat(frames, ignore_index=True)
if study == "net":
    table[study] = table[study].astype(str)
write_parquet(table, sm.output[0])
log.info("%s: %d points, %d rows", study, len(points), len(table))
