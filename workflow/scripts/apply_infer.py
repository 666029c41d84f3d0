"""Apply mode: one seed's Baseline and Step 1 models on an applied sample, in chunks (the
Baseline densities and the Step 1 representations that the heads turn into densities)."""

import h5py
from _common import device, start

from photoz_debias.atomic import atomic_path
from photoz_debias.io import check_applicable, read_ids
from photoz_debias.model.checkpoint import load_model
from photoz_debias.model.inference import infer_applied

sm = snakemake  # noqa: F821
log = start(sm)
check_applicable(sm.input.stamps, sm.input.model_stamps)
baseline, _ = load_model(sm.input.baseline[0])
step1, _ = load_model(sm.input.step1[0])
with h5py.File(sm.input.stamps, "r") as f, atomic_path(sm.output[0]) as tmp, h5py.File(tmp, "w") as out:
    x = f["images"] if "images" in f else f["features"]
    out["id"] = read_ids(f["id"])
    info = infer_applied(
        baseline, step1, x, f["ebv"][:], out, device=device(),
        progress=lambda done, n: log.info("%d of %d galaxies", done, n),
    )
log.info("applied sample: %s", info)
