"""What the workflow's heavy jobs cost on one device: ``python -m photoz_debias.bench.jobs``.

    python -m photoz_debias.bench.jobs --device cuda            # a GPU machine
    python -m photoz_debias.bench.jobs --device cpu --scale 0.1 # the CPU, a tenth of the work

Times, through the same package functions the workflow's scripts call, the three kinds of
job that hold a GPU or most of the CPU time in a run, at the CPU default's sizes and at the
paper's (Tables 1 and 2 of Lin et al. 2022):

* ``train_model`` (rules ``train_baseline``, ``train_step1``): the trunk and its output unit
  on a random training set, every iteration as the workflow runs it (data resident on the
  device, augmentation, bf16 autocast, fused Adam on CUDA), progress lines included;
* ``compute_representations`` (rule ``represent``): 8 dihedral views of the training set and
  the test set through the trunk;
* ``train_heads`` (rules ``train_step2``, ``train_step3``, ...): the heads on cached
  representations (``--heads-device``; the workflow runs them on the CPU).

``--scale`` runs that fraction of each job's iterations or galaxies and projects the whole
job linearly (the projection is marked). The images are random: speed does not depend on
them. Prints a Markdown table. Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import torch

from photoz_debias.grid import activated_outputs
from photoz_debias.debias.heads import HeadSettings, init_heads, train_heads
from photoz_debias.model.inference import compute_representations
from photoz_debias.model.networks import build_model
from photoz_debias.model.training import TrainSettings, compile_for, resolve_device, train_model

# (label, net, unit, n_bins, n_ext, m, iterations, batch, n_train, n_test, head iterations)
SIZES = {
    "default": ("CPU default (SDSS-like)", "netcpu", 180, 360, 6, 3600, 32, 10_000, 10_000, 1000),
    "paper": ("paper (SDSS, Net_P)", "netp", 180, 360, 6, 120_000, 128, 393_000, 103_000, 40_000),
}


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training(net, unit, n_bins, m, iterations, batch, n_train, device, compile=False, seed=0) -> float:
    """Seconds of ``train_model`` for ``iterations`` iterations (first call's set-up included)."""
    rng = np.random.default_rng(seed)
    n = min(n_train, 4096)  # the speed of a step does not depend on the set's size
    x = rng.normal(size=(n, 5, 64, 64)).astype(np.float32)
    ebv = rng.uniform(0, 0.1, n).astype(np.float32)
    model = build_model(net, unit, n_bins=n_bins, n_outputs=m, seed=seed)
    s = TrainSettings(iterations=iterations, batch_size=batch, lr=1e-4, seed=seed,
                      log_every=max(1, iterations // 4), device=str(device), data_on_device=True, compile=compile)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        out = train_model(model, x, ebv, rng.integers(0, n_bins, n), rng.integers(0, 2 * m - 1, n), m, s,
                          out_path=f"{tmp}/model.pt")
        _sync(device)
    if not np.isfinite(out["loss"]):
        raise RuntimeError(f"non-finite loss {out['loss']} in the training benchmark")
    return time.perf_counter() - t0


def time_representations(net, n_bins, m, n_train, n_test, device) -> float:
    """Seconds of ``compute_representations`` for ``n_train`` x 8 views + ``n_test`` x 1."""
    model = build_model(net, "multi", n_bins=n_bins, n_outputs=m, seed=0)
    rng = np.random.default_rng(1)
    chunk = 4096
    x = rng.normal(size=(min(chunk, max(n_train, n_test)), 5, 64, 64)).astype(np.float32)
    ebv = rng.uniform(0, 0.1, len(x)).astype(np.float32)
    compute_representations(model, x[:256], ebv[:256], views=None, device=device)  # warm-up
    _sync(device)
    t0 = time.perf_counter()
    for n, views in ((n_train, range(8)), (n_test, None)):
        for s in range(0, n, chunk):
            k = min(chunk, n - s)
            compute_representations(model, x[:k], ebv[:k], views=views, device=device)
    _sync(device)
    return time.perf_counter() - t0


def time_heads(m, n_bins, d, iterations, device, n_gal=4000) -> float:
    """Seconds of ``train_heads`` (hard labels on ``n_bins`` bins) for ``iterations``."""
    rng = np.random.default_rng(2)
    reps = rng.normal(size=(n_gal, 8, d)).astype(np.float16)
    lo, hi = activated_outputs(rng.integers(0, 2 * m - 1, n_gal))
    z = rng.integers(0, n_bins, n_gal)
    w0, b0 = init_heads(m, n_bins, d, seed=0)
    warm = HeadSettings(iterations=20, batch_size=32, lr=2e-5, device=str(device))
    train_heads(reps, None, z, z, lo, hi, w0, b0, warm)
    s = HeadSettings(iterations=iterations, batch_size=32, lr=2e-5, device=str(device), log_every=iterations)
    _sync(device)
    t0 = time.perf_counter()
    train_heads(reps, None, z, z, lo, hi, w0, b0, s)
    _sync(device)
    return time.perf_counter() - t0


def run(args) -> list[tuple]:
    device = resolve_device(args.device)
    heads_device = resolve_device(args.heads_device or args.device)
    if device.type == "cpu" or heads_device.type == "cpu":
        torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    rows = []
    for size in args.sizes:
        label, net, n_bins, n_ext, m, iters, batch, n_train, n_test, head_its = SIZES[size]
        k = max(1, int(round(iters * args.scale)))
        nt, ns = max(1, int(n_train * args.scale)), max(1, int(n_test * args.scale))
        d = build_model(net, "multi", n_bins=n_bins, n_outputs=m).trunk.rep_dim  # the heads' input size
        if "train" in args.jobs:
            comp = compile_for(args.compile, device, iters)  # as the workflow decides for the whole job
            job = "train_step1 (Baseline alike)" + (", compiled" if comp else "")
            sec = time_training(net, "multi", n_bins, m, k, batch, n_train, device, compile=comp)
            if k < iters:
                # a second run of twice the length separates the set-up (compilation, data
                # transfer) from the per-iteration cost, which is what scales to the whole job
                sec2 = time_training(net, "multi", n_bins, m, 2 * k, batch, n_train, device, compile=comp)
                per_it = (sec2 - sec) / k
                if per_it <= 0:  # timing noise (a loaded CPU): fall back to the longer run's mean
                    per_it = sec2 / (2 * k)
                whole = sec - k * per_it + iters * per_it
                work = f"{k:,} and {2 * k:,} of {iters:,} iterations x {batch} (set-up {sec - k * per_it:.0f} s)"
            else:
                whole, work = sec, f"{k:,} iterations x {batch}"
            rows.append((label, job, work, sec, whole, str(device)))
        if "represent" in args.jobs:
            sec = time_representations(net, n_bins, m, nt, ns, device)
            rows.append((label, "represent", f"{nt:,} x 8 + {ns:,} of {n_train:,} x 8 + {n_test:,} galaxies", sec,
                         sec * n_train / nt, str(device)))
        hk = max(1, int(round(head_its * args.scale)))
        for step, nb in (("train_step2", n_bins), ("train_step3", n_ext)) if "heads" in args.jobs else ():
            sec = time_heads(m, nb, d, hk, heads_device)
            rows.append((label, f"{step} (m={m}, n={nb}, D={d})", f"{hk:,} of {head_its:,} iterations x 32", sec,
                         sec * head_its / hk, str(heads_device)))
    print(f"device: {name}; torch {torch.__version__}; scale {args.scale}")
    print()
    print("| sizes | job | measured | device | seconds | whole job, s |")
    print("|---|---|---|---|---:|---:|")
    for label, job, work, sec, whole, dev in rows:
        proj = f"{whole:,.0f}" + ("" if abs(whole - sec) < 1e-9 else " (projected)")
        print(f"| {label} | {job} | {work} | {dev} | {sec:,.1f} | {proj} |")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="auto", help="trunk jobs: cpu | cuda | auto")
    p.add_argument("--heads-device", default=None, help="head trainings (default: --device)")
    p.add_argument("--sizes", nargs="+", default=["default", "paper"], choices=sorted(SIZES))
    p.add_argument("--compile", default="auto", help="auto | 1 | 0, as PHOTOZ_COMPILE in the workflow")
    p.add_argument("--jobs", nargs="+", default=["train", "represent", "heads"], choices=["train", "represent", "heads"])
    p.add_argument("--scale", type=float, default=1.0, help="fraction of each job to run (projected to the whole)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
