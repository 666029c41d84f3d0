"""Apply-mode validation: each tomographic bin's estimated mean redshift and n(z) against the
withheld z_spec of the validation sample (the model's own test galaxies)."""

import pandas as pd
from _common import start

from photoz_debias.evaluate.tomography import validation_markdown, validation_table
from photoz_debias.io import write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
cat = pd.read_parquet(sm.input.catalogue)
truth = pd.read_parquet(sm.input.truth[0]).set_index("id")
table = validation_table(
    pd.read_parquet(sm.input.bins),
    pd.read_parquet(sm.input.nz),
    cat["step4_zmode"].to_numpy(),
    truth.loc[cat["id"], "z_spec"].to_numpy(),
)
write_parquet(table, sm.output.table)
with open(sm.output.table_md, "w") as f:
    f.write(validation_markdown(table))
log.info("validation:\n%s", table.to_string(index=False))
