"""Benchmark: apply mode (photo-z for galaxies without spectra) on a large generated sample.

    python -m photoz_debias.bench.apply --n-galaxies 1000000 --workdir DIR
    python -m photoz_debias.bench.apply --stages infer --net netp --device cuda ...   # a GPU

Each stage runs in its own process, so each peak RSS is that stage's alone:

* ``ingest``: a sparse generated cube (``bench.ingest.make_input``, no z_spec column) of
  ``--n-galaxies`` stamps ingested as an applied sample (the real path, gzip level 1 so that
  the zero stamps cost little disk);
* ``infer``: one ensemble member (a Baseline and a Step 1 network of ``--net``, untrained:
  speed and memory do not depend on the weights) on the first ``--infer-galaxies`` of them,
  chunk by chunk as the ``apply_infer`` rule does (``model.inference.infer_applied``);
* ``step4``: Step 4 on an applied sample and the tomographic n(z) with bootstrap errors
  (``debias.calibrate.calibrate_applied_sample``, ``evaluate.tomography.tomographic_nz``) on
  ``--n-galaxies`` simulated z_photo values and ``--n-train`` training galaxies.

Prints one row per stage: galaxies, wall time, galaxies/s, peak RSS.  Not a test: numbers
depend on the machine.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import time

import numpy as np

STAGES = ("ingest", "infer", "step4")


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: kB


def _ingest(args) -> int:
    from photoz_debias.bench.ingest import make_input
    from photoz_debias.data.ingest import open_source
    from photoz_debias.data.preprocess import write_preprocessed
    from photoz_debias.grid import MagnitudeRows

    make_input(args.workdir, args.n_galaxies, z_spec=False)
    t0 = time.perf_counter()
    src = open_source({"layout": "generic", "images": "stamps.npy", "catalogue": "catalogue.parquet",
                       "pixel_scale_arcsec": 0.396, "columns": {"ebv": "ebv"}},
                      base_dir=args.workdir, labelled=False)
    info = write_preprocessed(src, os.path.join(args.workdir, "applied.h5"), rows=MagnitudeRows(12.5, 11),
                              split=None, pixel_divisor=1.0, z_range=(0.0, 0.4), r_range=(8.0, 18.0),
                              provenance={"source": "bench.apply sparse cube"}, compression="gzip",
                              compression_opts=1, applied=True)
    os.remove(os.path.join(args.workdir, "stamps.npy"))
    return info["n"], time.perf_counter() - t0


def _infer(args) -> tuple[int, float]:
    import h5py
    import torch

    from photoz_debias.model.inference import infer_applied
    from photoz_debias.model.networks import build_model

    torch.set_num_threads(args.threads)
    kw = dict(n_bins=180, n_bands=5)
    base = build_model(args.net, "single", seed=0, **kw)
    step1 = build_model(args.net, "multi", n_outputs=6, seed=1, **kw)
    path = os.path.join(args.workdir, "applied.h5")
    with h5py.File(path, "r") as f, h5py.File(os.path.join(args.workdir, "seed.h5"), "w") as out:
        n = min(args.infer_galaxies, f["images"].shape[0])
        x = f["images"]
        # warm-up (first-call allocations, cuDNN autotuning) outside the timing
        infer_applied(base, step1, x[:64], f["ebv"][:64], out.create_group("warmup"), device=args.device)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        infer_applied(base, step1, _Head(x, n), f["ebv"][:n], out, device=args.device)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return n, time.perf_counter() - t0


class _Head:
    """The first ``n`` rows of an h5py dataset, read lazily by slices."""

    def __init__(self, ds, n):
        self.ds, self.n = ds, n

    def __len__(self):
        return self.n

    def __getitem__(self, s):
        return self.ds[s.start : min(s.stop, self.n)]


def _step4(args) -> tuple[int, float]:
    from photoz_debias.debias.calibrate import calibrate_applied_sample
    from photoz_debias.evaluate.tomography import tomographic_nz
    from photoz_debias.grid import MagnitudeRows, RedshiftGrid

    rng = np.random.default_rng(0)
    grid, rows = RedshiftGrid(0.0, 0.4, 180), MagnitudeRows(12.5, 11)
    ext = grid.extend(90, 90)

    def population(n):
        z = rng.gamma(4.0, 0.025, n).clip(0.001, 0.39)
        r = rng.uniform(12.0, 18.2, n)
        zp = grid.centres[grid.bin_index(np.clip(z + rng.normal(0, 0.02, n), 0, 0.3999))]
        return z, r, zp

    zt, rt, zpt = population(args.n_train)
    _, ra, zpa = population(args.n_galaxies)
    cells = ext.aligned_edges(0.01, ext.z_min, ext.z_max)
    t0 = time.perf_counter()
    shift, _ = calibrate_applied_sample(zpa, ra, zpt, zt, rows.row_index(rt), rows, grid.edges, cells, 5, 7)
    tomographic_nz(zpa, ra, zpa - shift, zpt, zt, rows.row_index(rt), rows, grid.edges, cells,
                   [0.0, 0.06, 0.09, 0.12, 0.16, 0.4], np.linspace(0, 0.4, 41), 5, 7,
                   n_bootstrap=args.n_bootstrap)
    return args.n_galaxies, time.perf_counter() - t0


def _run(stage, args, q):
    n, wall = {"ingest": _ingest, "infer": _infer, "step4": _step4}[stage](args)
    q.put((n, wall, _peak_rss_gb()))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-galaxies", type=int, default=1_000_000)
    ap.add_argument("--infer-galaxies", type=int, default=20_000,
                    help="galaxies the inference stage times (the first of the sample)")
    ap.add_argument("--n-train", type=int, default=100_000, help="training galaxies of Step 4")
    ap.add_argument("--n-bootstrap", type=int, default=20, help="bootstrap replicates of the n(z)")
    ap.add_argument("--net", default="netcpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)
    ctx = mp.get_context("spawn")
    rows = []
    for stage in args.stages:
        q = ctx.Queue()
        p = ctx.Process(target=_run, args=(stage, args, q))
        p.start()
        n, wall, peak = q.get()
        p.join()
        what = {"ingest": "ingest (applied, gzip 1)", "infer": f"inference {args.net} ({args.device})",
                "step4": f"Step 4 + n(z) ({args.n_train:,} training, {args.n_bootstrap} bootstraps)"}[stage]
        rows.append((what, f"{n:,}", f"{wall:.1f}", f"{n / wall:,.0f}", f"{peak:.2f}"))
    head = ("stage", "galaxies", "wall s", "galaxies/s", "peak RSS GB")
    w = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    for r in [head] + rows:
        print("  ".join(c.ljust(w[i]) for i, c in enumerate(r)))


if __name__ == "__main__":
    main()
