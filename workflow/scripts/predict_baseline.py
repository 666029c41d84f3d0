"""Densities p(z) of one Baseline model for the test galaxies."""

from _common import device, start

from photoz_debias.model.checkpoint import load_model
from photoz_debias.model.inference import predict_densities
from photoz_debias.io import load_training_arrays, write_h5

sm = snakemake  # noqa: F821
log = start(sm)
model, meta = load_model(sm.input.model)
test = load_training_arrays(sm.input.stamps, split="test")
p = predict_densities(model, test["x"], test["ebv"], device=device())
write_h5(sm.output[0], {"p": p.astype("float32"), "id": test["id"]})
log.info("densities for %d test galaxies over %d bins", *p.shape)
