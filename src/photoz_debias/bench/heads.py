"""Benchmark: Steps 2 + 3 on cached representations vs through the frozen trunk.

    OMP_WAIT_POLICY=PASSIVE python -m photoz_debias.bench.heads \
        [--net netp] [--iterations 10] [--projection-iterations 1000] [--threads 1 2]

(``OMP_WAIT_POLICY=PASSIVE`` as in the workflow scripts: with other jobs on the cores,
spinning OpenMP threads make the 2-thread runs several times slower.)

Runs, side by side in one process on the CPU, the head training of Step 2 (hard labels,
``n`` bins) and Step 3 (soft Gaussian labels, ``n_ext`` bins) for one seed in three ways,
with the same random draws, batch, learning rate and starting heads, at each thread count:

* ``images``: the authors' way: each mini-batch of 64x64 stamps is augmented
  (``augment.augment``) and pushed through the frozen trunk (``no_grad``) before an
  autograd + ``torch.optim.Adam`` update of the heads (``--iterations`` iterations);
* ``cached, autograd``: cached representations (N, 8, D) float16, a dihedral view drawn
  per sample, and the autograd + fused ``torch.optim.Adam`` step ``heads.train_heads``
  used before (``_autograd_step``);
* ``cached, HeadStep``: ``heads.train_heads`` as it is now: the loss gradient written out,
  one mm for the weight gradient, ``torch._fused_adam_`` in place, no autograd.

The two cached methods run ``--projection-iterations`` iterations at paper size (m = 6,
D = 1024, n = 180 then 360, batch 32), ``--repeats`` times alternating, and the fastest
repeat is kept.  The projected paper-scale Steps 2 + 3 of one SDSS seed (60k subset, 40k
iterations each) is 40k x those per-iteration times plus the Step 2 predictions and the
Eq. 4-8 fit on 60k galaxies.  Inputs are random numbers (speed does not depend on them).
Not a test: numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from photoz_debias.model.augment import DIHEDRAL_VIEW_PROBS, augment
from photoz_debias.grid import RedshiftGrid, activated_outputs
from photoz_debias.debias.heads import HeadSettings, head_densities, init_heads, train_heads, train_heads_with_step
from photoz_debias.model.labels import multichannel_loss
from photoz_debias.model.networks import build_model
from photoz_debias.debias.soft_labels import GaussianLabels, fit_soft_labels


def _autograd_step(weight, bias, m, n, lr):
    """The step ``heads.train_heads`` used before ``HeadStep``: autograd through
    ``labels.multichannel_loss`` and fused ``torch.optim.Adam``."""
    weight.requires_grad_(True)
    bias.requires_grad_(True)
    try:
        opt = torch.optim.Adam([weight, bias], lr=lr, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.Adam([weight, bias], lr=lr)

    def update(x, label_lo, label_hi, lo, hi, x_next=None):
        logits = torch.addmm(bias, x, weight.t()).view(x.shape[0], m, n)
        loss = multichannel_loss(logits, None, label_lo, label_hi, lo, hi)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach()

    return update


def train_heads_through_trunk(model, images, ebv, label_lo, label_hi, lo, hi, w0, b0,
                              settings: HeadSettings) -> float:
    """The authors' way: augmented images through the frozen trunk, then the head update.

    Same sampling, optimiser and loss as the autograd step of ``heads.train_heads``.
    Returns seconds.
    """
    m, n, d = w0.shape
    weight = torch.from_numpy(w0.reshape(m * n, d).copy())
    bias = torch.from_numpy(b0.reshape(m * n).copy())
    update = _autograd_step(weight, bias, m, n, settings.lr)
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
        update(rep, get_lo(idx), get_hi(idx), lo_t[idx], hi_t[idx])
    return time.perf_counter() - t0


def _labels(n_gal, n_bins, rng, soft):
    mu = rng.uniform(0, n_bins, n_gal)
    if soft:
        return GaussianLabels(mu, rng.uniform(1.0, 5.0, n_gal), n_bins)
    return np.floor(mu).astype(np.int64)


def _cached(reps, labels, lo, hi, w0, b0, settings, autograd: bool) -> float:
    """Seconds per iteration of the cached head training with one of the two steps."""
    args = (reps, DIHEDRAL_VIEW_PROBS, *labels, lo, hi, w0, b0, settings)
    if autograd:
        _, _, sm = train_heads_with_step(*args, None, _autograd_step)
    else:
        _, _, sm = train_heads(*args)
    return sm["seconds"] / settings.iterations


def _prediction_and_fit_seconds(rng, n_bins, m, d) -> tuple[float, float]:
    """Step 2 predictions (Eq. 2) and the Eq. 4-8 fit on a 60k subset."""
    n_fit = 60_000
    grid = RedshiftGrid(0.0, 0.4, n_bins)
    w2, b2 = init_heads(m, n_bins, d, seed=2)
    reps_fit = rng.normal(0, 1, (n_fit, d)).astype(np.float16)
    t0 = time.perf_counter()
    head_densities(reps_fit, w2, b2, rng.normal(0, 0.03, (m, d)), np.zeros(m))
    t_pred = time.perf_counter() - t0
    z_spec = rng.gamma(4.0, 0.025, n_fit).clip(0, 0.399)
    z_photo = grid.centres[grid.bin_index(z_spec + rng.normal(0, 0.01, n_fit))]
    t0 = time.perf_counter()
    fit_soft_labels(np.arange(n_fit), z_spec, z_photo, rng.integers(0, 2 * m - 1, n_fit),
                    grid, m)
    return t_pred, time.perf_counter() - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--net", default="netp", choices=["netp", "netcpu"])
    ap.add_argument("--iterations", type=int, default=10,
                    help="iterations through the trunk per step and thread count")
    ap.add_argument("--projection-iterations", type=int, default=1000,
                    help="cached iterations per step at paper size, for the projection")
    ap.add_argument("--repeats", type=int, default=2,
                    help="alternating repeats of each cached run (the fastest is kept)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--n-bins", type=int, default=180)
    ap.add_argument("--n-ext", type=int, default=360)
    ap.add_argument("--n-outputs", type=int, default=6)
    ap.add_argument("--n-galaxies", type=int, default=4000,
                    help="cached galaxies held in memory (speed does not depend on it)")
    ap.add_argument("--n-images", type=int, default=256)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    m, B, n_gal = args.n_outputs, args.batch, args.n_galaxies

    model = build_model(args.net, "multi", n_bins=args.n_bins, n_outputs=m, seed=0)
    d = model.trunk.rep_dim
    images = torch.randn(args.n_images, 5, 64, 64)
    ebv = torch.rand(args.n_images) * 0.1
    reps = rng.normal(0, 1, (n_gal, 8, d)).astype(np.float16)
    n_lab = max(args.n_images, n_gal)
    lo, hi = activated_outputs(rng.integers(0, 2 * m - 1, n_lab))
    steps = []
    for step, n_bins, soft in (("step2", args.n_bins, False), ("step3", args.n_ext, True)):
        lab = _labels(n_lab, n_bins, rng, soft)
        # Step 3's activated outputs have their own soft labels (z* depends on the output)
        lab_hi = _labels(n_lab, n_bins, rng, soft) if soft else lab
        cut = ((GaussianLabels(la.mu[:n_gal], la.sigma[:n_gal], n_bins) for la in (lab, lab_hi))
               if soft else (lab[:n_gal], lab_hi[:n_gal]))
        steps.append((step, n_bins, (lab, lab_hi), tuple(cut), init_heads(m, n_bins, d, seed=1)))

    # warm-up: the first optimiser steps import torch's compiler stack (seconds, once)
    w, b = init_heads(m, 8, d, seed=0)
    zeros = np.zeros(8, np.int64)
    warm = (reps[:8], None, zeros, zeros, lo[:8], hi[:8], w, b,
            HeadSettings(iterations=2, batch_size=2))
    train_heads(*warm)
    train_heads_with_step(*warm, None, _autograd_step)

    rows, per_it = [], {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        for step, n_bins, lab_img, lab_c, (w0, b0) in steps:
            s = HeadSettings(iterations=args.iterations, batch_size=B, lr=2e-5, seed=0)
            t_img = train_heads_through_trunk(model, images, ebv, *lab_img, lo[:args.n_images],
                                              hi[:args.n_images], w0, b0, s) / args.iterations
            s = HeadSettings(iterations=args.projection_iterations, batch_size=B, lr=2e-5,
                             seed=0)
            best = {True: np.inf, False: np.inf}
            for _ in range(args.repeats):
                for autograd in (True, False):
                    best[autograd] = min(best[autograd], _cached(
                        reps, lab_c, lo[:n_gal], hi[:n_gal], w0, b0, s, autograd))
            per_it[threads, step, "autograd"] = best[True]
            per_it[threads, step, "HeadStep"] = best[False]
            rows.append((f"images ({args.net}), autograd", threads, n_bins, args.iterations,
                         t_img, t_img, None))
            for name, autograd in (("cached, autograd", True), ("cached, HeadStep", False)):
                rows.append((name, threads, n_bins, args.projection_iterations,
                             best[autograd], t_img, best[True]))
    t_pred, t_fit = _prediction_and_fit_seconds(rng, args.n_bins, m, d)

    print(f"\nHead training, one process, batch {B}, m = {m}, D = {d} ({args.net}); "
          f"cached: fastest of {args.repeats} alternating runs\n")
    print("| method | threads | bins | iterations | ms / iteration | vs images | "
          "vs cached autograd |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, threads, n_bins, its, sec, ref_img, ref_ag in rows:
        vs_img = f"{ref_img / sec:.0f}x" if sec != ref_img else "1"
        vs_ag = f"{ref_ag / sec:.2f}x" if ref_ag else ""
        print(f"| {name} | {threads} | {n_bins} | {its} | {sec * 1e3:.2f} | {vs_img} | {vs_ag} |")
    print(f"\nStep 2 predictions (60k galaxies, Eq. 2) {t_pred:.1f} s, soft-label fit (Eqs. 4-8) "
          f"{t_fit:.1f} s (at {torch.get_num_threads()} threads)")
    print("\nProjected paper-scale Steps 2 + 3, one SDSS seed (60k subset, 40k iterations each):")
    for threads in args.threads:
        for method in ("autograd", "HeadStep"):
            s2 = 40_000 * per_it[threads, "step2", method]
            s3 = 40_000 * per_it[threads, "step3", method]
            total = s2 + t_pred + t_fit + s3
            print(f"  {threads} thread(s), {method:<8}: Step 2 {s2:6.1f} s + predictions and fit "
                  f"{t_pred + t_fit:4.1f} s + Step 3 {s3:6.1f} s = {total:6.1f} s "
                  f"= {total / 60:.1f} min")


if __name__ == "__main__":
    main()
