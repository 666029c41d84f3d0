"""Train one Baseline (single-channel) or Step 1 (multi-channel) model of the ensemble.

The optional training keys ``train_fraction`` and ``label_error`` (set by the Appendix D
studies) change what the model trains on: a seeded random fraction of the training set, and
seeded Gaussian errors on its labels (photoz_debias.studies). Absent, nothing changes.
"""

import os
import sys

from _common import compile_setting, cpu_fast_setting, device, start

from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.model.networks import build_model
from photoz_debias.studies import study_training_set
from photoz_debias.io import load_training_arrays
from photoz_debias.model.training import TrainSettings, compile_for, cpu_fast_for, train_model

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
grid = RedshiftGrid.from_config(p.grid)
rows = MagnitudeRows(**p.rows)
seed = int(p.seed)
data = load_training_arrays(sm.input[0], split="train")
t = p.training
if "train_fraction" in t or "label_error" in t:
    data, info = study_training_set(
        data,
        train_fraction=t.get("train_fraction", 1.0),
        label_error=t.get("label_error", 0.0),
        seed=seed,
        z_range=(grid.z_min, grid.z_max),
    )
    log.info(
        "study training set: fraction %s of %d -> %d galaxies; label errors sigma_z %s dropped %d"
        " (left the grid range); training on %d",
        t.get("train_fraction", 1.0),
        info["n_in"],
        info["n_subsample"],
        t.get("label_error", 0.0),
        info["n_dropped"],
        info["n_out"],
    )
n_bands = data["x"].shape[1]
model = build_model(
    p.net,
    p.unit,
    n_bins=grid.n_bins,
    n_outputs=rows.n_outputs,
    n_bands=n_bands,
    n_features=n_bands if data["x"].ndim == 2 else None,
    seed=seed,
)
if p.net == "mlp":
    model.trunk.set_standardisation(data["x"])
dev = device()
settings = TrainSettings(
    iterations=t["iterations"],
    batch_size=t["batch_size"],
    lr=t["lr"],
    lr_drop_factor=t["lr_drop_factor"],
    seed=seed,
    checkpoint_iters=list(t["checkpoint_iters"]),
    log_every=t["log_every"],
    state_every=max(1, t["iterations"] // 10),
    device=dev,
    compile=compile_for(compile_setting(), dev, t["iterations"]),
    cpu_fast=cpu_fast_for(cpu_fast_setting()),
)
# Intermediate checkpoints go to a staging folder that survives a killed job (Snakemake
# deletes the declared outputs of an incomplete job), and become the output at the end.
staging = sm.output.model + ".checkpoints.partial"
os.makedirs(staging, exist_ok=True)
summary = train_model(
    model,
    data["x"],
    data["ebv"],
    grid.bin_index(data["z_spec"]),
    data["mag_row"],
    rows.n_outputs,
    settings,
    out_path=sm.output.model,
    state_path=sm.output.model + ".state.pt",
    checkpoint_dir=staging,
    log=sys.stderr,
    meta={"grid": dict(p.grid), "rows": dict(p.rows), "unit": p.unit},
)
os.replace(staging, sm.output.checkpoints)
log.info("finished: %s", summary)
