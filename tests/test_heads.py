"""Head-only training on cached representations (Steps 2 and 3 of Lin et al. 2022)."""

import numpy as np
import pytest
import torch

from photoz_debias.debias import steps as debias
from photoz_debias.model.augment import DIHEDRAL_VIEW_PROBS, apply_view
from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows, RedshiftGrid, activated_outputs
from photoz_debias.debias.heads import HeadSettings, head_densities, init_heads, train_heads
from photoz_debias.model.labels import combined_density
from photoz_debias.model.networks import build_model
from photoz_debias.debias.soft_labels import GaussianLabels

torch.set_num_threads(1)


def _toy(n=300, d=12, m=2, n_bins=10, seed=0):
    """Representations whose first feature encodes the redshift bin (8 noisy views)."""
    rng = np.random.default_rng(seed)
    z_bin = rng.integers(0, n_bins, n)
    base = rng.normal(0, 1, (n, d))
    base[:, 0] = z_bin / n_bins * 4 - 2
    reps = (base[:, None, :] + rng.normal(0, 0.05, (n, 8, d))).astype(np.float16)
    rows = rng.integers(0, 2 * m - 1, n)
    return reps, z_bin, rows


def test_head_training_leaves_the_rest_of_the_model_bit_identical():
    torch.manual_seed(0)
    model = build_model("netcpu", "multi", n_bins=10, n_outputs=2, n_bands=5, rep_dim=16, seed=0)
    model.eval()
    frozen = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.randn(16, 5, 16, 16)
    ebv = torch.rand(16) * 0.1
    with torch.no_grad():
        reps = torch.stack([model.representation(apply_view(x, v), ebv) for v in range(8)], dim=1)
    w0 = model.unit.heads_weight.detach().numpy()  # shares memory with the model
    b0 = model.unit.heads_bias.detach().numpy()
    rows = np.arange(16) % 3
    lo, hi = activated_outputs(rows)
    labels = np.arange(16) % 10
    s = HeadSettings(iterations=30, batch_size=8, lr=1e-2, seed=0, log_every=10)
    w, b, summary = train_heads(reps.numpy(), DIHEDRAL_VIEW_PROBS, labels, labels, lo, hi, w0, b0, s)
    # nothing of the model moved, not even the heads it lent as a starting point
    for k, v in model.state_dict().items():
        assert torch.equal(v, frozen[k]), k
    assert not np.allclose(w, w0)
    # put the new heads in: only they change, and Eq. 2 from reps equals the model's output
    with torch.no_grad():
        model.unit.heads_weight.copy_(torch.from_numpy(w))
        model.unit.heads_bias.copy_(torch.from_numpy(b))
    changed = [k for k, v in model.state_dict().items() if not torch.equal(v, frozen[k])]
    assert sorted(changed) == ["unit.heads_bias", "unit.heads_weight"]
    with torch.no_grad():
        p_model = combined_density(*model(x, ebv)).numpy()
    p = head_densities(reps[:, 0].numpy(), w, b, model.unit.mag_head.weight.detach().numpy(),
                       model.unit.mag_head.bias.detach().numpy())
    np.testing.assert_allclose(p, p_model, rtol=1e-4, atol=1e-6)


def test_training_learns_and_is_deterministic():
    reps, z_bin, rows = _toy()
    lo, hi = activated_outputs(rows)
    w0, b0 = init_heads(2, 10, 12, seed=0)
    s = HeadSettings(iterations=300, batch_size=32, lr=2e-2, seed=5, log_every=75)
    lines = []
    w1, b1, sm = train_heads(reps, DIHEDRAL_VIEW_PROBS, z_bin, z_bin, lo, hi, w0, b0, s, lines.append)
    short = [HeadSettings(iterations=20, batch_size=32, lr=2e-2, seed=k) for k in (5, 5, 6)]
    (wa, ba, _), (wb, bb, _), (wc, _, _) = [
        train_heads(reps, DIHEDRAL_VIEW_PROBS, z_bin, z_bin, lo, hi, w0, b0, st) for st in short]
    np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(ba, bb)
    assert not np.array_equal(wa, wc)
    hist = np.array(sm["loss_history"])
    # uniform heads score m log(n) = 2 log(10) = 4.61 whatever the labels
    assert hist[-1, 1] < 2 * np.log(10) - 0.5
    assert len(lines) == 4 and "samples/s" in lines[0] and "iter     300" in lines[-1]
    # the activated heads rank the right bin first for most galaxies
    logits = np.einsum("nd,mkd->nmk", reps[:, 0].astype(np.float32), w1) + b1
    assert np.mean(logits[np.arange(300), lo].argmax(axis=1) == z_bin) > 0.4  # chance: 0.1


