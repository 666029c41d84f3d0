"""Inference: redshift densities and cached representations (Lin et al. 2022, Sect. 3.2).

``predict_densities`` gives p(z) on the output grid: the softmax of the Baseline's single
channel, or Eq. 2 for the multi-channel unit.  ``compute_representations`` caches the
penultimate layer (the representation of Sect. 3.2.1) for the 8 dihedral views of the
training galaxies (order of ``augment.DIHEDRAL_VIEWS``) and the identity view of the test
galaxies, so that Steps 2 and 3, which train only the redshift heads on a frozen trunk,
run on these vectors instead of the images.  ``head_densities`` evaluates Eq. 2 from such
cached representations and a set of head weights.
"""

from __future__ import annotations

import numpy as np
import torch

from photoz_debias.model.augment import apply_view
from photoz_debias.errors import InputError
from photoz_debias.model.labels import combined_density
from photoz_debias.model.networks import MultiChannelUnit, unwrap


def _batches(x, ebv, batch_size: int, device: torch.device):
    n = len(ebv)
    if len(x) != n:
        raise InputError(f"{len(x)} rows in x but {n} in ebv", field="x", expected="one entry per galaxy")
    for s in range(0, n, batch_size):
        xb = torch.as_tensor(np.asarray(x[s : s + batch_size], dtype=np.float32)).to(device)
        eb = torch.as_tensor(np.asarray(ebv[s : s + batch_size], dtype=np.float32)).to(device)
        yield s, xb, eb


@torch.no_grad()
def predict_densities(model, x, ebv, batch_size: int = 256, device="cpu") -> np.ndarray:
    """Redshift densities p(z) on the model's output bins.

    Parameters
    ----------
    model : ``PhotoZNet`` (single or multi unit).
    x : (N, C, H, W) images or (N, F) features (array-like, e.g. an h5py dataset).
    ebv : (N,) E(B-V) in magnitudes.

    Returns
    -------
    (N, n) float32; each row sums to one.  Softmax of the single channel (Baseline), or
    Eq. 2 of Lin et al. 2022, ``p(z) = sum_j p(r_o(j)) p(z | r_o(j))``, for the multi unit.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    multi = isinstance(unwrap(model).unit, MultiChannelUnit)
    out = np.empty((len(ebv), unwrap(model).unit.n_bins), dtype=np.float32)
    for s, xb, eb in _batches(x, ebv, batch_size, device):
        y = model(xb, eb)
        p = combined_density(*y) if multi else torch.softmax(y.float(), dim=1)
        out[s : s + len(eb)] = p.cpu().numpy()
    return out


@torch.no_grad()
def compute_representations(model, x, ebv, views=range(8), batch_size: int = 256, device="cpu") -> np.ndarray:
    """Representations (the penultimate layer, Sect. 3.2.1) of each galaxy, float16.

    Parameters
    ----------
    views : indices into ``augment.DIHEDRAL_VIEWS`` (default all 8, in that order), or
        None for the untransformed images only.

    Returns
    -------
    (N, V, D) float16, or (N, D) when ``views`` is None.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    trunk = unwrap(model).trunk
    vlist = [0] if views is None else list(views)
    if views is not None and np.ndim(x) != 4:
        raise InputError("dihedral views need images", field="x", expected="(N, C, H, W) images, or views=None for features")
    out = np.empty((len(ebv), len(vlist), trunk.rep_dim), dtype=np.float16)
    for s, xb, eb in _batches(x, ebv, batch_size, device):
        for j, v in enumerate(vlist):
            xv = apply_view(xb, v) if views is not None else xb
            out[s : s + len(eb), j] = model.representation(xv, eb).float().cpu().numpy()
    return out[:, 0] if views is None else out


def head_densities(rep, heads_weight, heads_bias, mag_weight, mag_bias):
    """Eq. 2 from cached representations: ``p(z) = sum_j softmax(mag)_j softmax(head_j)(z)``.

    Parameters
    ----------
    rep : (..., D) representations (numpy or torch; float16 is upcast).
    heads_weight : (m, n, D), heads_bias : (m, n): the redshift heads.
    mag_weight : (m, D), mag_bias : (m,): the magnitude head.

    Returns
    -------
    (..., n) densities, float32; numpy if ``rep`` is numpy, else a torch tensor.
    """
    as_numpy = not isinstance(rep, torch.Tensor)
    t = [torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a) for a in (rep, heads_weight, heads_bias, mag_weight, mag_bias)]
    r, hw, hb, mw, mb = (a.float() for a in t)
    lead = r.shape[:-1]
    r = r.reshape(-1, r.shape[-1])
    head_logits = torch.einsum("bd,mnd->bmn", r, hw) + hb
    mag_logits = r @ mw.T + mb
    p = combined_density(head_logits, mag_logits).reshape(*lead, hw.shape[1])
    return p.numpy() if as_numpy else p


APPLY_CHUNK = 2048  # galaxies read from the stamps file at a time: ~170 MB of 5-band stamps


def infer_applied(baseline, step1, x, ebv, out_h5, chunk: int = APPLY_CHUNK, batch_size: int = 256,
                  device="cpu", progress=None) -> dict:
    """One ensemble member on an applied sample (apply mode), chunk by chunk.

    The sample is read ``chunk`` galaxies at a time from ``x`` (an h5py dataset or any
    array-like) and each chunk's results are written before the next is read, so memory is
    bounded by the chunk, not the sample.  Written to the open HDF5 file ``out_h5``:
    ``baseline`` (N, n) float32, the Baseline density (softmax of its single channel), and
    ``representation`` (N, D) float16, the Step 1 trunk's representation of the identity
    view (Sect. 3.2.1), from which the Step 1-3 heads give Eq. 2 densities
    (:func:`head_densities`).

    Parameters
    ----------
    baseline, step1 : ``PhotoZNet`` (single unit; multi unit).
    x : (N, C, H, W) images or (N, F) features.
    ebv : (N,) E(B-V) in magnitudes.
    out_h5 : an h5py File (or group) open for writing.
    progress : optional callable ``(done, total)`` after each chunk.

    Returns
    -------
    dict ``n`` (galaxies), ``n_bins``, ``rep_dim``.
    """
    n = len(ebv)
    if len(x) != n:
        raise InputError(f"{len(x)} rows in x but {n} in ebv", field="x", expected="one entry per galaxy")
    n_bins = unwrap(baseline).unit.n_bins
    rep_dim = unwrap(step1).trunk.rep_dim
    rows = max(1, min(chunk, n))
    dens = out_h5.create_dataset("baseline", (n, n_bins), dtype=np.float32, chunks=(min(rows, 1024), n_bins))
    reps = out_h5.create_dataset("representation", (n, rep_dim), dtype=np.float16,
                                 chunks=(min(rows, 1024), rep_dim))
    for s in range(0, n, chunk):
        xb = np.asarray(x[s : s + chunk], dtype=np.float32)
        eb = np.asarray(ebv[s : s + chunk], dtype=np.float32)
        dens[s : s + len(eb)] = predict_densities(baseline, xb, eb, batch_size=batch_size, device=device)
        reps[s : s + len(eb)] = compute_representations(step1, xb, eb, views=None, batch_size=batch_size,
                                                        device=device)
        if progress is not None:
            progress(s + len(eb), n)
    return {"n": n, "n_bins": n_bins, "rep_dim": rep_dim}
