"""Baseline and Step 1 training (Lin et al. 2022, Sect. 3.2.1, Sect. 4.1, Table 2).

One loop for both: Adam with default betas, mini-batches drawn uniformly WITH replacement
(no epochs), the paper's dihedral augmentation per image, the learning rate divided by 5
after half of the iterations (Table 2 note).  The Baseline (single-channel unit) is trained
with one-hot labels and cross-entropy; Step 1 (multi-channel unit) with the multi-channel
hard labels of ``labels.multichannel_loss`` (Eq. 3).

Reproducibility: the model's initialisation is seeded by ``build_model(seed=...)``; the
batch draws and the augmentation come from two ``torch.Generator`` streams derived from
``TrainSettings.seed``.  On the CPU the same settings give bit-identical weights, and a
run killed and restarted with the same arguments resumes from its last saved state and
ends with exactly the weights of an uninterrupted run (the state holds the model, the
optimiser and both generator states).

The CUDA path keeps the training set resident on the GPU in float16 when it fits, draws the
batch indices and augments on the GPU, and runs the step with bf16 autocast, channels_last,
fused Adam (learning rate held in a tensor so that changing it recompiles nothing) and
optionally ``torch.compile(mode="reduce-overhead")`` (CUDA graphs; fixed batch shape).
It never synchronises with the host inside a step: the loss is accumulated on the device
and read back only at the progress lines.

On the CPU, ``TrainSettings.cpu_fast`` (off by default; ``PHOTOZ_CPU_FAST=1`` in the
workflow) compiles the step with inductor's C++ backend and uses fused Adam:
the same maths, rounded differently (docs/benchmarks.md).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from photoz_debias.model import augment as aug
from photoz_debias.model.checkpoint import load_state, save_checkpoint, save_state
from photoz_debias.errors import InputError
from photoz_debias.grid import activated_outputs
from photoz_debias.model.labels import multichannel_loss, single_channel_loss
from photoz_debias.model.networks import MultiChannelUnit, model_meta, unwrap


@dataclass
class TrainSettings:
    """Hyper-parameters of one Baseline or Step 1 run (Table 2 of Lin et al. 2022).

    iterations : total training iterations (paper: 120,000).
    batch_size : images per iteration (paper: 128 SDSS, 32 CFHTLS).
    lr : initial Adam learning rate (paper: 1e-4).
    lr_drop_factor : the learning rate is divided by this after ``iterations // 2``
        iterations (paper: 5, i.e. 1e-4 -> 2e-5 after 60,000 of 120,000).
    seed : seeds the batch draws and the augmentation (the model's initialisation is
        seeded by ``build_model(seed=...)``).
    checkpoint_iters : completed iterations at which ``iter<N>.pt`` is written (App. D.3).
    log_every : iterations between progress lines (and loss read-backs on the GPU).
    state_every : iterations between resumable-state saves.
    device : 'cpu', 'cuda' or 'auto' (CUDA when available).
    amp : bf16 autocast (CUDA only).
    channels_last : channels-last memory format (CUDA only).
    compile : ``torch.compile`` the loss computation; on CUDA with
        ``mode="reduce-overhead"`` (CUDA graphs).
    fused_adam : ``torch.optim.Adam(fused=True)`` with a tensor learning rate (CUDA only).
    data_on_device : keep the training set on the device: True, False or 'auto' (CUDA: if it
        takes less than 60% of the free GPU memory in float16).
    augment : apply the dihedral augmentation (images only).
    cpu_fast : the CPU fast path: ``torch.compile`` (inductor's C++ backend) of the loss
        computation and ``torch.optim.Adam(fused=True)``.  The same loss and
        optimiser, but fused kernels sum in another order: the weights differ from the
        eager loop's by rounding (deterministic run to run for a seed, thread count and
        machine).  Costs 40-50 s of compilation in a process with a cold inductor
        cache, a few seconds with a warm one.  Ignored on CUDA (the CUDA path has its own settings above).
    """

    iterations: int
    batch_size: int
    lr: float = 1e-4
    lr_drop_factor: float = 5.0
    seed: int = 0
    checkpoint_iters: list[int] = field(default_factory=list)
    log_every: int = 100
    state_every: int = 1000
    device: str = "auto"
    amp: bool = True
    channels_last: bool = True
    compile: bool = False
    fused_adam: bool = True
    data_on_device: bool | str = "auto"
    augment: bool = True
    cpu_fast: bool = False

    def __post_init__(self):
        for name in ("iterations", "batch_size", "log_every", "state_every"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise InputError(f"{name}={v!r}", field=name, expected="a positive integer")
        if not self.lr > 0 or not self.lr_drop_factor > 0:
            raise InputError(f"lr={self.lr}, lr_drop_factor={self.lr_drop_factor}", field="lr", expected="positive values")
        if self.device not in ("cpu", "cuda", "auto") and not str(self.device).startswith("cuda:"):
            raise InputError(f"device={self.device!r}", field="device", expected="'cpu', 'cuda' or 'auto'")

    def lr_at(self, iteration: int) -> float:
        """Learning rate of (0-based) ``iteration``: ``lr``, then ``lr / lr_drop_factor``."""
        return self.lr if iteration < self.iterations // 2 else self.lr / self.lr_drop_factor


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device={device!r} but CUDA is not available", field="device", expected="'cpu' or 'auto'")
    return torch.device(device)


# ``torch.compile(mode="reduce-overhead")`` costs 30-50 s per process and, for Net_P at batch
# 128 on an H100, takes the step from 8,500 to 18,600 images/s (docs/gpu-check-h100,
# tools/gpu_check.sh): it pays off after ~5,500 iterations. ``auto`` compiles from 10,000.
COMPILE_MIN_ITERATIONS = 10_000


def _switch(setting: str | bool | None, name: str) -> bool | None:
    """``1/true/on/yes`` -> True, ``0/false/off/no`` -> False, ``auto``/None/empty -> None."""
    text = "auto" if setting is None or setting == "" else str(setting).strip().lower()
    if text in ("1", "true", "on", "yes"):
        return True
    if text in ("0", "false", "off", "no"):
        return False
    if text != "auto":
        raise InputError(f"{name}={setting!r}", field=name, expected="auto, 1 or 0")
    return None


def cpu_fast_for(setting: str | bool | None) -> bool:
    """Whether a CPU training uses the fast path (``TrainSettings.cpu_fast``).

    Off unless forced on (``1``/``true``/``on``; the workflow reads the environment variable
    ``PHOTOZ_CPU_FAST``): the fast path changes the trained weights by rounding, so the
    eager loop stays the default until the results have been rerun with it.
    """
    return bool(_switch(setting, "PHOTOZ_CPU_FAST"))


def compile_for(setting: str | bool | None, device: str | torch.device, iterations: int) -> bool:
    """Whether a training run compiles its step (``TrainSettings.compile``).

    ``setting``: ``auto`` (or None / empty) compiles on CUDA for runs of at least
    ``COMPILE_MIN_ITERATIONS`` iterations, where the compilation time is won back, and never
    on the CPU; ``1``/``true``/``on`` and ``0``/``false``/``off`` force it (the workflow
    reads it from the environment variable ``PHOTOZ_COMPILE``).
    """
    forced = _switch(setting, "PHOTOZ_COMPILE")
    if forced is not None:
        return forced
    kind = device.type if isinstance(device, torch.device) else str(device).split(":")[0]
    if kind == "auto":
        kind = "cuda" if torch.cuda.is_available() else "cpu"
    return kind == "cuda" and int(iterations) >= COMPILE_MIN_ITERATIONS


def derived_seed(seed: int, stream: int) -> int:
    """Independent 63-bit seed for stream ``stream`` of ``seed`` (no overlap between seeds)."""
    return int(np.random.SeedSequence([int(seed), int(stream)]).generate_state(1, dtype=np.uint64)[0] >> 1)


# ---------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------


class TrainingBatches:
    """The training set on its data device and the random mini-batches drawn from it.

    Batch indices are drawn uniformly with replacement (no epochs) from a generator on the
    data device; images are gathered there, moved to the compute device if needed, then
    augmented there with a second generator (one dihedral view per image, the paper's
    probabilities); on the CPU each drawn image's view is copied straight into the batch
    (``augment.gather_views``; ``direct_views=False``: gather, then augment, the same
    values more slowly).  Returns float32 images (channels_last on request).
    """

    def __init__(
        self,
        x,
        ebv,
        z_bin,
        mag_row,
        device: torch.device,
        seed: int,
        resident: bool,
        storage_dtype: torch.dtype = torch.float32,
        augment: bool = True,
        channels_last: bool = False,
        direct_views: bool = True,
    ):
        self.device = device
        self.data_device = device if resident else torch.device("cpu")
        self.images = np.ndim(x) == 4
        self.x = _to_device_chunked(x, self.data_device, storage_dtype)
        self.ebv = torch.as_tensor(np.asarray(ebv, np.float32)).to(self.data_device)
        lo, hi = activated_outputs(np.asarray(mag_row))
        labels = np.stack([np.asarray(z_bin, np.int64), lo, hi])
        self.labels = torch.as_tensor(labels).to(self.data_device)
        self.n = self.x.shape[0]
        self.augment = augment and self.images
        self.channels_last = channels_last and self.images
        self.direct_views = direct_views and device.type == "cpu" and self.data_device.type == "cpu"
        self.g_index = torch.Generator(device=self.data_device).manual_seed(derived_seed(seed, 0))
        self.g_augment = torch.Generator(device=device).manual_seed(derived_seed(seed, 1))
        self.pin = self.data_device.type == "cpu" and device.type == "cuda"

    def generators(self) -> dict[str, torch.Generator]:
        return {"index": self.g_index, "augment": self.g_augment}

    def next(self, batch_size: int):
        """One mini-batch ``(x, ebv, z_bin, lo, hi)`` on the compute device."""
        idx = torch.randint(0, self.n, (batch_size,), generator=self.g_index, device=self.data_device)
        eb, lb = self.ebv[idx], self.labels[:, idx]
        if self.augment and self.direct_views:
            xb = aug.gather_views(self.x, idx, aug.sample_views(batch_size, self.g_augment))
        else:
            xb = self.x[idx]
            if self.data_device != self.device:
                if self.pin:
                    xb, eb, lb = xb.pin_memory(), eb.pin_memory(), lb.pin_memory()
                xb = xb.to(self.device, non_blocking=True)
                eb = eb.to(self.device, non_blocking=True)
                lb = lb.to(self.device, non_blocking=True)
            if self.augment:
                xb = aug.augment(xb, self.g_augment)
        xb = xb.float()
        if self.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        return xb, eb, lb[0], lb[1], lb[2]


def _to_device_chunked(x, device: torch.device, dtype: torch.dtype, chunk: int = 8192) -> torch.Tensor:
    """Copy a (possibly huge) host array to ``device``/``dtype`` without a full-size temporary."""
    if isinstance(x, torch.Tensor):
        t = x
    else:
        t = torch.from_numpy(np.ascontiguousarray(x))
    if t.device == device and t.dtype == dtype:
        return t
    out = torch.empty(t.shape, dtype=dtype, device=device)
    for s in range(0, t.shape[0], chunk):
        out[s : s + chunk] = t[s : s + chunk].to(device=device, dtype=dtype)
    return out


def _resident_on_device(settings: TrainSettings, device: torch.device, x) -> bool:
    if device.type == "cpu" or settings.data_on_device is True:
        return True
    if settings.data_on_device is False:
        return False
    need = int(np.prod(np.shape(x))) * 2
    free, _ = torch.cuda.mem_get_info(device)
    return need < 0.6 * free


# ---------------------------------------------------------------------------------------
# The step
# ---------------------------------------------------------------------------------------


class TrainStep:
    """Optimiser and one training step (forward, Eq. 3 loss, backward, Adam update).

    The loss of every step is added to a device tensor; ``read_loss`` returns the mean
    since the last read (the only host synchronisation).
    """

    def __init__(self, model: torch.nn.Module, settings: TrainSettings, device: torch.device):
        self.model = model
        self.cuda = device.type == "cuda"
        self.multi = isinstance(unwrap(model).unit, MultiChannelUnit)
        self.amp = settings.amp and self.cuda
        self.tensor_lr = settings.fused_adam and self.cuda
        cpu_fast = settings.cpu_fast and not self.cuda
        lr0 = torch.tensor(settings.lr, device=device) if self.tensor_lr else settings.lr
        fused = True if (self.tensor_lr or cpu_fast) else None
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr0, fused=fused)
        self.loss_fn = self._loss
        self.cudagraphs = False
        if settings.compile or cpu_fast:
            mode = "reduce-overhead" if self.cuda else None
            self.loss_fn = torch.compile(self._loss, mode=mode, dynamic=False)
            self.cudagraphs = self.cuda
        self.loss_sum = torch.zeros((), device=device)
        self.loss_count = 0

    def _loss(self, x, ebv, z_bin, lo, hi):
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.amp):
            out = self.model(x, ebv)
        if self.multi:
            head_logits, mag_logits = out
            return multichannel_loss(head_logits, mag_logits, z_bin, z_bin, lo, hi)
        return single_channel_loss(out, z_bin)

    def set_lr(self, lr: float) -> None:
        for group in self.optimizer.param_groups:
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def restore_tensor_lr(self, device) -> None:
        """After ``load_state``: the optimiser's lr comes back as a CPU tensor or a float."""
        if self.tensor_lr:
            for group in self.optimizer.param_groups:
                group["lr"] = torch.tensor(float(group["lr"]), device=device)

    def __call__(self, batch) -> None:
        # drop last step's gradients before a CUDA-graph replay reuses their memory
        self.optimizer.zero_grad(set_to_none=True)
        if self.cudagraphs:
            torch.compiler.cudagraph_mark_step_begin()
        loss = self.loss_fn(*batch)
        loss.backward()
        self.optimizer.step()
        self.loss_sum += loss.detach()
        self.loss_count += 1

    def read_loss(self) -> float:
        value = float(self.loss_sum) / max(self.loss_count, 1)
        self.loss_sum.zero_()
        self.loss_count = 0
        return value


