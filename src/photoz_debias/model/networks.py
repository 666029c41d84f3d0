"""Networks of Lin et al. 2022 (Sect. 3.1, Fig. 2, Appendix D.6) and their output units.

Read top-down: building blocks (conv + PReLU, the TensorFlow-'same' pooling, the inception
module), then the trunks that map ``(images, E(B-V))`` to a representation of ``D`` features,
then the output units (Baseline's single channel, Step 1's multi-channel unit), then the
model that composes a trunk and a unit, and finally the one place where weights are
initialised (``init_weights``) and the factory ``build_model``.

Every trunk has the same interface, ``trunk(x, ebv) -> (B, D)``, so the training loop,
inference and Steps 2-3 run unchanged on any of them, including ``MLPTrunk`` for photometric
catalogues (``x`` is then ``(B, F)`` features instead of ``(B, C, 64, 64)`` stamps).
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from photoz_debias.errors import InputError

# ---------------------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------------------


class ConvPReLU(nn.Sequential):
    """Convolution, stride 1, 'same' padding, followed by a per-channel PReLU.

    Net_P's convolutions all use PReLU whose slope is initialised to 0 (see ``init_weights``),
    i.e. they start as ReLUs and learn their negative slope.
    """

    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.PReLU(c_out))


class ConvReLU(nn.Sequential):
    """Convolution, stride 1, zero 'same' padding, ReLU (the Net_S networks, Appendix D.6)."""

    def __init__(self, c_in: int, c_out: int, k: int):
        super().__init__(nn.Conv2d(c_in, c_out, k, padding=k // 2), nn.ReLU())


def avg_pool_same_2x2(x: torch.Tensor) -> torch.Tensor:
    """TensorFlow's ``avg_pool(ksize=2, strides=1, padding='SAME')`` on (B, C, H, W).

    TF pads one row at the bottom and one column at the right and leaves the padded cells
    out of the divisor: the last row/column average 2 pixels, the corner is the pixel
    itself.  ``ZeroPad2d + AvgPool2d(count_include_pad=False)`` would count the explicit
    zeros as pixels, so the divisor is taken from the same pooling of a ones-mask.
    """
    h, w = x.shape[-2:]
    pooled = F.avg_pool2d(F.pad(x, (0, 1, 0, 1)), 2, stride=1)
    ones = torch.ones(1, 1, h, w, dtype=x.dtype, device=x.device)
    coverage = F.avg_pool2d(F.pad(ones, (0, 1, 0, 1)), 2, stride=1)
    return pooled / coverage


class AvgPoolSame2x2(nn.Module):
    """Module wrapper of ``avg_pool_same_2x2``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return avg_pool_same_2x2(x)


