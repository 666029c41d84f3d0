"""Is a trained trunk good enough?  Test-set accuracy of Baseline / Step 1 checkpoints, whether
a representation carries the redshift (dead units, effective rank, a linear probe), and Step 1
retrained with other numbers of magnitude outputs (Appendix D.3 of Lin et al. 2022)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from photoz_debias.model.checkpoint import load_model
from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid, activated_outputs
from photoz_debias.evaluate.metrics import mean_residual, outlier_fraction, sigma_mad
from photoz_debias.model.networks import MultiChannelUnit, unwrap
from photoz_debias.io import load_training_arrays


def _checkpoint_grid(path, meta: dict, keys=("grid",)) -> RedshiftGrid:
    """The redshift grid of a checkpoint written by the train rules, after checking that its
    meta holds ``keys``."""
    for key in keys:
        if key not in meta:
            raise InputError(f"the checkpoint's meta has no {key!r}", file=str(path), field=f"meta.{key}",
                             expected="a checkpoint written by the workflow's train rules")
    return RedshiftGrid.from_config(meta["grid"])


def _checkpoint_meta(path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=True).get("meta", {})


@torch.no_grad()
def diagnose_checkpoint(path, test: dict, outlier_threshold: float = 0.05, batch_size: int = 256) -> dict:
    """Test-set accuracy of one checkpoint.

    Parameters
    ----------
    path : a model checkpoint (``checkpoint.save_checkpoint``).
    test : ``io.load_training_arrays(stamps, "test")``.
    outlier_threshold : |dz| above this is an outlier (SDSS 0.05, CFHTLS 0.15).

    Returns
    -------
    dict with ``unit, iterations, sigma_mad, outlier_fraction, mean_residual`` and, for the
    multi-channel unit, ``mag_head_accuracy`` and ``head_peak_probability`` (NaN otherwise).
    """
    model, meta = load_model(path)
    model.eval()
    grid = _checkpoint_grid(path, meta)
    multi = isinstance(unwrap(model).unit, MultiChannelUnit)
    lo, hi = activated_outputs(np.asarray(test["mag_row"]))
    peaks, mag_ok, zmode = [], [], []
    n = len(test["ebv"])
    for a in range(0, n, batch_size):
        x = torch.as_tensor(np.asarray(test["x"][a : a + batch_size], dtype=np.float32))
        e = torch.as_tensor(np.asarray(test["ebv"][a : a + batch_size], dtype=np.float32))
        out = model(x, e)
        if multi:
            heads, mag = out
            p_heads = torch.softmax(heads.float(), dim=2)
            p_mag = torch.softmax(mag.float(), dim=1)
            p = torch.einsum("bk,bkn->bn", p_mag, p_heads)
            b = torch.arange(len(e))
            k_lo, k_hi = torch.as_tensor(lo[a : a + len(e)]), torch.as_tensor(hi[a : a + len(e)])
            peaks.append(p_heads[b, k_lo].max(dim=1).values.numpy())
            best = p_mag.argmax(dim=1)
            mag_ok.append(((best == k_lo) | (best == k_hi)).numpy())
        else:
            p = torch.softmax(out.float(), dim=1)
        zmode.append(grid.centres[p.argmax(dim=1).numpy()])
    z_phot, z_spec = np.concatenate(zmode), np.asarray(test["z_spec"], dtype=np.float64)
    return {
        "unit": "multi" if multi else "single",
        "iterations": int(meta.get("iterations", -1)),
        "sigma_mad": sigma_mad(z_phot, z_spec),
        "outlier_fraction": outlier_fraction(z_phot, z_spec, outlier_threshold),
        "mean_residual": mean_residual(z_phot, z_spec),
        "mag_head_accuracy": float(np.mean(np.concatenate(mag_ok))) if multi else float("nan"),
        "head_peak_probability": float(np.mean(np.concatenate(peaks))) if multi else float("nan"),
    }


def effective_rank(x: np.ndarray, fraction: float = 0.99) -> int:
    """Number of principal components of ``x`` (N, D) that hold ``fraction`` of its variance."""
    x = np.asarray(x, dtype=np.float64)
    s2 = np.linalg.svd(x - x.mean(axis=0), compute_uv=False) ** 2
    if s2.sum() <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(s2) / s2.sum(), fraction - 1e-12) + 1)


def linear_probe(train_x: np.ndarray, train_bin: np.ndarray, test_x: np.ndarray, n_bins: int,
                 epochs: int = 300, lr: float = 1e-2, seed: int = 0) -> np.ndarray:
    """Fit one softmax layer (full-batch Adam on the cross-entropy) and return the test
    galaxies' most probable bins: how much redshift a representation carries linearly."""
    g = torch.Generator().manual_seed(seed)
    xtr = torch.as_tensor(np.asarray(train_x, dtype=np.float32))
    y = torch.as_tensor(np.asarray(train_bin, dtype=np.int64))
    scale = xtr.std(dim=0).clamp_min(1e-6)
    layer = torch.nn.Linear(xtr.shape[1], n_bins)
    with torch.no_grad():
        layer.weight.normal_(0.0, 0.01, generator=g)
        layer.bias.zero_()
    opt = torch.optim.Adam(layer.parameters(), lr=lr)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(layer(xtr / scale), y).backward()
        opt.step()
    with torch.no_grad():
        xte = torch.as_tensor(np.asarray(test_x, dtype=np.float32))
        return layer(xte / scale).argmax(dim=1).numpy()


