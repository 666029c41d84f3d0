"""The Fig. 10 training-set variant: a fraction of the training galaxies with lo < z_spec < hi
removed (the test sample is unchanged); it runs its own Steps 1-3."""

from _common import start

from photoz_debias.debias.calibrate import deplete_training
from photoz_debias.io import copy_stamps_subset, read_labels

sm = snakemake  # noqa: F821
log = start(sm)
d = sm.params.depletion
labels = read_labels(sm.input[0])
train = (labels["split"] == 0).to_numpy()
keep_train = deplete_training(
    labels["z_spec"].to_numpy(), lo=d["lo"], hi=d["hi"], fraction=d["fraction"], seed=1
)
keep = ~train | keep_train
note = f"training galaxies with {d['lo']} < z_spec < {d['hi']} depleted by {d['fraction']}"
n = copy_stamps_subset(sm.input[0], sm.output[0], keep, note)
log.info("%s: kept %d of %d galaxies", note, n, len(labels))
