"""The head training step without autograd (heads.HeadStep) against autograd + torch Adam."""

import numpy as np
import pytest
import torch

from photoz_debias.model.augment import DIHEDRAL_VIEW_PROBS
from photoz_debias.grid import activated_outputs
from photoz_debias.debias.heads import (AdamStep, HeadSettings, init_heads, multichannel_loss_grad,
                                 train_heads)
from photoz_debias.model.labels import multichannel_loss
from photoz_debias.debias.soft_labels import GaussianLabels

torch.set_num_threads(1)


def _batch(B=16, m=3, n=11, soft=False, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, m, n, generator=g, dtype=torch.float64).float() * 3
    rows = torch.randint(0, 2 * m - 1, (B,), generator=g)
    lo, hi = (torch.from_numpy(a) for a in activated_outputs(rows.numpy()))
    if soft:
        lab = [torch.rand(B, n, generator=g) ** 4 for _ in range(2)]
        lab = [y / y.sum(dim=1, keepdim=True) for y in lab]
    else:
        lab = [torch.randint(0, n, (B,), generator=g) for _ in range(2)]
    return logits, lab[0], lab[1], lo, hi


@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("rows", ["mixed", "even", "odd"])
def test_loss_and_gradient_equal_autograd(soft, rows):
    logits, y_lo, y_hi, lo, hi = _batch(soft=soft, seed=3 if soft else 4)
    if rows == "even":
        lo = hi.clone()
    elif rows == "odd":
        hi = torch.clamp(lo + 1, max=logits.shape[1] - 1)
        lo = hi - 1
    assert (rows != "even") or bool((lo == hi).all())
    assert (rows != "odd") or bool((lo != hi).all())
    ref_logits = logits.clone().requires_grad_(True)
    ref = multichannel_loss(ref_logits, None, y_lo, y_hi, lo, hi)
    ref.backward()
    grad = torch.full_like(logits, float("nan"))
    loss = multichannel_loss_grad(logits, y_lo, y_hi, lo, hi, grad)
    torch.testing.assert_close(loss, ref.detach(), rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(grad, ref_logits.grad, rtol=1e-5, atol=1e-8)
    # the gradient of the mean loss: every head's rows sum to zero (normalised targets)
    torch.testing.assert_close(grad.sum(dim=2), torch.zeros(grad.shape[:2]), rtol=0, atol=1e-7)


def test_gradient_of_unnormalised_soft_labels_equals_autograd():
    logits, y_lo, y_hi, lo, hi = _batch(soft=True, seed=5)
    y_lo, y_hi = y_lo * 1.3, y_hi * 0.7
    ref_logits = logits.clone().requires_grad_(True)
    multichannel_loss(ref_logits, None, y_lo, y_hi, lo, hi).backward()
    grad = torch.empty_like(logits)
    multichannel_loss_grad(logits, y_lo, y_hi, lo, hi, grad)
    torch.testing.assert_close(grad, ref_logits.grad, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("fused", [True, False])
def test_adam_step_equals_torch_adam(fused):
    if fused and not hasattr(torch, "_fused_adam_"):
        pytest.skip("no torch._fused_adam_")
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(7, 5, generator=g), torch.randn(7, generator=g)]
    ref = [p.clone().requires_grad_(True) for p in params]
    blocks = [p.clone() for p in params]
    opt = torch.optim.Adam(ref, lr=1e-2)
    adam = AdamStep(params, lr=1e-2, fused=fused)
    adam_blocks = AdamStep(blocks, lr=1e-2, fused=fused)  # the same step, rows 0-2 then 3-6
    for _ in range(25):
        grads = [torch.randn(p.shape, generator=g) * 10 for p in params]
        for r, gr in zip(ref, grads):
            r.grad = gr.clone()
        opt.step()
        adam(grads)
        adam_blocks.next_step()
        for i, gr in enumerate(grads):
            for rows in (slice(0, 3), slice(3, None)):
                adam_blocks.update(i, gr[rows], rows)
    for p, pb, r in zip(params, blocks, ref):
        torch.testing.assert_close(p, r.detach(), rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(pb, p, rtol=1e-6, atol=1e-7)  # vector vs tail loop: 1 ulp


def _reference_train(reps, view_probs, label_lo, label_hi, lo, hi, w0, b0, s):
    """The head training as it was: autograd + torch.optim.Adam, same random draws."""
    reps_t = torch.from_numpy(np.asarray(reps))
    n_gal, n_views, d = reps_t.shape
    m, n, _ = w0.shape
    probs = (torch.full((n_views,), 1.0 / n_views, dtype=torch.float64) if view_probs is None
             else torch.as_tensor(np.asarray(view_probs, dtype=np.float64)))
    get = [lab if callable(lab) else (lambda i, t=torch.from_numpy(np.asarray(lab)): t[i])
           for lab in (label_lo, label_hi)]
    lo_t, hi_t = torch.from_numpy(lo), torch.from_numpy(hi)
    weight = torch.nn.Parameter(torch.from_numpy(w0.reshape(m * n, d).copy()))
    bias = torch.nn.Parameter(torch.from_numpy(b0.reshape(m * n).copy()))
    opt = torch.optim.Adam([weight, bias], lr=s.lr)
    gen = torch.Generator().manual_seed(s.seed)
    losses = []
    for _ in range(s.iterations):
        idx = torch.randint(n_gal, (s.batch_size,), generator=gen)
        views = torch.multinomial(probs, s.batch_size, replacement=True, generator=gen)
        x = reps_t[idx, views].float()
        logits = torch.addmm(bias, x, weight.t()).view(s.batch_size, m, n)
        loss = multichannel_loss(logits, None, get[0](idx), get[1](idx), lo_t[idx], hi_t[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return weight.detach().numpy().reshape(m, n, d), bias.detach().numpy().reshape(m, n), losses


@pytest.mark.parametrize("labels", ["hard", "soft", "dense"])
def test_train_heads_equals_autograd_reference(labels):
    rng = np.random.default_rng(1)
    n_gal, d, m, n = 80, 24, 3, 13
    reps = rng.normal(0, 1, (n_gal, 8, d)).astype(np.float16)
    lo, hi = activated_outputs(rng.integers(0, 2 * m - 1, n_gal))
    if labels == "hard":
        lab_lo = lab_hi = rng.integers(0, n, n_gal)
    else:
        lab_lo, lab_hi = (GaussianLabels(rng.uniform(-1, n + 1, n_gal),
                                         rng.uniform(0.0, 3.0, n_gal), n) for _ in range(2))
        if labels == "dense":
            lab_lo, lab_hi = lab_lo.dense(), lab_hi.dense()
    w0, b0 = init_heads(m, n, d, seed=2)
    s = HeadSettings(iterations=60, batch_size=8, lr=1e-3, seed=7, log_every=20)
    w, b, summary = train_heads(reps, DIHEDRAL_VIEW_PROBS, lab_lo, lab_hi, lo, hi, w0, b0, s)
    w_ref, b_ref, losses = _reference_train(reps, DIHEDRAL_VIEW_PROBS, lab_lo, lab_hi, lo, hi,
                                            w0, b0, s)
    assert np.abs(w - w0).max() > 1e-2  # the heads moved (60 steps of up to lr each)
    np.testing.assert_allclose(w, w_ref, rtol=0, atol=1e-5)
    np.testing.assert_allclose(b, b_ref, rtol=0, atol=1e-5)
    window_means = [np.mean(losses[a:a + 20]) for a in (0, 20, 40)]
    np.testing.assert_allclose([h[1] for h in summary["loss_history"]], window_means, rtol=1e-5)
