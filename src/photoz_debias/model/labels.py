"""Labels and losses of the output units (Lin et al. 2022, Sect. 3.2.1, Eq. 3).

Multi-channel unit: ``m`` redshift heads and one magnitude head.  For a galaxy in row
``r`` the activated outputs are ``lo = r // 2`` and ``hi = (r + 1) // 2`` (equal for even
rows).  Activated heads are trained towards the galaxy's redshift label (one-hot in
Steps 1-2, a soft Gaussian in Step 3); every other head is trained towards the flat label
``1/n`` ("to impose confusion on the non-activated magnitude bins"), not masked.  The
magnitude head gets a one-hot label, or (1/2, 1/2) for odd rows.  The loss is the sum over
the ``m`` redshift heads of the batch-mean cross-entropy (Eq. 3) plus the magnitude head's.

Redshift labels are given either as integer bin indices (hard labels, shape ``(B,)``) or
as normalised densities over the head's bins (soft labels, shape ``(B, n)``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _label_cross_entropy(log_p: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Per-sample cross-entropy ``-sum_j y_j log p_j`` (Eq. 3); ``log_p`` is ``(B, n)``."""
    if label.dtype in (torch.int64, torch.int32):
        return -log_p.gather(1, label.long().view(-1, 1)).squeeze(1)
    return -(label.to(log_p.dtype) * log_p).sum(dim=1)


def single_channel_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """Baseline: one softmax over ``n`` bins, cross-entropy with the redshift label."""
    return _label_cross_entropy(F.log_softmax(logits.float(), dim=1), label).mean()


def multichannel_loss(
    head_logits: torch.Tensor,
    mag_logits: torch.Tensor | None,
    label_lo: torch.Tensor,
    label_hi: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
) -> torch.Tensor:
    """Loss of the multi-channel output unit (Sect. 3.2.1).

    Parameters
    ----------
    head_logits : (B, m, n) logits of the ``m`` redshift heads.
    mag_logits : (B, m) logits of the magnitude head, or None when it is frozen
        (Steps 2 and 3 train only the redshift heads).
    label_lo, label_hi : redshift labels for the activated outputs ``lo`` and ``hi``
        (integer bins ``(B,)`` or densities ``(B, n)``); equal for even rows.
    lo, hi : (B,) activated magnitude outputs (``row // 2`` and ``(row + 1) // 2``).
    """
    log_p = F.log_softmax(head_logits.float(), dim=2)
    b = torch.arange(log_p.shape[0], device=log_p.device)
    ce = -log_p.mean(dim=2)  # flat label 1/n on every head
    ce = ce.index_put((b, lo), _label_cross_entropy(log_p[b, lo], label_lo))
    ce = ce.index_put((b, hi), _label_cross_entropy(log_p[b, hi], label_hi))
    loss = ce.sum(dim=1).mean()
    if mag_logits is not None:
        log_q = F.log_softmax(mag_logits.float(), dim=1)
        mag_ce = -0.5 * (log_q[b, lo] + log_q[b, hi])
        loss = loss + mag_ce.mean()
    return loss


def combined_density(head_logits: torch.Tensor, mag_logits: torch.Tensor) -> torch.Tensor:
    """Eq. 2: ``p(z) = sum_j p(r_o(j)) p(z | r_o(j))``; returns (B, n), rows sum to one."""
    p_z_given_k = F.softmax(head_logits.float(), dim=2)
    p_k = F.softmax(mag_logits.float(), dim=1)
    return torch.einsum("bk,bkn->bn", p_k, p_z_given_k)
