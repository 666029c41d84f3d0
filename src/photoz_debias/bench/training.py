"""Training-step benchmark: our step against a plain fp32 loop, same network, same process.

    python -m photoz_debias.bench.training --net netp --unit multi --batch 128 \\
        --device cuda --steps 200 --warmup 30 [--compile]
    python -m photoz_debias.bench.training --net netcpu --device cpu --batch 32 --threads 1 \\
        --steps 150 --warmup 30 --repeats 3

"Ours" is ``training.TrainStep`` fed by ``training.TrainingBatches`` exactly as
``train_model`` runs it: on CUDA the training set resident on the GPU in float16, indices
and augmentation on the GPU, bf16 autocast, channels_last, fused Adam, optionally
``torch.compile(mode="reduce-overhead")``.  "Plain" is the same network and loss in fp32
with the default (non-fused) Adam and the training set on the host, the batch moved to
the device every step.  On the CPU "ours" is the eager loop as ``train_model`` runs it
(each drawn image's view copied straight from the store; the plain loop gathers the batch,
then augments it: the same values) and "ours, CPU fast path" adds
``TrainSettings(cpu_fast=True)``: the step compiled by inductor and fused Adam; its warm-up
column holds the compilation (about 40 s with a cold inductor cache, a few seconds with a
warm one).  FLOPs per
training image (forward + backward) are counted with ``torch.utils.flop_counter`` on the
CPU.  Prints a Markdown table; the images are random (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import copy
import os
import time

import numpy as np
import torch

from photoz_debias.model.networks import build_model
from photoz_debias.model.training import TrainingBatches, TrainSettings, TrainStep, resolve_device


def flops_per_training_image(model, n_bands: int, n_outputs: int, n_bins: int) -> float:
    """Forward + backward FLOPs of one image (loss included), counted on a batch of 2."""
    from torch.utils.flop_counter import FlopCounterMode

    m = copy.deepcopy(model).cpu().float()
    s = TrainSettings(iterations=1, batch_size=2, device="cpu")
    step = TrainStep(m, s, torch.device("cpu"))
    x = torch.randn(2, n_bands, 64, 64)
    batch = (x, torch.zeros(2), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long), torch.zeros(2, dtype=torch.long))
    with FlopCounterMode(display=False) as fc:
        loss = step._loss(*batch)
        loss.backward()
    return fc.get_total_flops() / 2


def time_steps(step: TrainStep, data: TrainingBatches, batch: int, steps: int) -> tuple[float, float]:
    """Images per wall-clock second and per process CPU second over ``steps`` steps (device
    synchronised).  On a shared CPU the second tells what the step costs when the cores are
    not taken by other processes."""
    step.read_loss()  # synchronises
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step(data.next(batch))
    loss = step.read_loss()
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    if not np.isfinite(loss):
        raise RuntimeError(f"non-finite loss {loss} during the benchmark")
    return steps * batch / dt, steps * batch / dc


def _load() -> str:
    try:
        return "load average " + " / ".join(f"{v:.2f}" for v in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "load average unavailable"


def run(args) -> list[dict]:
    device = resolve_device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(args.threads)
    else:
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({torch.get_num_threads()} threads)"
    rng = np.random.default_rng(0)
    n = args.n_train
    x = rng.normal(size=(n, args.n_bands, 64, 64)).astype(np.float32)
    ebv = rng.uniform(0, 0.1, n).astype(np.float32)
    z_bin = rng.integers(0, args.n_bins, n)
    mag_row = rng.integers(0, 2 * args.n_outputs - 1, n)

    base = build_model(args.net, args.unit, n_bins=args.n_bins, n_outputs=args.n_outputs, n_bands=args.n_bands, seed=0)
    params = sum(p.numel() for p in base.parameters())
    flops = flops_per_training_image(base, args.n_bands, args.n_outputs, args.n_bins)
    cuda = device.type == "cuda"
    load_before = _load()

    variants = [("ours", dict(amp=True, channels_last=True, fused_adam=True, compile=args.compile), True)]
    if not cuda:
        variants.append(("ours, CPU fast path", dict(cpu_fast=True), True))
    if not args.no_plain:
        variants.append(("plain fp32", dict(amp=False, channels_last=False, fused_adam=False, compile=False), not cuda))
    # every variant is built and warmed up first, then the timed repeats alternate between
    # them, so that a change of load on a shared machine falls on all of them alike
    runs = []
    for label, opts, resident in variants:
        s = TrainSettings(iterations=args.steps + args.warmup, batch_size=args.batch, device=str(device), **opts)
        model = copy.deepcopy(base).to(device)
        channels_last = s.channels_last and cuda
        if channels_last:
            model = model.to(memory_format=torch.channels_last)
        storage = torch.float16 if (cuda and resident) else torch.float32
        plain = label == "plain fp32"
        data = TrainingBatches(x, ebv, z_bin, mag_row, device, 0, resident, storage, True, channels_last, direct_views=not plain)
        step = TrainStep(model, s, device)
        step.set_lr(s.lr)
        t0 = time.perf_counter()
        for _ in range(args.warmup):
            step(data.next(args.batch))
        step.read_loss()
        runs.append(dict(variant=label, step=step, data=data, warmup_s=time.perf_counter() - t0, rates=[], per_cpu=[]))
    for _ in range(args.repeats):
        for r in runs:
            rate, per_cpu_s = time_steps(r["step"], r["data"], args.batch, args.steps)
            r["rates"].append(rate)
            r["per_cpu"].append(per_cpu_s)
    load_after = _load()

    rows = []
    for r in runs:
        rate = float(np.median(r["rates"]))
        rows.append(dict(variant=r["variant"], rate=rate, rates=r["rates"], per_cpu_s=float(np.median(r["per_cpu"])),
                         tflops=rate * flops / 1e12, warmup_s=r["warmup_s"]))
    del runs
    if cuda:
        torch.cuda.empty_cache()

    print(f"device: {name}; torch {torch.__version__}")
    print(f"network: {args.net}/{args.unit} (n={args.n_bins}, m={args.n_outputs}), batch {args.batch}, "
          f"{params:,} parameters, {flops / 1e9:.3f} GFLOP per training image (fwd+bwd)")
    print(f"steps: {args.steps} timed x {args.repeats} repeats (alternating between the variants; median) "
          f"after {args.warmup} warm-up" + (", torch.compile" if args.compile else ""))
    print(f"before: {load_before}; after: {load_after}")
    print()
    print("| training step | images/s | images per CPU-s | TFLOP/s | vs plain | vs plain, each repeat | warm-up s |")
    print("|---|---|---|---|---|---|---|")
    plain = next((r for r in rows if r["variant"] == "plain fp32"), None)
    for r in rows:
        rel = f"{r['rate'] / plain['rate']:.2f}x" if plain else "-"
        each = ", ".join(f"{a / b:.2f}" for a, b in zip(r["rates"], plain["rates"])) if plain else "-"
        print(f"| {r['variant']} | {r['rate']:,.0f} | {r['per_cpu_s']:,.0f} | {r['tflops']:.3f} | {rel} | {each} | {r['warmup_s']:.1f} |")
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--net", default="netcpu")
    p.add_argument("--unit", default="multi", choices=["single", "multi"])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=30, help="untimed steps per variant (the compilation included)")
    p.add_argument("--repeats", type=int, default=1, help="timed repeats, alternating between the variants")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--no-plain", action="store_true", help="skip the plain fp32 loop")
    p.add_argument("--n-bins", type=int, default=180)
    p.add_argument("--n-outputs", type=int, default=6)
    p.add_argument("--n-bands", type=int, default=5)
    p.add_argument("--n-train", type=int, default=4096, help="size of the random training set")
    p.add_argument("--threads", type=int, default=2, help="CPU threads")
    run(p.parse_args(argv))


if __name__ == "__main__":
    main()
