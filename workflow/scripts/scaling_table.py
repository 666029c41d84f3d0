"""The scaling experiment's table, summary and figure (evaluate.scaling, figures.scaling)."""

import pandas as pd
from _common import start

from photoz_debias.evaluate.scaling import rmag_markdown, rmag_rows, scaling_table, sigma1_per_output, summary_markdown
from photoz_debias.figures.scaling import plot_scaling
from photoz_debias.figures.style import merge_style
from photoz_debias.atomic import atomic_path
from photoz_debias.io import read_labels

sm = snakemake  # noqa: F821
log = start(sm)
points, seeds = sm.params.points, list(sm.params.seeds)
datasets = list(points)
n_train = {}
for ds, path in zip(datasets, sm.input.stamps):
    labels = read_labels(path)
    n_train[ds] = int((labels["split"] == 0).sum())

metrics = iter(sm.input.metrics)
claims = iter(sm.input.seed_claims)
curves = iter(sm.input.error_curves)
rows, seed_rows, sigma1, rmag = [], [], [], []
for ds in datasets:
    for part, variance in points[ds].items():
        sc = pd.read_parquet(next(claims))
        m = pd.read_parquet(next(metrics))
        rows.append({"dataset": ds, "part": part, "variance": variance, "n_train": n_train[ds],
                     "metrics": m, "seed_claims": sc})
        rmag.append(rmag_rows(m).assign(variance=variance, n_train=n_train[ds]))
        per_seed = sc[sc["model"] != "ensemble"]
        seed_rows.append(per_seed.assign(dataset=ds, part=part, variance=variance, n_train=n_train[ds]))
        s1 = sigma1_per_output([pd.read_parquet(next(curves)) for _ in seeds])
        sigma1.append(s1.assign(dataset=ds, part=part, variance=variance, n_train=n_train[ds]))
        log.info("%s/%s (%s variance, %d training galaxies) read", ds, part, variance, n_train[ds])

table = scaling_table(rows)
seed_table = pd.concat(seed_rows, ignore_index=True)
sigma1 = pd.concat(sigma1, ignore_index=True)
for frame, path in ((table, sm.output.table), (seed_table, sm.output.seeds), (sigma1, sm.output.sigma1)):
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)
with atomic_path(sm.output.markdown) as tmp:
    with open(tmp, "w") as f:
        f.write(summary_markdown(table, sigma1) + "\n" + rmag_markdown(pd.concat(rmag, ignore_index=True)))
plot_scaling(table, seed_table, sigma1, merge_style(sm.params.style), sm.output.figure[0])
log.info("scaling table: %d rows", len(table))