class AvgPool2x2Sum(nn.Module):
    """2x2 stride-2 average pooling as two strided additions (even H and W).

    Same values as ``nn.AvgPool2d(2)``; on the CPU its forward and backward run 2-8 times
    faster than the native pooling kernel, which dominated NetCPU's step time.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x[..., 0::2, :] + x[..., 1::2, :]
        return 0.25 * (y[..., 0::2] + y[..., 1::2])


class Inception(nn.Module):
    """Inception module of Net_P (Pasquet et al. 2019; method.md "Networks").

    Branches, concatenated in this order:
    1x1 -> nb2; 1x1 -> nb1 then 5x5 -> nb2; 1x1 -> nb1 then 3x3 -> nb2;
    1x1 -> nb1 then 2x2 stride-1 'same' average pooling.
    Output channels ``3 nb2 + nb1`` (``2 nb2 + nb1`` with ``with_5x5=False``).
    """

    def __init__(self, c_in: int, nb1: int, nb2: int, with_5x5: bool = True):
        super().__init__()
        self.b1 = ConvPReLU(c_in, nb2, 1)
        self.b5 = nn.Sequential(ConvPReLU(c_in, nb1, 1), ConvPReLU(nb1, nb2, 5)) if with_5x5 else None
        self.b3 = nn.Sequential(ConvPReLU(c_in, nb1, 1), ConvPReLU(nb1, nb2, 3))
        self.bp = nn.Sequential(ConvPReLU(c_in, nb1, 1), AvgPoolSame2x2())
        self.c_out = (3 if with_5x5 else 2) * nb2 + nb1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.b1(x)]
        if self.b5 is not None:
            branches.append(self.b5(x))
        branches += [self.b3(x), self.bp(x)]
        return torch.cat(branches, dim=1)


class FCHead(nn.Sequential):
    """Fully-connected layers with ReLU after the flattened features and E(B-V)."""

    def __init__(self, n_in: int, widths: tuple[int, ...]):
        layers: list[nn.Module] = []
        for w in widths:
            layers += [nn.Linear(n_in, w), nn.ReLU()]
            n_in = w
        super().__init__(*layers)


def _concat_ebv(features: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
    """E(B-V) enters as one raw scalar concatenated to the flattened features (Fig. 2)."""
    return torch.cat([features.flatten(1), ebv.reshape(-1, 1).to(features.dtype)], dim=1)


# ---------------------------------------------------------------------------------------
# Trunks: (x, ebv) -> representation (B, D)
# ---------------------------------------------------------------------------------------


class NetP(nn.Module):
    """Net_P, the network of Pasquet et al. (2019) used by Lin et al. 2022 (Sect. 3.1, Fig. 2).

    64x64 stamps: conv 5x5 -> 64, avgpool 2 (32x32); inception(48, 64) [240 ch],
    inception(64, 92) [340], avgpool 2 (16x16); inception(92, 128) x2 [476], avgpool 2 (8x8);
    inception(92, 128) without its 5x5 branch [348]; flatten (8*8*348 = 22,272) + E(B-V);
    FC 1024 ReLU; FC 1024 ReLU = the representation (D = 1024).
    """

    def __init__(self, n_bands: int = 5, stamp: int = 64):
        super().__init__()
        self.stem = nn.Sequential(ConvPReLU(n_bands, 64, 5), nn.AvgPool2d(2))
        i1 = Inception(64, 48, 64)
        i2 = Inception(i1.c_out, 64, 92)
        self.stage1 = nn.Sequential(i1, i2, nn.AvgPool2d(2))
        i3 = Inception(i2.c_out, 92, 128)
        i4 = Inception(i3.c_out, 92, 128)
        self.stage2 = nn.Sequential(i3, i4, nn.AvgPool2d(2))
        i5 = Inception(i4.c_out, 92, 128, with_5x5=False)
        self.stage3 = i5
        self.n_flat = (stamp // 8) ** 2 * i5.c_out
        self.fc = FCHead(self.n_flat + 1, (1024, 1024))
        self.rep_dim = 1024

    def feature_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after the stem and each stage (for shape checks)."""
        out = []
        for stage in (self.stem, self.stage1, self.stage2, self.stage3):
            x = stage(x)
            out.append(x)
        return out

    def forward(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        h = self.stage3(self.stage2(self.stage1(self.stem(x))))
        return self.fc(_concat_ebv(h, ebv))


class NetT(nn.Module):
    """Net_T: our reading of the network of Treyer et al. (in prep. at the time of the paper).

    No exact specification is available; the paper (Sect. 3.1) only says that it "has fewer
    trainable parameters but a deeper architecture" than Net_P and a 1024-feature
    penultimate layer.  We therefore build a deeper, narrower inception network from the
    same blocks: conv 5x5 -> 64, conv 3x3 -> 64, avgpool (32x32); inception(32, 48) x2
    [176 ch], avgpool (16x16); inception(48, 64) x2 [240], avgpool (8x8); inception(64, 92)
    x2 [340], avgpool (4x4); inception(64, 92) without 5x5 [248]; flatten (4*4*248 = 3,968)
    + E(B-V); FC 1024 ReLU; FC 1024 ReLU (D = 1024).  About 6.3M parameters against
    Net_P's 25.6M (trunks only); 16 convolutions on the longest path against Net_P's 11.
    """

    def __init__(self, n_bands: int = 5, stamp: int = 64):
        super().__init__()
        self.stem = nn.Sequential(ConvPReLU(n_bands, 64, 5), ConvPReLU(64, 64, 3), nn.AvgPool2d(2))
        a1 = Inception(64, 32, 48)
        a2 = Inception(a1.c_out, 32, 48)
        b1 = Inception(a2.c_out, 48, 64)
        b2 = Inception(b1.c_out, 48, 64)
        c1 = Inception(b2.c_out, 64, 92)
        c2 = Inception(c1.c_out, 64, 92)
        d1 = Inception(c2.c_out, 64, 92, with_5x5=False)
        self.body = nn.Sequential(
            a1, a2, nn.AvgPool2d(2), b1, b2, nn.AvgPool2d(2), c1, c2, nn.AvgPool2d(2), d1
        )
        self.n_flat = (stamp // 16) ** 2 * d1.c_out
        self.fc = FCHead(self.n_flat + 1, (1024, 1024))
        self.rep_dim = 1024

    def forward(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        return self.fc(_concat_ebv(self.body(self.stem(x)), ebv))


class NetS(nn.Module):
    """Net_S1, Net_S2, Net_S3 of the model-complexity study (Appendix D.6).

    ``n_conv`` convolutions 3x3 -> 64 (ReLU, zero padding) separated by 2x2 stride-2
    average pooling, global average pooling, concatenation with E(B-V), FC 256 ReLU x2
    (the representation, D = 256).
    """

    def __init__(self, n_conv: int, n_bands: int = 5):
        super().__init__()
        layers: list[nn.Module] = [ConvReLU(n_bands, 64, 3)]
        for _ in range(n_conv - 1):
            layers += [nn.AvgPool2d(2), ConvReLU(64, 64, 3)]
        self.body = nn.Sequential(*layers)
        self.fc = FCHead(64 + 1, (256, 256))
        self.rep_dim = 256

    def forward(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        return self.fc(_concat_ebv(self.body(x).mean(dim=(2, 3)), ebv))


class NetCPU(nn.Module):
    """A small trunk for the default CPU run (not in the paper).

    Sized so that 20 models of ~1-2k iterations train in minutes on two CPU cores while
    still learning colours and sizes well enough for the paper's biases to show.
    2x2 average pool (64 -> 32 px; the galaxies are well sampled), conv 3x3 -> 16, avgpool
    (16 px), conv 3x3 -> 32, avgpool (8 px), conv 3x3 -> 64, conv 3x3 -> 64 (PReLU
    throughout; ``widths`` sets the four channel counts); features = global average of the
    8x8 maps (64) and the central 2x2 cells (256, where the target galaxy sits: keeps a
    little spatial information and is closed under the dihedral augmentation as a set);
    + E(B-V); FC ``rep_dim`` ReLU x2 (D = 256 by default).  Pooling uses
    ``AvgPool2x2Sum`` (same values as ``nn.AvgPool2d(2)``, faster on the CPU).
    """

    def __init__(self, n_bands: int = 5, rep_dim: int = 256, widths: tuple[int, int, int, int] = (16, 32, 64, 64)):
        super().__init__()
        w1, w2, w3, w4 = widths
        self.body = nn.Sequential(
            AvgPool2x2Sum(),
            ConvPReLU(n_bands, w1, 3),
            AvgPool2x2Sum(),
            ConvPReLU(w1, w2, 3),
            AvgPool2x2Sum(),
            ConvPReLU(w2, w3, 3),
            ConvPReLU(w3, w4, 3),
        )
        self.fc = FCHead(5 * w4 + 1, (rep_dim, rep_dim))
        self.rep_dim = rep_dim

    def forward(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        hh, ww = h.shape[-2:]
        centre = h[:, :, hh // 2 - 1 : hh // 2 + 1, ww // 2 - 1 : ww // 2 + 1]
        feats = torch.cat([h.mean(dim=(2, 3)), centre.flatten(1)], dim=1)
        return self.fc(_concat_ebv(feats, ebv))


class MLPTrunk(nn.Module):
    """Trunk for photometric catalogues (magnitudes, colours): ``x`` is (B, F) features.

    Features are standardised with the training set's mean and standard deviation, kept as
    buffers so that they travel in the state dict (set them with ``set_standardisation``
    before training).  Hidden layers ``hidden`` (ReLU), then the representation ``rep_dim``
    (ReLU), E(B-V) concatenated to the standardised features.
    """

    def __init__(self, n_features: int, rep_dim: int = 256, hidden: tuple[int, ...] = (256, 256)):
        super().__init__()
        self.register_buffer("feature_mean", torch.zeros(n_features))
        self.register_buffer("feature_std", torch.ones(n_features))
        self.fc = FCHead(n_features + 1, tuple(hidden) + (rep_dim,))
        self.rep_dim = rep_dim

    @torch.no_grad()
    def set_standardisation(self, features) -> None:
        """Store the mean and standard deviation (per feature) of the training features."""
        f = torch.as_tensor(features, dtype=torch.float64)
        std = f.std(dim=0)
        self.feature_mean.copy_(f.mean(dim=0))
        # a constant feature carries no information: leave it centred, not divided by 0
        self.feature_std.copy_(torch.where(std > 0, std, torch.ones_like(std)))

    def forward(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        z = (x - self.feature_mean) / self.feature_std
        return self.fc(_concat_ebv(z, ebv))


# ---------------------------------------------------------------------------------------
# Output units: representation (B, D) -> logits
# ---------------------------------------------------------------------------------------


class SingleChannelUnit(nn.Module):
    """Baseline output: one fully-connected layer with ``n`` redshift bins (softmax in the loss)."""

    def __init__(self, rep_dim: int, n_bins: int):
        super().__init__()
        self.fc = nn.Linear(rep_dim, n_bins)
        self.n_bins = n_bins

    def forward(self, rep: torch.Tensor) -> torch.Tensor:
        return self.fc(rep)


class MultiChannelUnit(nn.Module):
    """Multi-channel output unit (Sect. 3.2.1, Figs. 2-3): ``m`` redshift heads + a magnitude head.

    The ``m`` redshift heads (``n`` bins each) are stored as one parameter
    ``heads_weight`` (m, n, D) and ``heads_bias`` (m, n) so that they run as one batched
    product; ``mag_head`` is ``Linear(D, m)``.  All are softmax outputs fed by the same
    representation; Eq. 2 combines them (``labels.combined_density``).
    """

    def __init__(self, rep_dim: int, n_bins: int, n_outputs: int):
        super().__init__()
        self.heads_weight = nn.Parameter(torch.empty(n_outputs, n_bins, rep_dim))
        self.heads_bias = nn.Parameter(torch.empty(n_outputs, n_bins))
        self.mag_head = nn.Linear(rep_dim, n_outputs)
        self.n_bins, self.n_outputs = n_bins, n_outputs

    def forward(self, rep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        head_logits = torch.einsum("bd,mnd->bmn", rep, self.heads_weight) + self.heads_bias
        return head_logits, self.mag_head(rep)


# ---------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------


class PhotoZNet(nn.Module):
    """A trunk (images or features + E(B-V) -> representation) and an output unit."""

    def __init__(self, trunk: nn.Module, unit: nn.Module):
        super().__init__()
        self.trunk = trunk
        self.unit = unit

    def representation(self, x: torch.Tensor, ebv: torch.Tensor) -> torch.Tensor:
        """The penultimate fully-connected layer, (B, D) (Sect. 3.2.1)."""
        return self.trunk(x, ebv)

    def forward(self, x: torch.Tensor, ebv: torch.Tensor):
        return self.unit(self.trunk(x, ebv))


# ---------------------------------------------------------------------------------------
# Initialisation, in one place
# ---------------------------------------------------------------------------------------

BIAS_INIT = 0.1


@torch.no_grad()
def init_weights(model: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Initialise every parameter as the authors' code does (method.md "Networks").

    Convolutions and fully-connected layers: Xavier-uniform weights, bias 0.1.  PReLU
    slopes: 0 (PyTorch's default 0.25 would change the network's start).  Multi-channel
    heads: Xavier-uniform per head (fan-in D, fan-out n), bias 0.1.  ``generator`` makes
    the initialisation independent of the global RNG (one seed per ensemble member).
    """
    for mod in model.modules():
        if isinstance(mod, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(mod.weight, generator=generator)
            nn.init.constant_(mod.bias, BIAS_INIT)
        elif isinstance(mod, nn.PReLU):
            nn.init.zeros_(mod.weight)
        elif isinstance(mod, MultiChannelUnit):
            for w in mod.heads_weight:
                nn.init.xavier_uniform_(w, generator=generator)
            nn.init.constant_(mod.heads_bias, BIAS_INIT)
    return model


# ---------------------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------------------

NETS = ("netp", "nett", "nets1", "nets2", "nets3", "netcpu", "mlp")
UNITS = ("single", "multi")
# the build arguments a checkpoint's meta must carry to rebuild its model
MODEL_META_KEYS = ("net", "unit", "n_bands", "n_bins", "n_outputs", "n_features", "rep_dim")


def _build_trunk(net: str, n_bands: int, n_features: int | None, rep_dim: int | None) -> nn.Module:
    if net == "netp":
        return NetP(n_bands)
    if net == "nett":
        return NetT(n_bands)
    if net in ("nets1", "nets2", "nets3"):
        return NetS(int(net[-1]), n_bands)
    if net == "netcpu":
        return NetCPU(n_bands, rep_dim=rep_dim or 256)
    if n_features is None or n_features < 1:
        raise InputError(f"n_features={n_features}", field="n_features", expected="a positive integer for net 'mlp'")
    return MLPTrunk(n_features, rep_dim=rep_dim or 256)


def build_model(
    net: str,
    unit: str,
    n_bins: int,
    n_outputs: int = 1,
    n_bands: int = 5,
    n_features: int | None = None,
    rep_dim: int | None = None,
    seed: int | None = None,
) -> PhotoZNet:
    """Build and initialise a model.

    Parameters
    ----------
    net : one of ``NETS``: 'netp' (Net_P), 'nett' (Net_T, our reading), 'nets1'..'nets3'
        (Appendix D.6), 'netcpu' (small CPU trunk), 'mlp' (catalogue features).
    unit : 'single' (Baseline) or 'multi' (Steps 1-3).
    n_bins : redshift bins ``n`` of the output (Table 1).
    n_outputs : magnitude outputs ``m`` (multi unit only; ignored for 'single').
    n_bands : image bands (image trunks).
    n_features : input features (``net='mlp'`` only).
    rep_dim : representation size for 'netcpu' and 'mlp' (default 256); the paper's networks
        have fixed sizes (1024 for Net_P/Net_T, 256 for Net_S).
    seed : seeds the initialisation (``init_weights``); None uses the global RNG.
    """
    if net not in NETS:
        raise InputError(f"unknown network {net!r}", field="net", expected=f"one of {NETS}")
    if unit not in UNITS:
        raise InputError(f"unknown output unit {unit!r}", field="unit", expected=f"one of {UNITS}")
    if rep_dim is not None and net not in ("netcpu", "mlp"):
        raise InputError(f"rep_dim={rep_dim} given for {net!r}", field="rep_dim", expected="rep_dim only for 'netcpu' and 'mlp'")
    trunk = _build_trunk(net, n_bands, n_features, rep_dim)
    if unit == "single":
        head = SingleChannelUnit(trunk.rep_dim, n_bins)
    else:
        head = MultiChannelUnit(trunk.rep_dim, n_bins, n_outputs)
    model = PhotoZNet(trunk, head)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    init_weights(model, gen)
    model.build_args = dict(
        net=net,
        unit=unit,
        n_bands=int(n_bands),
        n_bins=int(n_bins),
        n_outputs=int(n_outputs) if unit == "multi" else 1,
        n_features=None if n_features is None else int(n_features),
        rep_dim=None if rep_dim is None else int(rep_dim),
    )
    return model


def unwrap(model: nn.Module) -> nn.Module:
    """The module under a ``torch.compile`` wrapper (its state dict has no ``_orig_mod.``)."""
    return getattr(model, "_orig_mod", model)


def model_meta(model: nn.Module) -> dict:
    """Plain-typed build arguments that ``build_model(**meta)`` turns back into this model."""
    return dict(unwrap(model).build_args)
