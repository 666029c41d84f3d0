"""Training the redshift heads on cached representations (Lin et al. 2022, Sects. 3.2.2-3.2.3).

Steps 2 and 3 (and the variants 3a, 3b, 3\\2) train ONLY the ``m`` redshift heads of the
multi-channel output unit; the convolutional trunk, both fully-connected layers and the
magnitude head stay as Step 1 left them (method.md, "Training").  The heads see the
images only through the representation, so training them on the cached representations
of the 8 dihedral views is the same optimisation problem as pushing augmented images
through the frozen trunk, at a fraction of the cost:

* mini-batches of ``batch_size`` galaxies drawn uniformly WITH replacement (no epochs);
* for each sample a dihedral view drawn with ``augment.DIHEDRAL_VIEW_PROBS`` (rotations
  1/12, reflections 1/6), which is the paper's rotation + flip augmentation exactly;
* Adam with default betas and a constant learning rate (2e-5 in the paper, Table 2);
* loss = ``labels.multichannel_loss`` with ``mag_logits=None`` (the magnitude head is
  frozen, so its cross-entropy has no gradient to give).

Everything random comes from one seeded ``torch.Generator``, so a seed gives the same heads
on the same machine and thread count.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from .errors import InputError
from .labels import combined_density, multichannel_loss


@dataclass(frozen=True)
class HeadSettings:
    """Training settings of Steps 2 and 3 (Table 2 of Lin et al. 2022: 40k iterations,
    batch 32, lr 2e-5 constant).

    ``log_every``: iterations between progress lines.  ``device``: 'cpu' or 'cuda[:i]'.
    """

    iterations: int = 40_000
    batch_size: int = 32
    lr: float = 2e-5
    seed: int = 0
    log_every: int = 1000
    device: str = "cpu"


def init_heads(m: int, n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh redshift heads for Step 3's extended grid (Sect. 3.2.3).

    Uses ``networks.init_weights`` on a ``MultiChannelUnit`` (Xavier-uniform per head with
    fan-in ``d`` and fan-out ``n``, bias 0.1), seeded by ``seed``.

    Returns
    -------
    heads_weight : (m, n, d) float32
    heads_bias : (m, n) float32
    """
    from .networks import MultiChannelUnit, init_weights

    unit = MultiChannelUnit(int(d), int(n), int(m))
    init_weights(unit, torch.Generator().manual_seed(int(seed)))
    return (unit.heads_weight.detach().numpy().copy(), unit.heads_bias.detach().numpy().copy())


def _check_labels(label, n_gal: int, n_bins: int, field: str):
    if callable(label):
        if hasattr(label, "__len__") and len(label) != n_gal:
            raise InputError(f"{len(label)} labels for {n_gal} galaxies", field=field,
                             expected="one label per galaxy")
        if getattr(label, "n_bins", n_bins) != n_bins:
            raise InputError(f"labels over {label.n_bins} bins, heads have {n_bins}",
                             field=field, expected=f"{n_bins} bins")
        return label
    a = np.asarray(label)
    if a.shape[0] != n_gal:
        raise InputError(f"{a.shape[0]} labels for {n_gal} galaxies", field=field,
                         expected="one label per galaxy")
    if a.ndim == 1:
        if not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n_bins:
            raise InputError(f"dtype {a.dtype}, range {a.min()}..{a.max()}", field=field,
                             expected=f"integer bins in 0..{n_bins - 1}")
        t = torch.from_numpy(a.astype(np.int64))
    elif a.ndim == 2 and a.shape[1] == n_bins:
        t = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
    else:
        raise InputError(f"got shape {a.shape}", field=field,
                         expected=f"(N,) int bins or (N, {n_bins}) densities")
    return lambda idx: t[idx]