def test_views_drawn_with_the_given_probabilities():
    reps, z_bin, rows = _toy(n=50)
    reps = reps[:, :2].copy()
    reps[:, 0] = 0.0  # view 0 carries nothing: the weights get no gradient from it
    lo, hi = activated_outputs(rows)
    w0, b0 = init_heads(2, 10, 12, seed=0)
    s = HeadSettings(iterations=20, batch_size=8, lr=1e-2, seed=0)
    w, b, _ = train_heads(reps, [1.0, 0.0], z_bin, z_bin, lo, hi, w0, b0, s)
    np.testing.assert_array_equal(w, w0)
    assert not np.array_equal(b, b0)
    w, _, _ = train_heads(reps, [0.0, 1.0], z_bin, z_bin, lo, hi, w0, b0, s)
    assert not np.array_equal(w, w0)


def test_soft_label_callable_equals_dense():
    reps, z_bin, rows = _toy(n=60)
    lo, hi = activated_outputs(rows)
    w0, b0 = init_heads(2, 10, 12, seed=1)
    lab = GaussianLabels(z_bin + 0.5, np.full(60, 1.5), 10)
    s = HeadSettings(iterations=25, batch_size=8, lr=1e-3, seed=2)
    wa, ba, _ = train_heads(reps, None, lab, lab, lo, hi, w0, b0, s)
    wb, bb, _ = train_heads(reps, None, lab.dense(), lab.dense(), lo, hi, w0, b0, s)
    np.testing.assert_allclose(wa, wb, atol=1e-6)
    np.testing.assert_allclose(ba, bb, atol=1e-6)


def test_init_heads():
    w, b = init_heads(3, 40, 64, seed=4)
    assert w.shape == (3, 40, 64) and b.shape == (3, 40)
    np.testing.assert_array_equal(b, np.float32(0.1))
    bound = np.sqrt(6 / (64 + 40))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    np.testing.assert_array_equal(w, init_heads(3, 40, 64, seed=4)[0])
    assert not np.array_equal(w, init_heads(3, 40, 64, seed=5)[0])


def test_bad_inputs():
    reps, z_bin, rows = _toy(n=20)
    lo, hi = activated_outputs(rows)
    w0, b0 = init_heads(2, 10, 12, seed=0)
    s = HeadSettings(iterations=1, batch_size=4)
    with pytest.raises(InputError, match="label_lo"):
        train_heads(reps, None, z_bin + 10, z_bin, lo, hi, w0, b0, s)
    with pytest.raises(InputError, match="view_probs"):
        train_heads(reps, [0.5, 0.5], z_bin, z_bin, lo, hi, w0, b0, s)
    with pytest.raises(InputError, match="heads_weight0"):
        train_heads(reps, None, z_bin, z_bin, lo, hi, w0[:, :, :5], b0, s)


def test_debias_pipeline_tiny():
    """select_subset -> step2 -> zmode -> soft labels -> every Step 3 variant."""
    rng = np.random.default_rng(0)
    grid, rows_grid, m = RedshiftGrid(0.0, 1.0, 10), MagnitudeRows(14.0, 3), 2
    n, d = 400, 12
    z = rng.beta(2, 5, n)
    rows = rng.integers(0, 3, n)
    reps = rng.normal(0, 1, (n, 8, d)).astype(np.float16)
    reps[:, :, 0] = (z * 4 - 2)[:, None]
    ids = np.arange(n) + 7
    sub = debias.select_subset(ids, z, rows, None, grid, rows_grid, 15, 100, seed=1)
    fit = sub[sub.in_fit]
    pos = debias.rows_of_ids(ids, fit.id.to_numpy())
    np.testing.assert_array_equal(ids[pos], fit.id)
    s = HeadSettings(iterations=60, batch_size=16, lr=1e-2, seed=1, log_every=20)
    w1, b1 = init_heads(m, 10, d, seed=9)
    mag_w, mag_b = rng.normal(0, 0.1, (m, d)), np.zeros(m)
    w2, b2, _ = debias.step2(reps[pos], z[pos], rows[pos], grid, w1, b1, s)
    zp = debias.predict_zphoto(reps[pos], w2, b2, mag_w, mag_b, grid)
    assert np.isin(zp, grid.centres).all()
    table, curves = debias.fit_soft_labels(fit.id.to_numpy(), z[pos], rows[pos], zp, grid, m)
    for variant in ("step3", "step3a", "step3b", "step3_no_step2"):
        w3, b3, sm, ext = debias.step3(reps[pos], fit.id.to_numpy(), rows[pos], table, grid,
                                       (3, 4), m, variant, s)
        assert w3.shape == (m, 17, d) and ext.n_bins == 17 and sm["variant"] == variant
    p = debias.densities_from_heads(reps[:5, 0], w3, b3, mag_w, mag_b)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    with pytest.raises(InputError, match="not found"):
        debias.rows_of_ids(ids, np.array([1]))
