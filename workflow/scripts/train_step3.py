"""Step 3 and its variants (Sect. 3.2.3): fresh redshift heads on the extended grid,
trained on cached representations with soft (or, for 3a, hard) labels."""

import pandas as pd
from _common import job_device, start

from photoz_debias.debias.heads import head_settings
from photoz_debias.debias.steps import step3, training_galaxies
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import save_heads

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
g = p.grid
grid = RedshiftGrid.from_config(g)
rows = MagnitudeRows(**p.rows)
table = pd.read_parquet(sm.input.soft_labels)
ids = table["id"].drop_duplicates().to_numpy()
gal, reps = training_galaxies(sm.input.stamps, sm.input.representations, ids)
settings = head_settings(p.heads, int(p.seed), device=job_device(sm))
for variant in p.variants:  # the variants share the labels and representations
    w, b, summary, ext = step3(
        reps,
        ids,
        gal["mag_row"].to_numpy(),
        table,
        grid,
        (g["extend_left"], g["extend_right"]),
        rows.n_outputs,
        variant,
        settings,
        log=log.info,
    )
    meta = {
        "grid": {"z_min": ext.z_min, "z_max": ext.z_max, "n_bins": ext.n_bins},
        "step": variant,
        "n_train": len(ids),
    }
    save_heads(sm.output[variant], w, b, meta)
    log.info("%s done: %s", variant, summary)
