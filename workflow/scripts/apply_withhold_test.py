"""Apply-mode validation sample: the model dataset's test galaxies as an applied sample, with
z_spec (and a synthetic survey's z_true) withheld from the apply jobs and kept aside for the
validation table only."""

import numpy as np
from _common import start

from photoz_debias.data.preprocess import SPLIT_APPLY
from photoz_debias.io import copy_stamps_subset, read_labels, write_parquet

sm = snakemake  # noqa: F821
log = start(sm)
labels = read_labels(sm.input[0])
keep = (labels["split"] == 1).to_numpy()
n = int(keep.sum())
note = "apply-mode validation: the model's test galaxies, z_spec withheld"
copy_stamps_subset(
    sm.input[0], sm.output.stamps, keep, note,
    replace={"z_spec": np.full(n, np.nan), "split": np.full(n, SPLIT_APPLY)},
    drop=("z_true",),
)
truth = [c for c in ("id", "z_spec", "z_true") if c in labels]
write_parquet(labels.loc[keep, truth].reset_index(drop=True), sm.output.truth)
log.info("%s: %d galaxies", note, n)
