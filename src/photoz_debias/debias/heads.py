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

from photoz_debias.errors import InputError
from photoz_debias.model.labels import combined_density


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


def head_settings(heads: dict, seed: int, log_every: int | None = None,
                  device: str = "cpu") -> HeadSettings:
    """HeadSettings from a dataset's ``heads`` config block (a progress line every tenth)."""
    it = heads["iterations"]
    return HeadSettings(iterations=it, batch_size=heads["batch_size"], lr=heads["lr"],
                        seed=seed, log_every=log_every or max(1, it // 10), device=device)


def init_heads(m: int, n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh redshift heads for Step 3's extended grid (Sect. 3.2.3).

    Uses ``networks.init_weights`` on a ``MultiChannelUnit`` (Xavier-uniform per head with
    fan-in ``d`` and fan-out ``n``, bias 0.1), seeded by ``seed``.

    Returns
    -------
    heads_weight : (m, n, d) float32
    heads_bias : (m, n) float32
    """
    from photoz_debias.model.networks import MultiChannelUnit, init_weights

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


def multichannel_loss_grad(logits: torch.Tensor, label_lo: torch.Tensor, label_hi: torch.Tensor,
                           lo: torch.Tensor, hi: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """``labels.multichannel_loss(logits, None, ...)`` and its gradient, without autograd.

    The loss is ``(1/B) sum_b sum_k CE(softmax(logits[b, k]), t[b, k])`` with the target
    ``t[b, k]`` the flat label ``1/n`` on every head but the activated ones: ``label_lo``
    on head ``lo[b]``, then ``label_hi`` on head ``hi[b]`` (which wins where they are the
    same head, as in ``multichannel_loss``).  Its gradient with respect to ``logits[b, k]``
    is ``(softmax * sum(t) - t) / B``; ``sum(t) = 1`` for the flat and hard labels, and is
    kept for soft labels so that densities that are not exactly normalised still give
    autograd's gradient.  Hard labels are never expanded to one-hot rows.

    Parameters
    ----------
    logits : (B, m, n) float32
    label_lo, label_hi : (B,) int64 bins or (B, n) densities
    lo, hi : (B,) int64 activated heads
    grad : (B, m, n) float32, overwritten with d loss / d logits

    Returns
    -------
    The loss, a 0-d tensor.
    """
    n_batch, _, n = logits.shape
    log_p = torch.log_softmax(logits, dim=2)
    torch.exp(log_p, out=grad)
    b = torch.arange(n_batch, device=logits.device)
    rows = [(grad[b, lo], lo, label_lo, log_p[b, lo]), (grad[b, hi], hi, label_hi, log_p[b, hi])]
    ce = log_p.mean(dim=2).neg_()
    grad.sub_(1.0 / n)
    for p_rows, heads, label, lp in rows:
        if label.dtype in (torch.int64, torch.int32):
            label = label.long()
            ce[b, heads] = lp[b, label].neg_()
            p_rows[b, label] -= 1.0
        else:
            label = label.to(logits.dtype)
            ce[b, heads] = (label * lp).sum(dim=1).neg_()
            p_rows.mul_(label.sum(dim=1, keepdim=True)).sub_(label)
        grad[b, heads] = p_rows
    grad.div_(n_batch)
    return ce.sum(dim=1).mean()


def _has_fused_adam(device: torch.device) -> bool:
    """Whether this torch has ``torch._fused_adam_`` for float32 tensors on ``device``."""
    if not hasattr(torch, "_fused_adam_"):
        return False
    z = [torch.zeros(1, device=device) for _ in range(4)]
    try:
        torch._fused_adam_(z[:1], z[1:2], z[2:3], z[3:], [], [torch.ones((), device=device)],
                           lr=0.0, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8,
                           amsgrad=False, maximize=False)
    except (RuntimeError, NotImplementedError):
        return False
    return True


class AdamStep:
    """Adam (default betas and eps, bias correction, no weight decay) updating tensors in place.

    The same update as ``torch.optim.Adam``: ``torch._fused_adam_`` where torch has it for
    the device (one pass over parameter, gradient and moments), otherwise the single-tensor
    algorithm of ``torch.optim.Adam`` written with in-place ops.  ``adam(grads)`` is one
    step of every parameter; ``adam.next_step()`` then ``adam.update(i, grad, rows)`` for
    row blocks covering each parameter is the same step done block by block (while a block's
    gradient is still in cache).
    """

    def __init__(self, params: list[torch.Tensor], lr: float, betas=(0.9, 0.999),
                 eps: float = 1e-8, fused: bool | None = None):
        self.params, self.lr, self.betas, self.eps = params, float(lr), betas, float(eps)
        self.exp_avgs = [torch.zeros_like(p) for p in params]
        self.exp_avg_sqs = [torch.zeros_like(p) for p in params]
        self.step_t = torch.zeros((), dtype=torch.float32, device=params[0].device)
        self.n_steps = 0
        self.fused = _has_fused_adam(params[0].device) if fused is None else bool(fused)
        self._denoms = None if self.fused else [torch.empty_like(p) for p in params]

    def next_step(self) -> None:
        self.n_steps += 1
        self.step_t.add_(1)

    def update(self, i: int, grad: torch.Tensor, rows: slice = slice(None)) -> None:
        """Adam on rows ``rows`` of parameter ``i`` with their gradient ``grad``."""
        beta1, beta2 = self.betas
        p, m1, m2 = self.params[i][rows], self.exp_avgs[i][rows], self.exp_avg_sqs[i][rows]
        if self.fused:
            torch._fused_adam_([p], [grad], [m1], [m2], [], [self.step_t], lr=self.lr,
                               beta1=beta1, beta2=beta2, weight_decay=0.0, eps=self.eps,
                               amsgrad=False, maximize=False)
            return
        step_size = self.lr / (1 - beta1**self.n_steps)
        bias_correction2_sqrt = (1 - beta2**self.n_steps) ** 0.5
        m1.lerp_(grad, 1 - beta1)
        m2.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = torch.sqrt(m2, out=self._denoms[i][rows]).div_(bias_correction2_sqrt)
        p.addcdiv_(m1, denom.add_(self.eps), value=-step_size)

    def __call__(self, grads: list[torch.Tensor]) -> None:
        self.next_step()
        for i, g in enumerate(grads):
            self.update(i, g)


class HeadStep:
    """One training step of the heads without autograd.

    Logits by one addmm; the loss gradient written out (``multichannel_loss_grad``); the
    bias gradient by a sum; then head by head: the weight gradient (one mm), Adam in place
    on that head's rows and, when the next batch ``x_next`` is given, that head's logits for
    the next step (so each head's weights, gradient and moments are read from memory once
    per step, not three times).  Buffers are allocated once.

    ``weight`` (m n, D) and ``bias`` (m n,) are updated in place.  Calling the step with a
    batch ``x`` (B, D), labels, activated heads and optionally ``x_next`` (the ``x`` of the
    next call, which the caller must not change in between) returns the batch loss (0-d).
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, m: int, n: int, lr: float):
        self.weight, self.bias, self.m, self.n = weight, bias, int(m), int(n)
        self.adam = AdamStep([weight, bias], lr)
        self.grad_w, self.grad_b = torch.empty_like(weight), torch.empty_like(bias)
        self.heads = [slice(k * self.n, (k + 1) * self.n) for k in range(self.m)]
        self._buffers: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._logits_of = None  # the x whose logits are in the buffer

    def __call__(self, x, label_lo, label_hi, lo, hi, x_next=None) -> torch.Tensor:
        n_batch = x.shape[0]
        if n_batch not in self._buffers:
            self._buffers[n_batch] = (x.new_empty(n_batch, self.m * self.n),
                                      x.new_empty(n_batch, self.m * self.n))
        logits, grad = self._buffers[n_batch]
        if self._logits_of is not x:
            torch.addmm(self.bias, x, self.weight.t(), out=logits)
        loss = multichannel_loss_grad(logits.view(n_batch, self.m, self.n), label_lo, label_hi,
                                      lo, hi, grad.view(n_batch, self.m, self.n))
        torch.sum(grad, dim=0, out=self.grad_b)
        self.adam.next_step()
        self.adam.update(1, self.grad_b)
        ahead = x_next is not None and x_next.shape[0] == n_batch
        for rows in self.heads:
            torch.mm(grad[:, rows].t(), x, out=self.grad_w[rows])
            self.adam.update(0, self.grad_w[rows], rows)
            if ahead:
                torch.addmm(self.bias[rows], x_next, self.weight[rows].t(), out=logits[:, rows])
        self._logits_of = x_next if ahead else None
        return loss


StepFactory = Callable[[torch.Tensor, torch.Tensor, int, int, float], Callable]


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

    Each iteration is a ``HeadStep`` (no autograd).  Threads: torch's current setting
    (``torch.set_num_threads``; the workflow sets it from the rule's threads).

    Returns
    -------
    heads_weight : (m, n, D) float32
    heads_bias : (m, n) float32
    summary : dict
        ``iterations, batch_size, lr, seed, seconds, samples_per_s, final_loss`` and
        ``loss_history`` (list of ``[iteration, mean loss over the log window]``).
    """
    return train_heads_with_step(reps, view_probs, label_lo, label_hi, lo, hi, heads_weight0, heads_bias0,
                  settings, log, HeadStep)


def train_heads_with_step(reps, view_probs, label_lo, label_hi, lo, hi, heads_weight0, heads_bias0,
           settings: HeadSettings, log, step: StepFactory):
    """``train_heads`` with the step as a parameter: ``step(weight, bias, m, n, lr)`` on the
    (m n, D) and (m n,) float32 tensors returns a callable ``(x, label_lo, label_hi, lo, hi,
    x_next=None) -> loss`` that updates them in place (``x_next``: the next call's batch, or
    None at the last); the benchmark passes the autograd step."""
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
    same_labels = label_hi is label_lo
    get_lo = _check_labels(label_lo, n_gal, n, "label_lo")
    get_hi = get_lo if same_labels else _check_labels(label_hi, n_gal, n, "label_hi")

    device = torch.device(settings.device)
    reps_t = torch.from_numpy(np.ascontiguousarray(reps))
    if device.type != "cpu":
        reps_t = reps_t.to(device)
    lo_t, hi_t = torch.from_numpy(lo).to(device), torch.from_numpy(hi).to(device)
    # (m*n, D) so the forward pass is one addmm and the weight gradient one matmul.
    weight = torch.from_numpy(w0.reshape(m * n, d).copy()).to(device)
    bias = torch.from_numpy(b0.reshape(m * n).copy()).to(device)
    update = step(weight, bias, m, n, float(settings.lr))
    gen = torch.Generator().manual_seed(int(settings.seed))
    B = int(settings.batch_size)
    buffers = [torch.empty((B, d), dtype=torch.float32, device=device) for _ in range(2)]

    def draw(it: int):
        """Batch ``it``: galaxies, then views, from ``gen`` (in this order, batch by batch)."""
        idx = torch.randint(n_gal, (B,), generator=gen)
        views = torch.multinomial(probs, B, replacement=True, generator=gen)
        idx_d = idx.to(device)
        x = buffers[it % 2].copy_(reps_t[idx_d, views.to(device)])
        y_lo = get_lo(idx).to(device)
        y_hi = y_lo if same_labels else get_hi(idx).to(device)
        return x, y_lo, y_hi, lo_t[idx_d], hi_t[idx_d]

    history, window, window_n = [], torch.zeros((), device=device), 0
    t0 = time.perf_counter()
    n_it = int(settings.iterations)
    batch = draw(1) if n_it > 0 else None
    for it in range(1, n_it + 1):
        # the next batch is drawn before this update (which draws nothing), so the step can
        # compute its logits while each head's new weights are in cache
        nxt = draw(it + 1) if it < n_it else None
        window += update(*batch, x_next=None if nxt is None else nxt[0]).detach()
        batch = nxt
        window_n += 1
        if it % max(int(settings.log_every), 1) == 0 or it == n_it:
            mean_loss = float(window) / window_n
            history.append([it, mean_loss])
            window.zero_()
            window_n = 0
            if log is not None:
                el = time.perf_counter() - t0
                log(f"iter {it:7d}  loss {mean_loss:.5f}  lr {settings.lr:.2e}  "
                    f"samples/s {it * B / el:9.0f}  elapsed {el:8.1f}s")
    seconds = time.perf_counter() - t0
    summary = dict(
        iterations=int(settings.iterations), batch_size=B, lr=float(settings.lr),
        seed=int(settings.seed), device=str(device), seconds=seconds,
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
