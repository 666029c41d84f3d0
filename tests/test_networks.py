"""Networks and output units (Lin et al. 2022, Sect. 3.1, Fig. 2, Appendix D.6; method.md)."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from photoz_debias.errors import InputError
from photoz_debias.model.labels import combined_density
from photoz_debias.model.networks import (
    AvgPool2x2Sum,
    MLPTrunk,
    MultiChannelUnit,
    NetP,
    PhotoZNet,
    avg_pool_same_2x2,
    build_model,
    init_weights,
    model_meta,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def netp():
    return build_model("netp", "single", n_bins=180, seed=0)


def test_netp_feature_map_shapes(netp):
    x = torch.randn(1, 5, 64, 64)
    maps = netp.trunk.feature_maps(x)
    # stem 64 ch at 32 px; 240 -> 340 ch at 16 px; 476 ch at 8 px; 348 ch (no 5x5) at 8 px
    assert [tuple(m.shape) for m in maps] == [(1, 64, 32, 32), (1, 340, 16, 16), (1, 476, 8, 8), (1, 348, 8, 8)]
    i1, i2 = netp.trunk.stage1[0], netp.trunk.stage1[1]
    assert (i1.c_out, i2.c_out) == (3 * 64 + 48, 3 * 92 + 64) == (240, 340)
    assert netp.trunk.n_flat == 8 * 8 * 348 == 22272
    assert netp.trunk.fc[0].in_features == 22273  # + E(B-V)
    assert netp(x, torch.tensor([0.03])).shape == (1, 180)
    assert netp.representation(x, torch.tensor([0.03])).shape == (1, 1024)


def _conv(c_in, c_out, k):
    """weights + biases + PReLU slopes (one per output channel)."""
    return c_in * k * k * c_out + c_out + c_out


def test_netp_parameter_count(netp):
    stem = _conv(5, 64, 5)  # 8,128
    # inception(c_in; nb1, nb2): 1x1->nb2 | 1x1->nb1, 5x5->nb2 | 1x1->nb1, 3x3->nb2 | 1x1->nb1 (+pool)
    inc1 = _conv(64, 64, 1) + (_conv(64, 48, 1) + _conv(48, 64, 5)) + (_conv(64, 48, 1) + _conv(48, 64, 3)) + _conv(64, 48, 1)
    inc2 = _conv(240, 92, 1) + (_conv(240, 64, 1) + _conv(64, 92, 5)) + (_conv(240, 64, 1) + _conv(64, 92, 3)) + _conv(240, 64, 1)
    inc3 = _conv(340, 128, 1) + (_conv(340, 92, 1) + _conv(92, 128, 5)) + (_conv(340, 92, 1) + _conv(92, 128, 3)) + _conv(340, 92, 1)
    inc4 = _conv(476, 128, 1) + (_conv(476, 92, 1) + _conv(92, 128, 5)) + (_conv(476, 92, 1) + _conv(92, 128, 3)) + _conv(476, 92, 1)
    inc5 = _conv(476, 128, 1) + (_conv(476, 92, 1) + _conv(92, 128, 3)) + _conv(476, 92, 1)
    fc = (22272 + 1) * 1024 + 1024 + 1024 * 1024 + 1024
    out = 1024 * 180 + 180
    assert stem == 8128 and inc1 == 118_432 and fc == 23_858_176
    expected = stem + inc1 + inc2 + inc3 + inc4 + inc5 + fc + out
    assert sum(p.numel() for p in netp.parameters()) == expected == 25_826_972
    # multi unit (SDSS: m = 6, n = 180): heads + magnitude head
    multi = sum(p.numel() for p in build_model("netp", "multi", 180, 6).unit.parameters())
    assert multi == 6 * 180 * 1024 + 6 * 180 + 1024 * 6 + 6


def test_tf_same_avgpool_matches_hand_example():
    x = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    # interior windows average 4 pixels; the last column/row average 2; the corner is itself
    expected = torch.tensor([[(1 + 2 + 4 + 5) / 4, (2 + 3 + 5 + 6) / 4, (3 + 6) / 2],
                             [(4 + 5 + 7 + 8) / 4, (5 + 6 + 8 + 9) / 4, (6 + 9) / 2],
                             [(7 + 8) / 2, (8 + 9) / 2, 9.0]])
    assert torch.allclose(avg_pool_same_2x2(x)[0, 0], expected)
    # the tempting PyTorch idiom counts the explicit zeros: corner 9/4, not 9
    wrong = nn.AvgPool2d(2, stride=1, count_include_pad=False)(nn.ZeroPad2d((0, 1, 0, 1))(x))
    assert wrong[0, 0, 2, 2] == pytest.approx(9 / 4)


def test_fast_cpu_pool_equals_average_pooling():
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    assert torch.equal(AvgPool2x2Sum()(x)[0, 0], torch.tensor([[(0 + 1 + 4 + 5) / 4, (2 + 3 + 6 + 7) / 4],
                                                              [(8 + 9 + 12 + 13) / 4, (10 + 11 + 14 + 15) / 4]]))
    y = torch.randn(3, 4, 8, 8)
    assert torch.allclose(AvgPool2x2Sum()(y), nn.AvgPool2d(2)(y), atol=1e-6)


def test_init_prelu_zero_bias_and_xavier(netp):
    convs = [m for m in netp.modules() if isinstance(m, nn.Conv2d)]
    prelus = [m for m in netp.modules() if isinstance(m, nn.PReLU)]
    assert len(convs) == len(prelus) == 1 + 4 * 6 + 4  # stem; 6 convs per inception; 4 without the 5x5 branch
    assert all(torch.all(p.weight == 0) for p in prelus)
    for m in netp.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            assert torch.all(m.bias == 0.1)
    fc1 = netp.trunk.fc[0].weight
    bound = math.sqrt(6 / (22273 + 1024))  # Xavier-uniform
    assert fc1.abs().max() <= bound and fc1.abs().max() > 0.99 * bound


def test_multichannel_unit_shapes_heads_and_eq2():
    torch.manual_seed(0)
    d, n, m = 16, 10, 3
    unit = MultiChannelUnit(d, n, m)
    init_weights(unit, torch.Generator().manual_seed(1))
    assert unit.heads_weight.shape == (m, n, d) and unit.heads_bias.shape == (m, n)
    assert torch.all(unit.heads_bias == 0.1) and torch.all(unit.mag_head.bias == 0.1)
    bound = math.sqrt(6 / (d + n))  # per head: fan-in D, fan-out n
    assert unit.heads_weight.abs().max() <= bound
    rep = torch.randn(4, d)
    heads, mag = unit(rep)
    assert heads.shape == (4, m, n) and mag.shape == (4, m)
    # each head is a Linear(D, n) layer
    for j in range(m):
        assert torch.allclose(heads[:, j], rep @ unit.heads_weight[j].T + unit.heads_bias[j], atol=1e-6)
    p = combined_density(heads, mag)
    assert torch.allclose(p.sum(1), torch.ones(4), atol=1e-6)
    # Eq. 2 by hand for galaxy 0
    q = torch.softmax(mag[0], 0)
    by_hand = sum(q[j] * torch.softmax(heads[0, j], 0) for j in range(m))
    assert torch.allclose(p[0], by_hand, atol=1e-6)


@pytest.mark.parametrize("net,rep", [("nets1", 256), ("nets2", 256), ("nets3", 256), ("netcpu", 256), ("nett", 1024)])
def test_small_and_other_trunks(net, rep):
    model = build_model(net, "multi", n_bins=12, n_outputs=3, seed=0)
    x, e = torch.randn(2, 5, 64, 64), torch.rand(2)
    heads, mag = model(x, e)
    assert heads.shape == (2, 3, 12) and mag.shape == (2, 3)
    assert model.representation(x, e).shape == (2, rep)


def test_nets_layers_and_nett_smaller_than_netp(netp):
    s3 = build_model("nets3", "single", 180)
    convs = [m for m in s3.modules() if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [(5, 64, (3, 3)), (64, 64, (3, 3)), (64, 64, (3, 3))]
    assert s3.trunk.fc[0].in_features == 64 + 1  # global average pool + E(B-V)
    n_p = sum(p.numel() for p in netp.trunk.parameters())
    n_t = sum(p.numel() for p in build_model("nett", "single", 180).trunk.parameters())
    assert n_t < n_p / 2


def test_mlp_trunk_standardisation_in_state_dict():
    feats = np.array([[20.0, 1.0], [22.0, 1.0], [21.0, 1.0]])
    model = build_model("mlp", "single", n_bins=5, n_features=2, seed=0)
    model.trunk.set_standardisation(feats)
    sd = model.state_dict()
    assert torch.allclose(sd["trunk.feature_mean"], torch.tensor([21.0, 1.0]))
    assert torch.allclose(sd["trunk.feature_std"], torch.tensor([1.0, 1.0]))  # sample std of 20,22,21 = 1; constant -> 1
    rep = model.representation(torch.tensor(feats, dtype=torch.float32), torch.zeros(3))
    assert rep.shape == (3, 256)
    # a model rebuilt from its meta and state dict gives the same representation
    clone = build_model(**model_meta(model))
    clone.load_state_dict(sd)
    assert torch.equal(clone.representation(torch.tensor(feats, dtype=torch.float32), torch.zeros(3)), rep)


def test_seeded_initialisation_covers_every_parameter():
    a = build_model("netcpu", "multi", 10, 2, seed=3)
    b = build_model("netcpu", "multi", 10, 2, seed=3)
    c = build_model("netcpu", "multi", 10, 2, seed=4)
    for (name, pa), pb, pc in zip(a.named_parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb), name
        constant = name.endswith("bias") or pa.ndim == 1  # biases 0.1, PReLU slopes 0
        if not constant:
            assert not torch.equal(pa, pc), name


def test_build_model_rejects_bad_arguments_and_meta_roundtrip():
    with pytest.raises(InputError, match="unknown network"):
        build_model("resnet", "single", 10)
    with pytest.raises(InputError, match="unit"):
        build_model("netcpu", "triple", 10)
    with pytest.raises(InputError, match="n_features"):
        build_model("mlp", "single", 10)
    meta = model_meta(build_model("netcpu", "multi", 20, 4, rep_dim=32))
    assert meta == dict(net="netcpu", unit="multi", n_bands=5, n_bins=20, n_outputs=4, n_features=None, rep_dim=32)
    again = build_model(**meta)
    assert isinstance(again, PhotoZNet) and again.trunk.rep_dim == 32 and again.unit.heads_weight.shape == (4, 20, 32)
    assert isinstance(build_model("netp", "single", 4).trunk, NetP)
    assert isinstance(build_model("mlp", "single", 4, n_features=3).trunk, MLPTrunk)
