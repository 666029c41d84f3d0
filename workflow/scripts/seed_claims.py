"""Claims 1-3 for each seed's models alone and for the ensemble (diagnostics.seeds)."""

import sys

from _common import start

from photoz_debias.diagnostics.seeds import seed_scatter
from photoz_debias.atomic import atomic_path

sm = snakemake  # noqa: F821
log = start(sm)
ds, part, p = sm.wildcards.dataset, sm.wildcards.part, sm.params
# the settings seed_scatter reads, and nothing else
config = {
    "ensemble": {"seeds": list(p.seeds)},
    "datasets": {ds: {"net": sm.wildcards.net, "grid": dict(p.grid), "parts": {part: dict(p.part)}}},
}
table = seed_scatter(config, ds, part, root=".", log=sys.stdout)
with atomic_path(sm.output[0]) as tmp:
    table.to_parquet(tmp, index=False)
log.info("claims of %d models and the ensemble", len(table) - 1)