def train_heads(
    reps: np.ndarray,
    view_probs,
    label_lo,
    label_hi,
    lo: np.ndarray,
    hi: np.ndarray,
    heads_weight0: np.ndarray,
    heads_bias0: np.ndarray,
    settings: HeadSettings,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Train the ``m`` redshift heads on frozen representations (Steps 2, 3, 3a, 3b, 3\\2).

    Parameters
    ----------
    reps : (N, V, D) or (N, D) float16/float32
        Cached representations: ``V`` dihedral views per galaxy (order of
        ``augment.DIHEDRAL_VIEWS``), or a single view.
    view_probs : (V,) or None
        Probability of drawing each view (``augment.DIHEDRAL_VIEW_PROBS``); None = uniform.
    label_lo, label_hi
        Redshift labels of the activated outputs ``lo`` and ``hi``: (N,) int bins (hard),
        (N, n) float densities, or a callable mapping a (B,) int64 index tensor to (B, n)
        float labels (e.g. ``soft_labels.GaussianLabels``).
    lo, hi : (N,) int
        Activated magnitude outputs (``grid.activated_outputs(mag_row)``).
    heads_weight0 : (m, n, D), heads_bias0 : (m, n)
        Starting heads: Step 1's (Step 2) or ``init_heads`` on the extended grid (Step 3).
    settings : HeadSettings
    log : callable taking one progress line, optional.

    Returns
    -------
    heads_weight : (m, n, D) float32
    heads_bias : (m, n) float32
    summary : dict
        ``iterations, batch_size, lr, seed, seconds, samples_per_s, final_loss`` and
        ``loss_history`` (list of ``[iteration, mean loss over the log window]``).
    """
    reps = np.asarray(reps)
    if reps.ndim == 2:
        reps = reps[:, None, :]
    if reps.ndim != 3:
        raise InputError(f"got shape {reps.shape}", field="reps", expected="(N, V, D) or (N, D)")
    n_gal, n_views, d = reps.shape
    w0 = np.asarray(heads_weight0, dtype=np.float32)
    b0 = np.asarray(heads_bias0, dtype=np.float32)
    if w0.ndim != 3 or w0.shape[2] != d or b0.shape != w0.shape[:2]:
        raise InputError(f"heads_weight {w0.shape}, heads_bias {b0.shape}, D = {d}",
                         field="heads_weight0", expected="(m, n, D) and (m, n)")
    m, n, _ = w0.shape
    lo = np.asarray(lo, dtype=np.int64)
    hi = np.asarray(hi, dtype=np.int64)
    for name, a in (("lo", lo), ("hi", hi)):
        if a.shape != (n_gal,) or (a.size and (a.min() < 0 or a.max() >= m)):
            raise InputError(f"shape {a.shape}", field=name,
                             expected=f"({n_gal},) outputs in 0..{m - 1}")
    if n_gal == 0:
        raise InputError("no training galaxies", field="reps", expected="N >= 1")
    if view_probs is None:
        probs = torch.full((n_views,), 1.0 / n_views, dtype=torch.float64)
    else:
        probs = torch.as_tensor(np.asarray(view_probs, dtype=np.float64))
        if probs.shape != (n_views,) or (probs < 0).any() or abs(float(probs.sum()) - 1) > 1e-6:
            raise InputError(f"got {view_probs}", field="view_probs",
                             expected=f"{n_views} non-negative probabilities summing to 1")
    get_lo = _check_labels(label_lo, n_gal, n, "label_lo")
    get_hi = _check_labels(label_hi, n_gal, n, "label_hi")

    device = torch.device(settings.device)
    reps_t = torch.from_numpy(np.ascontiguousarray(reps))
    if device.type != "cpu":
        reps_t = reps_t.to(device)
    lo_t, hi_t = torch.from_numpy(lo), torch.from_numpy(hi)
    # (m*n, D) so the forward pass is one addmm and the weight gradient one matmul.
    weight = torch.nn.Parameter(torch.from_numpy(w0.reshape(m * n, d).copy()).to(device))
    bias = torch.nn.Parameter(torch.from_numpy(b0.reshape(m * n).copy()).to(device))
    try:
        opt = torch.optim.Adam([weight, bias], lr=settings.lr, fused=True)
    except (RuntimeError, TypeError):
        opt = torch.optim.Adam([weight, bias], lr=settings.lr)
    gen = torch.Generator().manual_seed(int(settings.seed))
    B = int(settings.batch_size)

    history, window, window_n = [], torch.zeros((), device=device), 0
    t0 = time.perf_counter()
    for it in range(1, int(settings.iterations) + 1):
        idx = torch.randint(n_gal, (B,), generator=gen)
        views = torch.multinomial(probs, B, replacement=True, generator=gen)
        x = reps_t[idx.to(reps_t.device), views.to(reps_t.device)].to(device, torch.float32)
        logits = torch.addmm(bias, x, weight.t()).view(B, m, n)
        loss = multichannel_loss(logits, None, get_lo(idx).to(device), get_hi(idx).to(device),
                                 lo_t[idx].to(device), hi_t[idx].to(device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        window = window + loss.detach()
        window_n += 1
        if it % max(int(settings.log_every), 1) == 0 or it == settings.iterations:
            mean_loss = float(window) / window_n
            history.append([it, mean_loss])
            window, window_n = torch.zeros((), device=device), 0
            if log is not None:
                el = time.perf_counter() - t0
                log(f"iter {it:7d}  loss {mean_loss:.5f}  lr {settings.lr:.2e}  "
                    f"samples/s {it * B / el:9.0f}  elapsed {el:8.1f}s")
    seconds = time.perf_counter() - t0
    summary = dict(
        iterations=int(settings.iterations), batch_size=B, lr=float(settings.lr),
        seed=int(settings.seed), seconds=seconds,
        samples_per_s=settings.iterations * B / max(seconds, 1e-9),
        final_loss=history[-1][1] if history else float("nan"), loss_history=history,
    )
    w = weight.detach().cpu().numpy().reshape(m, n, d)
    b = bias.detach().cpu().numpy().reshape(m, n)
    return w, b, summary


@torch.no_grad()
def head_densities(reps: np.ndarray, heads_weight: np.ndarray, heads_bias: np.ndarray,
                   mag_weight: np.ndarray, mag_bias: np.ndarray,
                   chunk: int = 4096) -> np.ndarray:
    """Combined densities of Eq. 2 of Lin et al. 2022 from representations.

    ``p(z) = sum_k softmax(head_k)(z) softmax(mag_head)_k``.

    Parameters
    ----------
    reps : (N, D) representations (float16/32).
    heads_weight : (m, n, D), heads_bias : (m, n)
    mag_weight : (m, D), mag_bias : (m,)  the (frozen, Step 1) magnitude head.

    Returns
    -------
    (N, n) float32, rows sum to one.
    """
    reps = np.asarray(reps)
    w = torch.from_numpy(np.asarray(heads_weight, dtype=np.float32))
    b = torch.from_numpy(np.asarray(heads_bias, dtype=np.float32))
    mw = torch.from_numpy(np.asarray(mag_weight, dtype=np.float32))
    mb = torch.from_numpy(np.asarray(mag_bias, dtype=np.float32))
    m, n, d = w.shape
    if reps.ndim != 2 or reps.shape[1] != d or mw.shape != (m, d) or mb.shape != (m,):
        raise InputError(f"reps {reps.shape}, heads {tuple(w.shape)}, mag head {tuple(mw.shape)}",
                         field="reps", expected="(N, D) with heads (m, n, D) and mag head (m, D)")
    w2, b2 = w.reshape(m * n, d), b.reshape(m * n)
    out = np.empty((reps.shape[0], n), dtype=np.float32)
    for a in range(0, reps.shape[0], chunk):
        x = torch.from_numpy(np.asarray(reps[a : a + chunk], dtype=np.float32))
        logits = torch.addmm(b2, x, w2.t()).view(-1, m, n)
        out[a : a + chunk] = combined_density(logits, torch.addmm(mb, x, mw.t())).numpy()
    return out