@torch.no_grad()
def trunk_representations(path, data: dict, batch_size: int = 512) -> np.ndarray:
    """The representation (the trunk's output, the input of the output unit) that the model
    checkpoint at ``path`` gives the unrotated images of ``data`` (``load_training_arrays``)."""
    model, _ = load_model(path)
    trunk = unwrap(model).trunk.eval()
    n = len(data["ebv"])
    out = [trunk(torch.as_tensor(np.asarray(data["x"][a : a + batch_size], dtype=np.float32)),
                 torch.as_tensor(np.asarray(data["ebv"][a : a + batch_size], dtype=np.float32)))
           for a in range(0, n, batch_size)]
    return torch.cat(out).float().numpy()


def diagnose_representation(stamps, grid_checkpoint, source, seed: int = 0) -> dict:
    """Dead units, effective rank and linear-probe sigma_MAD of a representation.

    ``source`` is a cached ``representations.h5`` (Step 1's, as Steps 2-3 read it) or a
    model checkpoint (``.pt``, e.g. a Baseline: its trunk is run on the stamps' unrotated
    images); ``grid_checkpoint`` is any checkpoint of the dataset, for its redshift grid.

    Returns dict with ``n_units``, ``dead_units`` (zero for every test galaxy),
    ``effective_rank`` (99% of the test variance) and ``probe_sigma_mad`` (zmode of a linear
    softmax over the grid, trained on the training split's unrotated view, on the test
    galaxies).
    """
    from photoz_debias.io import read_labels, read_representations

    grid = _checkpoint_grid(grid_checkpoint, _checkpoint_meta(grid_checkpoint))
    if str(source).endswith(".pt"):
        tr, te = (load_training_arrays(stamps, split=sp) for sp in ("train", "test"))
        xtr, xte = trunk_representations(source, tr), trunk_representations(source, te)
        z_train, z_test = tr["z_spec"], te["z_spec"]
    else:
        labels = read_labels(stamps)
        train, test = labels[labels["split"] == 0], labels[labels["split"] == 1]
        xtr = read_representations(source, "train")
        xte = read_representations(source, "test")
        xtr = xtr[:, 0] if xtr.ndim == 3 else xtr
        if len(xtr) != len(train) or len(xte) != len(test):
            raise InputError(f"{len(xtr)} train / {len(xte)} test representations for {len(train)} / "
                             f"{len(test)} galaxies", file=str(source),
                             expected=f"the representations of {stamps}")
        z_train, z_test = train["z_spec"].to_numpy(), test["z_spec"].to_numpy()
    bins = linear_probe(xtr, grid.bin_index(np.asarray(z_train)), xte, grid.n_bins, seed=seed)
    return {
        "n_units": int(xte.shape[1]),
        "dead_units": int(np.sum(~(xte > 0).any(axis=0))),
        "effective_rank": effective_rank(xte),
        "probe_sigma_mad": sigma_mad(grid.centres[bins], np.asarray(z_test)),
    }


