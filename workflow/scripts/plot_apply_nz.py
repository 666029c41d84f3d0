"""Apply mode: n(z) of each tomographic bin of an applied sample (and, for a validation
sample, the withheld z_spec histogram)."""

import pandas as pd
from _common import start

from photoz_debias.figures.apply_nz import plot_apply_nz

sm = snakemake  # noqa: F821
log = start(sm)
cat = pd.read_parquet(sm.input.catalogue)
truth = None
if sm.input.truth:
    z = pd.read_parquet(sm.input.truth[0]).set_index("id").loc[cat["id"], "z_spec"].to_numpy()
    truth = pd.DataFrame({"step4_zmode": cat["step4_zmode"].to_numpy(), "z_spec": z})
plot_apply_nz(pd.read_parquet(sm.input.nz), pd.read_parquet(sm.input.bins), sm.output[0],
              style=sm.params.style, truth=truth, title=f"{sm.wildcards.dataset} ({sm.wildcards.part})")
log.info("wrote %s", sm.output[0])
