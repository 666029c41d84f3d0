"""Metrics of every method of one part (tidy Parquet) and the Appendix E tables."""

import pandas as pd
from _common import start
from _evaluate import evaluate

from photoz_debias.evaluate.catalogue import write_metrics, write_tables
from photoz_debias.methods import METHODS, PEERS
from photoz_debias.evaluate.evaluation import appendix_e_table

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
cat = pd.read_parquet(sm.input.catalogue)
# a peer is in the catalogue as <peer>_zmode (RAIL's), <peer>_z (the kNN) or <peer>
peers = [m for m in PEERS if {f"{m}_zmode", f"{m}_z", m} & set(cat.columns)]
methods = list(METHODS) + ["step4"] + peers
metrics = evaluate(cat, methods, p.grid, p.part, sm.input.error_curves)
write_metrics(metrics, sm.output.metrics, metadata={"part": sm.wildcards.part})
write_tables(
    appendix_e_table(metrics),
    sm.output.table_md,
    sm.output.table_csv,
    outlier_threshold=p.part["outlier_threshold"],
)
log.info("metrics: %d rows for methods %s", len(metrics), methods)