def step1_outputs_sweep(stamps, step1, outputs, log=None, outlier_threshold: float = 0.05) -> pd.DataFrame:
    """Test accuracy of Step 1 retrained with each number of magnitude outputs in ``outputs``.

    The rows of the checkpoint ``step1`` (``r_min``, ``n_rows x row_width``) are re-cut into
    ``2m - 1`` equal rows; network, grid, seed and training settings are the checkpoint's.
    Returns one row per m: ``n_outputs, row_width, sigma_mad, outlier_fraction,
    head_peak_probability`` (as in :func:`diagnose_checkpoint`).
    """
    import tempfile

    from photoz_debias.grid import MagnitudeRows
    from photoz_debias.io import read_labels
    from photoz_debias.model.networks import build_model
    from photoz_debias.model.training import TrainSettings, train_model

    meta = _checkpoint_meta(step1)
    grid = _checkpoint_grid(step1, meta, ("grid", "rows", "net", "iterations", "batch_size", "lr",
                                          "lr_drop_factor", "seed"))
    g, r = meta["grid"], meta["rows"]
    span = float(r["n_rows"]) * float(r["row_width"])
    r_mag = read_labels(stamps).set_index("id")["r_mag"]
    data = {sp: load_training_arrays(stamps, split=sp) for sp in ("train", "test")}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for m in outputs:
            rows = MagnitudeRows(float(r["r_min"]), 2 * int(m) - 1, span / (2 * int(m) - 1))
            split_rows = {sp: rows.row_index(r_mag.loc[d["id"]].to_numpy()) for sp, d in data.items()}
            tr = data["train"]
            n_bands = tr["x"].shape[1]  # image bands, or catalogue features (as train.py)
            model = build_model(meta["net"], "multi", n_bins=grid.n_bins, n_outputs=rows.n_outputs,
                                n_bands=n_bands, n_features=n_bands if tr["x"].ndim == 2 else None,
                                seed=int(meta["seed"]))
            if meta["net"] == "mlp":
                model.trunk.set_standardisation(tr["x"])
            settings = TrainSettings(iterations=int(meta["iterations"]), batch_size=int(meta["batch_size"]),
                                     lr=float(meta["lr"]), lr_drop_factor=float(meta["lr_drop_factor"]),
                                     seed=int(meta["seed"]), log_every=max(1, int(meta["iterations"]) // 4),
                                     device="cpu")
            path = f"{tmp}/m{m}.pt"
            train_model(model, tr["x"], tr["ebv"], grid.bin_index(tr["z_spec"]), split_rows["train"],
                        rows.n_outputs, settings, out_path=path, log=log,
                        meta={"grid": dict(g), "rows": {"r_min": rows.r_min, "n_rows": rows.n_rows,
                                                        "row_width": rows.row_width}, "unit": "multi"})
            d = diagnose_checkpoint(path, {**data["test"], "mag_row": split_rows["test"]}, outlier_threshold)
            out.append({"n_outputs": int(m), "row_width": rows.row_width, "sigma_mad": d["sigma_mad"],
                        "outlier_fraction": d["outlier_fraction"],
                        "head_peak_probability": d["head_peak_probability"]})
    return pd.DataFrame(out)
