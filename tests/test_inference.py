"""Densities, cached representations (8 dihedral views) and checkpoints."""

import os

import numpy as np
import pytest
import torch

from photoz_debias.model.augment import apply_view
from photoz_debias.model.checkpoint import load_model, load_state, save_checkpoint, save_state
from photoz_debias.errors import InputError
from photoz_debias.model.inference import compute_representations, head_densities, predict_densities
from photoz_debias.model.networks import build_model

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3, 16, 16)).astype(np.float32)
    ebv = rng.uniform(0, 0.1, 5).astype(np.float32)
    return x, ebv


def _multi(seed=0):
    return build_model("netcpu", "multi", n_bins=7, n_outputs=3, n_bands=3, rep_dim=24, seed=seed)


def test_single_densities_are_softmax(data):
    x, ebv = data
    model = build_model("nets2", "single", n_bins=9, n_bands=3, seed=0)
    p = predict_densities(model, x, ebv, batch_size=2)
    assert p.shape == (5, 9) and p.dtype == np.float32
    with torch.no_grad():
        ref = torch.softmax(model(torch.as_tensor(x), torch.as_tensor(ebv)), 1).numpy()
    assert np.allclose(p, ref, atol=1e-6)


def test_multi_densities_are_eq2(data):
    x, ebv = data
    model = _multi()
    with torch.no_grad():  # make the heads differ from each other and from flat
        model.unit.heads_weight.mul_(20)
        model.unit.mag_head.weight.mul_(20)
        heads, mag = model(torch.as_tensor(x), torch.as_tensor(ebv))
    p = predict_densities(model, x, ebv, batch_size=3)
    assert np.allclose(p.sum(1), 1, atol=1e-5)
    q, ph = torch.softmax(mag, 1).numpy(), torch.softmax(heads, 2).numpy()
    by_hand = np.stack([sum(q[b, j] * ph[b, j] for j in range(3)) for b in range(5)])
    assert np.allclose(p, by_hand, atol=1e-6)
    # Eq. 2 from the representation and the unit's weights gives the same densities
    with torch.no_grad():
        rep = model.representation(torch.as_tensor(x), torch.as_tensor(ebv)).numpy()
    u = model.unit
    hd = head_densities(rep, u.heads_weight.detach().numpy(), u.heads_bias.detach().numpy(),
                        u.mag_head.weight.detach().numpy(), u.mag_head.bias.detach().numpy())
    assert isinstance(hd, np.ndarray) and np.allclose(hd, p, atol=1e-5)
    # leading dimensions (N, V, D) are kept, torch in -> torch out
    hv = head_densities(torch.as_tensor(np.stack([rep, rep], 1)), u.heads_weight, u.heads_bias, u.mag_head.weight, u.mag_head.bias)
    assert isinstance(hv, torch.Tensor) and hv.shape == (5, 2, 7)
    assert np.allclose(hv[:, 1].detach().numpy(), p, atol=1e-5)


def test_representations_of_eight_views(data):
    x, ebv = data
    model = _multi()
    reps = compute_representations(model, x, ebv, batch_size=2)
    assert reps.shape == (5, 8, 24) and reps.dtype == np.float16
    xt, et = torch.as_tensor(x), torch.as_tensor(ebv)
    with torch.no_grad():
        for v in range(8):
            ref = model.representation(apply_view(xt, v), et).numpy()
            # float16 storage: relative precision 2**-11 (batching changes the last float32 bits)
            assert np.allclose(reps[:, v].astype(np.float32), ref, rtol=1e-3, atol=1e-5), v
        # the views really differ (the network is not rotation invariant)
        assert not np.array_equal(reps[:, 0], reps[:, 1])
    ident = compute_representations(model, x, ebv, views=None)
    assert ident.shape == (5, 24) and np.array_equal(ident, reps[:, 0])
    with pytest.raises(InputError):
        compute_representations(model, x, ebv[:4])


def test_checkpoint_roundtrip_weights_only(tmp_path, data):
    x, ebv = data
    model = _multi(seed=5)
    path = tmp_path / "sub" / "step1.pt"
    save_checkpoint(path, model, {"grid": {"z_min": 0.0, "z_max": 0.4, "n_bins": 7}, "seed": 5})
    assert os.listdir(path.parent) == ["step1.pt"]  # no temporary left behind
    blob = torch.load(path, weights_only=True)
    assert set(blob) == {"model", "meta"} and blob["meta"]["net"] == "netcpu"
    loaded, meta = load_model(path)
    assert meta["grid"]["n_bins"] == 7 and meta["seed"] == 5 and meta["rep_dim"] == 24
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k
    assert np.array_equal(predict_densities(loaded, x, ebv), predict_densities(model, x, ebv))
    with pytest.raises(InputError, match="meta"):
        save_checkpoint(tmp_path / "bad.pt", model, {"edges": np.arange(3)})
    assert not (tmp_path / "bad.pt").exists()
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "missing.pt")


def test_training_state_roundtrip(tmp_path):
    model = _multi()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.randn(2, 3, 16, 16), torch.zeros(2))[0].sum().backward()
    opt.step()
    g = torch.Generator().manual_seed(11)
    torch.rand(3, generator=g)
    save_state(tmp_path / "s.pt", model, opt, 17, {"index": g}, {"fingerprint": "abc"})
    expected_next = torch.rand(4, generator=g)

    model2 = _multi(seed=9)
    opt2 = torch.optim.Adam(model2.parameters(), lr=1e-3)
    g2 = torch.Generator().manual_seed(0)
    assert load_state(tmp_path / "s.pt", model2, opt2, {"index": g2}, {"fingerprint": "other"}) is None
    st = load_state(tmp_path / "s.pt", model2, opt2, {"index": g2}, {"fingerprint": "abc"})
    assert st["iteration"] == 17
    assert torch.equal(torch.rand(4, generator=g2), expected_next)
    for k, v in model.state_dict().items():
        assert torch.equal(model2.state_dict()[k], v)
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert all(torch.equal(s1[i]["exp_avg"], s2[i]["exp_avg"]) for i in s1)
