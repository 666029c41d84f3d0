"""Cache the frozen Step 1 trunk's representation: 8 dihedral views of every training
galaxy (so head training keeps the paper's augmentation) and the test galaxies."""

from _common import device, start

from photoz_debias.model.checkpoint import load_model
from photoz_debias.model.inference import compute_representations
from photoz_debias.io import load_training_arrays, write_h5

sm = snakemake  # noqa: F821
log = start(sm)
model, meta = load_model(sm.input.model)
dev = device()
out = {}
for split in ("train", "test"):
    d = load_training_arrays(sm.input.stamps, split=split)
    # Catalogue features have no dihedral views.
    views = range(8) if (split == "train" and d["x"].ndim == 4) else None
    out[split] = compute_representations(model, d["x"], d["ebv"], views=views, device=dev)
    out[f"id_{split}"] = d["id"]
    log.info("%s: representations %s", split, out[split].shape)
write_h5(sm.output[0], out)