# ---------------------------------------------------------------------------------------
# The loop
# ---------------------------------------------------------------------------------------


def _validate(model, x, ebv, z_bin, mag_row, n_outputs) -> None:
    n = len(ebv)
    for name, arr in (("x", x), ("z_bin", z_bin), ("mag_row", mag_row)):
        if len(arr) != n:
            raise InputError(f"{len(arr)} rows but ebv has {n}", field=name, expected="one entry per galaxy")
    if n == 0:
        raise InputError("empty training set", field="x", expected="at least one galaxy")
    chunk = 4096
    for s in range(0, n, chunk):
        bad = ~np.isfinite(np.asarray(x[s : s + chunk])).reshape(min(chunk, n - s), -1).all(axis=1)
        if bad.any():
            r = s + int(np.flatnonzero(bad)[0])
            raise InputError("non-finite pixel or feature", row=r, field="x", expected="finite values")
    if not np.isfinite(np.asarray(ebv)).all():
        r = int(np.flatnonzero(~np.isfinite(np.asarray(ebv)))[0])
        raise InputError("non-finite E(B-V)", row=r, field="ebv", expected="finite values")
    unit = unwrap(model).unit
    z_bin = np.asarray(z_bin)
    bad = np.flatnonzero((z_bin < 0) | (z_bin >= unit.n_bins))
    if len(bad):
        raise InputError(f"z_bin {z_bin[bad[0]]}", row=int(bad[0]), field="z_bin", expected=f"0 <= z_bin < {unit.n_bins}")
    if isinstance(unit, MultiChannelUnit):
        if n_outputs != unit.n_outputs:
            raise InputError(f"n_outputs={n_outputs}, model has {unit.n_outputs}", field="n_outputs", expected="the model's m")
        mag_row = np.asarray(mag_row)
        bad = np.flatnonzero((mag_row < 0) | (mag_row > 2 * n_outputs - 2))
        if len(bad):
            raise InputError(
                f"mag_row {mag_row[bad[0]]}", row=int(bad[0]), field="mag_row", expected=f"0 <= mag_row <= {2 * n_outputs - 2}"
            )


