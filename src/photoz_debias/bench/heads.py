"""Benchmark: Steps 2 + 3 on cached representations vs through the frozen trunk.

    python -m photoz_debias.bench.heads [--net netp] [--iterations 10]
                                        [--projection-iterations 1000] [--threads 2]

Runs, side by side in one process on the CPU, the head training of Step 2 (hard labels,
``n`` bins) and Step 3 (soft Gaussian labels, ``n_ext`` bins) for one seed in two ways,
with the same iterations, batch and heads:

* ``cached``: ``heads.train_heads`` on cached representations (N, 8, D) float16, a
  dihedral view drawn per sample (what the workflow does);
* ``images``: the authors' way: each mini-batch of 64x64 stamps is augmented
  (``augment.augment``) and pushed through the frozen trunk (``no_grad``) before the
  same head update.

It then projects the paper-scale Steps 2+3 of one SDSS seed (60k subset, 40k iterations
each, batch 32, D = 1024, n = 180 then 360, m = 6): per-iteration times of longer cached
runs at that size x 40k, plus the Step 2 predictions and the Eq. 4-8 fit on 60k galaxies.
Inputs are random numbers (speed does not depend on them).  Not a test: numbers depend on
the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from photoz_debias.augment import DIHEDRAL_VIEW_PROBS, augment
from photoz_debias.grid import RedshiftGrid, activated_outputs
from photoz_debias.heads import HeadSettings, head_densities, init_heads, train_heads
from photoz_debias.labels import multichannel_loss
from photoz_debias.networks import build_model
from photoz_debias.soft_labels import GaussianLabels, fit_soft_labels


def train_heads_through_trunk(model, images, ebv, label_lo, label_hi, lo, hi, w0, b0,
                              settings: HeadSettings) -> float:
    """The authors' way: augmented images through the frozen trunk, then the head update.

    Same sampling, optimiser and loss as ``heads.train_heads``.  Returns seconds.
    """
    m, n, d = w0.shape
    weight = torch.nn.Parameter(torch.from_numpy(w0.reshape(m * n, d).copy()))
    bias = torch.nn.Parameter(torch.from_numpy(b0.reshape(m * n).copy()))
    opt = torch.optim.Adam([weight, bias], lr=settings.lr, fused=True)
    gen = torch.Generator().manual_seed(settings.seed)
    get_lo = label_lo if callable(label_lo) else (lambda i, t=torch.from_numpy(label_lo): t[i])
    get_hi = label_hi if callable(label_hi) else (lambda i, t=torch.from_numpy(label_hi): t[i])
    lo_t, hi_t = torch.from_numpy(lo), torch.from_numpy(hi)
    B = settings.batch_size
    model.eval()
    t0 = time.perf_counter()
    for _ in range(settings.iterations):
        idx = torch.randint(images.shape[0], (B,), generator=gen)
        with torch.no_grad():
            rep = model.representation(augment(images[idx], gen), ebv[idx])
        logits = torch.addmm(bias, rep, weight.t()).view(B, m, n)
        loss = multichannel_loss(logits, None, get_lo(idx), get_hi(idx), lo_t[idx], hi_t[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return time.perf_counter() - t0


def _labels(n_gal, n_bins, rng, soft):
    mu = rng.uniform(0, n_bins, n_gal)
    if soft:
        return GaussianLabels(mu, rng.uniform(1.0, 5.0, n_gal), n_bins)
    return np.floor(mu).astype(np.int64)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="netp", choices=["netp", "netcpu"])
    ap.add_argument("--iterations", type=int, default=10, help="side-by-side iterations per step")
    ap.add_argument("--projection-iterations", type=int, default=1000,
                    help="cached iterations per step at paper size, for the projection")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-bins", type=int, default=180)
    ap.add_argument("--n-ext", type=int, default=360)
    ap.add_argument("--n-outputs", type=int, default=6)
    ap.add_argument("--n-galaxies", type=int, default=4000,
                    help="cached galaxies held in memory (speed does not depend on it)")
    ap.add_argument("--n-images", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    m, B = args.n_outputs, args.batch

    model = build_model(args.net, "multi", n_bins=args.n_bins, n_outputs=m, seed=0)
    d = model.trunk.rep_dim
    images = torch.randn(args.n_images, 5, 64, 64)
    ebv = torch.rand(args.n_images) * 0.1
    reps = rng.normal(0, 1, (args.n_galaxies, 8, d)).astype(np.float16)
    n_lab = max(args.n_images, args.n_galaxies)
    lo, hi = activated_outputs(rng.integers(0, 2 * m - 1, n_lab))

    # warm-up: the first optimiser step imports torch's compiler stack (seconds, once)
    w, b = init_heads(m, 8, d, seed=0)
    train_heads(reps[:8], None, np.zeros(8, np.int64), np.zeros(8, np.int64), lo[:8], hi[:8],
                w, b, HeadSettings(iterations=2, batch_size=2))

    rows = []
    for step, n_bins, soft in (("step2", args.n_bins, False), ("step3", args.n_ext, True)):
        lab = _labels(n_lab, n_bins, rng, soft)
        w0, b0 = init_heads(m, n_bins, d, seed=1)
        s = HeadSettings(iterations=args.iterations, batch_size=B, lr=2e-5, seed=0)
        t_img = train_heads_through_trunk(model, images, ebv, lab, lab, lo[:args.n_images],
                                          hi[:args.n_images], w0, b0, s)
        lab_c = lab if soft else lab[:args.n_galaxies]
        if soft:
            lab_c = GaussianLabels(lab.mu[:args.n_galaxies], lab.sigma[:args.n_galaxies], n_bins)
        _, _, sm = train_heads(reps, DIHEDRAL_VIEW_PROBS, lab_c, lab_c, lo[:args.n_galaxies],
                               hi[:args.n_galaxies], w0, b0, s)
        rows.append((f"{step} images ({args.net})", n_bins, args.iterations, t_img, None))
        rows.append((f"{step} cached", n_bins, args.iterations, sm["seconds"], t_img))

    # per-iteration times at paper size for the projection
    per_it = {}
    for step, n_bins, soft in (("step2", args.n_bins, False), ("step3", args.n_ext, True)):
        lab = _labels(args.n_galaxies, n_bins, rng, soft)
        w0, b0 = init_heads(m, n_bins, d, seed=1)
        s = HeadSettings(iterations=args.projection_iterations, batch_size=B, lr=2e-5, seed=0)
        _, _, sm = train_heads(reps, DIHEDRAL_VIEW_PROBS, lab, lab, lo[:args.n_galaxies],
                               hi[:args.n_galaxies], w0, b0, s)
        per_it[step] = sm["seconds"] / args.projection_iterations
        rows.append((f"{step} cached (long)", n_bins, args.projection_iterations,
                     sm["seconds"], None))

    # Step 2 predictions (Eq. 2) and the Eq. 4-8 fit on a 60k subset
    n_fit = 60_000
    grid = RedshiftGrid(0.0, 0.4, args.n_bins)
    w2, b2 = init_heads(m, args.n_bins, d, seed=2)
    reps_fit = rng.normal(0, 1, (n_fit, d)).astype(np.float16)
    t0 = time.perf_counter()
    head_densities(reps_fit, w2, b2, rng.normal(0, 0.03, (m, d)), np.zeros(m))
    t_pred = time.perf_counter() - t0
    z_spec = rng.gamma(4.0, 0.025, n_fit).clip(0, 0.399)
    z_photo = grid.centres[grid.bin_index(z_spec + rng.normal(0, 0.01, n_fit))]
    t0 = time.perf_counter()
    fit_soft_labels(np.arange(n_fit), z_spec, z_photo, rng.integers(0, 2 * m - 1, n_fit),
                    grid, m)
    t_fit = time.perf_counter() - t0

    print(f"\nHead training, one process, {torch.get_num_threads()} threads, batch {B}, "
          f"m = {m}, D = {d} ({args.net})\n")
    print(f"{'method':<26} {'n_bins':>6} {'iterations':>10} {'seconds':>9} {'it/s':>9} "
          f"{'speed-up':>9}")
    for name, n_bins, its, sec, ref in rows:
        speed = f"{ref / sec:9.1f}x" if ref else f"{'':>10}"
        print(f"{name:<26} {n_bins:>6} {its:>10} {sec:9.2f} {its / sec:9.1f} {speed}")
    total = 40_000 * (per_it["step2"] + per_it["step3"]) + t_pred + t_fit
    print(f"\nprojected paper-scale Steps 2+3, one SDSS seed (60k subset, 40k iterations each):")
    print(f"  step2 head training   {40_000 * per_it['step2']:8.1f} s")
    print(f"  step2 predictions     {t_pred:8.1f} s  (60k galaxies, Eq. 2)")
    print(f"  soft-label fit        {t_fit:8.1f} s  (Eqs. 4-8, 60k galaxies)")
    print(f"  step3 head training   {40_000 * per_it['step3']:8.1f} s")
    print(f"  total                 {total:8.1f} s  = {total / 60:.1f} min")


if __name__ == "__main__":
    main()
