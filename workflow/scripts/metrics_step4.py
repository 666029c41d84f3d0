"""Metrics of Step 3 and Step 4 on one test sample of the Step 4 experiments (Figs. 9, 10)."""

import pandas as pd
from _common import start
from _evaluate import evaluate

from photoz_debias.evaluate.catalogue import write_metrics

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
est = pd.read_parquet(sm.input.estimates)
step4 = pd.read_parquet(sm.input.step4)
cat = est[est["split"] == 1].merge(step4, on="id", how="inner", validate="one_to_one")
metrics = evaluate(cat, ["step3", "step4"], p.grid, p.part, sm.input.error_curves)
write_metrics(metrics, sm.output[0], metadata={"sample": sm.wildcards.sample})
log.info("%d galaxies in the sample, %d metric rows", len(cat), len(metrics))