def _fingerprint(settings: TrainSettings, model, n: int) -> str:
    """What a saved state must agree with to be resumed (not logging/checkpoint cadence)."""
    keep = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("checkpoint_iters", "log_every", "state_every", "compile")}
    if not settings.cpu_fast:
        del keep["cpu_fast"]  # states saved before the fast path existed still resume
    blob = json.dumps([keep, model_meta(model), int(n)], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _hms(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 3600:d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def train_model(
    model: torch.nn.Module,
    x,
    ebv,
    z_bin,
    mag_row,
    n_outputs: int,
    settings: TrainSettings,
    out_path,
    state_path=None,
    checkpoint_dir=None,
    log=None,
    meta: dict | None = None,
    max_iterations_this_call: int | None = None,
) -> dict:
    """Train a Baseline (single unit) or Step 1 (multi unit) model; write its checkpoint.

    Parameters
    ----------
    model : a ``PhotoZNet`` from ``build_model`` (initialised with its seed).
    x : (N, C, H, W) float32 images (Eq. 1 already applied) or (N, F) features.
    ebv : (N,) E(B-V) in magnitudes.
    z_bin : (N,) int redshift bin of each galaxy's z_spec on the output grid (hard labels).
    mag_row : (N,) int magnitude row (``grid.MagnitudeRows.row_index``); used by Step 1.
    n_outputs : m, the number of magnitude outputs (Step 1).
    settings : ``TrainSettings`` (Table 2).
    out_path : final checkpoint (``checkpoint.save_checkpoint``), written atomically.
    state_path : resumable state; if it exists with matching settings, training resumes
        from it; removed when training finishes.  None: no state is saved.
    checkpoint_dir : where ``iter<N>.pt`` go for ``settings.checkpoint_iters``.
    log : file-like for progress lines (None: silent).
    meta : extra plain-typed entries for the checkpoint's meta (grid, ...).
    max_iterations_this_call : stop (saving the state) after this many iterations of this
        call; the next call resumes.  For time-limited jobs and tests.

    Returns
    -------
    dict: ``finished`` (bool), ``iteration`` (completed), ``resumed_from``, ``loss`` (mean
    loss of the last log window), ``images_per_s`` (this call), ``elapsed_s``, ``device``.
    """
    device = resolve_device(settings.device)
    _validate(model, x, ebv, z_bin, mag_row, n_outputs)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    images = np.ndim(x) == 4
    channels_last = settings.channels_last and device.type == "cuda" and images
    model.to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    resident = _resident_on_device(settings, device, x)
    storage = torch.float16 if (device.type == "cuda" and images) else torch.float32
    data = TrainingBatches(x, ebv, z_bin, mag_row, device, settings.seed, resident, storage, settings.augment, channels_last)
    step = TrainStep(model, settings, device)
    fingerprint = _fingerprint(settings, model, len(ebv))

    def say(line: str) -> None:
        if log is not None:
            log.write(line + "\n")
            log.flush()

    start = 0
    if state_path is not None and os.path.exists(state_path):
        st = load_state(state_path, model, step.optimizer, data.generators(), {"fingerprint": fingerprint})
        if st is not None:
            start = st["iteration"]
            step.restore_tensor_lr(device)
            say(f"resuming from {state_path} at iteration {start}")
        else:
            # left by a run with other settings or data: it will be overwritten
            say(f"ignoring {state_path}: saved with other settings or data; starting afresh")
    say(
        f"training {model_meta(model)['net']}/{model_meta(model)['unit']} on {device} "
        f"({'resident' if resident else 'host'} data, {len(ebv)} galaxies): "
        f"{settings.iterations} iterations x batch {settings.batch_size}, seed {settings.seed}"
    )

    total = settings.iterations
    stop = total if max_iterations_this_call is None else min(total, start + max_iterations_this_call)
    ckpt_iters = set(int(i) for i in settings.checkpoint_iters)
    t0 = t_log = time.perf_counter()
    last_log_it = start
    loss = float("nan")
    current_lr = None
    it = start
    for it in range(start, stop):
        lr = settings.lr_at(it)
        if lr != current_lr:
            step.set_lr(lr)
            current_lr = lr
        step(data.next(settings.batch_size))
        done = it + 1
        if done % settings.log_every == 0 or done == stop:
            loss = step.read_loss()  # host sync
            now = time.perf_counter()
            rate = (done - last_log_it) * settings.batch_size / max(now - t_log, 1e-9)
            elapsed = now - t0
            eta = elapsed / (done - start) * (total - done)
            say(
                f"iter {done}/{total} loss {loss:.4f} lr {lr:.2e} img/s {rate:.0f} "
                f"elapsed {_hms(elapsed)} eta {_hms(eta)}"
            )
            t_log, last_log_it = now, done
        if done in ckpt_iters and checkpoint_dir is not None:
            save_checkpoint(Path(checkpoint_dir) / f"iter{done}.pt", model, _meta(settings, meta, done))
        if state_path is not None and (done % settings.state_every == 0 or done == stop) and done < total:
            save_state(state_path, model, step.optimizer, done, data.generators(), {"fingerprint": fingerprint})
    completed = stop if stop > start else start
    elapsed = time.perf_counter() - t0
    finished = completed >= total
    if finished:
        save_checkpoint(out_path, model, _meta(settings, meta, total))
        if state_path is not None and os.path.exists(state_path):
            os.remove(state_path)
        say(f"done: {out_path}")
    return {
        "finished": finished,
        "iteration": completed,
        "resumed_from": start,
        "loss": loss,
        "images_per_s": (completed - start) * settings.batch_size / max(elapsed, 1e-9),
        "elapsed_s": elapsed,
        "device": str(device),
    }


def _meta(settings: TrainSettings, meta: dict | None, iteration: int) -> dict:
    out = {
        "iterations": int(iteration),
        "seed": int(settings.seed),
        "batch_size": int(settings.batch_size),
        "lr": float(settings.lr),
        "lr_drop_factor": float(settings.lr_drop_factor),
    }
    out.update(meta or {})
    return out
