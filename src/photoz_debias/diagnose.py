"""Diagnostics: is a trained trunk good enough, and how far do Step 3's labels move?

``checkpoints``: test-set accuracy of Baseline / Step 1 checkpoints.

Steps 2 and 3 only retrain the redshift heads on Step 1's representation, so an underfit
Step 1 caps what they can correct (Appendix D.3 of Lin et al. 2022).  This command evaluates
one or more checkpoints (final models or the intermediate ``iter<k>.pt`` of
``training.checkpoint_iters``) on the test split of a preprocessed stamps file and prints a
Markdown table::

    python -m photoz_debias.diagnose checkpoints results/sdss/stamps.h5 \\
        results/sdss/netcpu/seed0/step1_checkpoints/iter1200.pt results/sdss/netcpu/seed0/step1.pt

Columns: sigma_MAD (Eq. 11), outlier fraction, mean residual <dz>, for the zmode of the
model's own density (Eq. 2 for the multi-channel unit); for the multi-channel unit also the
magnitude head's accuracy (argmax among the galaxy's activated outputs) and the mean peak
probability of the activated redshift head (a head still close to flat is underfit).

``representation``: is Step 1's cached representation (the input of Steps 2-3) informative?
For the test galaxies: the units that are zero for every galaxy, the number of principal
components that hold 99% of the variance, and the test sigma_MAD of a linear probe (one softmax
over the dataset's grid, trained on the training split's unrotated view).  A source is a cached
``representations.h5`` or a model checkpoint, whose trunk is then run (e.g. the Baseline's, to
compare): a Step 1 probe far above the Baseline's means the trunk, not the heads, is what limits
Steps 1-3::

    python -m photoz_debias.diagnose representation results/cfhtls/stamps.h5 \\
        results/cfhtls/netcpu/seed0/step1.pt results/cfhtls/netcpu/seed0/representations.h5 \\
        results/cfhtls/netcpu/seed0/baseline.pt

``outputs``: does Step 1 keep up with the Baseline as the number of magnitude outputs m grows?
Retrains Step 1 (seed and training settings of the given Step 1 checkpoint) with m outputs
over the same magnitude range (2m - 1 rows of equal width), each for the checkpoint's number
of iterations, and prints its test sigma_MAD (minutes per model on a CPU)::

    python -m photoz_debias.diagnose outputs results/cfhtls/stamps.h5 \\
        results/cfhtls/netcpu/seed0/step1.pt --outputs 1 3 5 7 10 --outlier-threshold 0.15

``shifts``: does Step 3 need the label shift Eq. 8 gives it?  Per z_spec interval of the test
catalogue: the mean residual of Step 3b (soft labels at z0: the bias Eq. 8 is meant to
remove), the mean label shift ``(z* - z0)/(1 + z0)`` of the soft-label tables (all seeds
pooled), Step 3's mean residual and its difference to Step 3b (how far the shift moved the
estimates).  Eq. 8 is right where the shift is about minus Step 3b's residual::

    python -m photoz_debias.diagnose shifts results/sdss/netcpu/all/catalogue.parquet \\
        results/sdss/netcpu/seed*/all/soft_labels.parquet

``variance``: is Eq. 7's variance the scattering Step 3's labels meet?  Per magnitude output:
sigma_1 (Eq. 4), Step 2's sigma_2, sqrt(Var) of Eq. 7 and the one measured on Step 3b (the
same soft labels at z0, ``soft_labels_measured.parquet``); then Step 3 retrained on each
table for every ensemble seed (seconds per seed on cached representations) and evaluated on
the part's test catalogue::

    python -m photoz_debias.diagnose variance config/config.yaml sdss all

``labels``: the soft-label means of Step 3 (Eq. 8) per z_spec interval: how many subset
galaxies, the mean shift z* - z0, the mean width sqrt(Var) (Eq. 7) and sigma_1 (Eq. 4)::

    python -m photoz_debias.diagnose labels results/sdss/netcpu/seed0/all/soft_labels.parquet

``seeds``: do the claims hold for each trained model, or only for the ensemble?  Claims 1-3
(Baseline's high-z slope C, Step 3's |C| against half of it, D_TV) for every seed's Baseline,
Step 2, 3b and 3 alone, rebuilt from the run's files and evaluated like the catalogue, then
for the ensemble (the run's ``metrics.parquet`` values); the spread between the seeds is the
model-to-model scatter the claims' test-galaxy error bars leave out (seconds per seed)::

    python -m photoz_debias.diagnose seeds config/config.yaml sdss all
    python -m photoz_debias.diagnose seeds config/config.yaml my-overlay.yaml sdss all  # a run with an overlay

``scattering``: does Step 2 scatter the way Eq. 8 models it (Appendix C)?  Per z_spec
interval, mean of the seeds: Step 2's <dz> on each seed's balanced subset, the <dz> that
Eq. C.1 expects from a Gaussian profile times the subset's n(z), their difference (what Eq. 8
cannot correct), Step 3b on the subset, and Step 2 and 3b on the test galaxies::

    python -m photoz_debias.diagnose scattering config/config.yaml sdss all

``photometry``: is a feature of the residuals in the photometry itself, and is the synthetic
photometry as informative as the real?  A kNN photo-z on the real SDSS MGS (its two files
pooled and halved at random) and on as many synthetic catalogue galaxies, trained on the whole
training set and on balanced subsets: sigma_MAD, outliers, Eq. 9's A and C, <dz> per
interval, and the colour spread at fixed redshift of both catalogues::

    python -m photoz_debias.diagnose photometry config/config.yaml sdss --mgs resources/mlz_sdss_mgs
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .checkpoint import load_model
from .errors import InputError
from .grid import RedshiftGrid, activated_outputs, grids_from_config
from .metrics import mean_residual, outlier_fraction, sigma_mad
from .networks import MultiChannelUnit, unwrap
from .studies import merged_config
from .training import load_training_arrays


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
    test : ``training.load_training_arrays(stamps, "test")``.
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
    from .io import read_labels, read_representations

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

    from .grid import MagnitudeRows
    from .io import read_labels
    from .networks import build_model
    from .training import TrainSettings, train_model

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


def _require_soft_label_columns(table: pd.DataFrame) -> None:
    missing = [c for c in ("z0", "z_star", "var", "sigma1") if c not in table.columns]
    if missing:
        raise InputError(f"columns {missing} missing", field="soft labels table",
                         expected="a soft_labels.parquet written by fit_soft_labels")


def _intervals(top: float, width: float) -> np.ndarray:
    """Edges of ``width``-wide z intervals from 0 past ``top``."""
    return np.arange(0.0, top + width, width)


def label_shift_summary(table: pd.DataFrame, edges) -> pd.DataFrame:
    """Step 3's label shifts per z_spec interval of a ``soft_labels.parquet`` table.

    Returns one row per interval ``[lo, hi)`` of ``edges`` with ``n`` (galaxies),
    ``shift`` (mean z* - z0), ``width`` (mean sqrt(Var), Eq. 7) and ``sigma1`` (mean, Eq. 4).
    """
    _require_soft_label_columns(table)
    edges = np.asarray(edges, dtype=np.float64)
    k = np.digitize(table["z0"].to_numpy(), edges) - 1
    rows = []
    for i in range(len(edges) - 1):
        t = table[k == i]
        rows.append({
            "lo": edges[i], "hi": edges[i + 1], "n": len(t),
            "shift": float((t["z_star"] - t["z0"]).mean()) if len(t) else float("nan"),
            "width": float(np.sqrt(t["var"]).mean()) if len(t) else float("nan"),
            "sigma1": float(t["sigma1"].mean()) if len(t) else float("nan"),
        })
    return pd.DataFrame(rows)


def variance_summary(eq7: list[pd.DataFrame], measured: list[pd.DataFrame]) -> pd.DataFrame:
    """Eq. 7's scattering variance against the one measured on Step 3b, per magnitude output.

    ``eq7``: ``soft_labels.parquet`` tables (``var = sigma_1^2 + sigma_2^2``, Step 2's
    sigma_2); ``measured``: the same seeds' ``soft_labels_measured.parquet`` (``var`` = Step
    3b's sigma_2^2), row for row.  Returns one row per output ``k``: ``n`` (labels, all seeds),
    ``sigma1``, ``sigma2_step2`` = mean sqrt(Var_eq7 - sigma_1^2), ``width_eq7`` = mean
    sqrt(Var_eq7), ``width_step3b`` = mean sqrt(Var_measured) and ``ratio`` = mean Var_eq7 /
    mean Var_measured (how many times larger Eq. 7 makes the variance, and so the shift).
    """
    a, b = pd.concat(eq7, ignore_index=True), pd.concat(measured, ignore_index=True)
    for t in (a, b):
        _require_soft_label_columns(t)
    if len(a) != len(b) or not np.array_equal(a[["id", "output"]].to_numpy(), b[["id", "output"]].to_numpy()):
        raise InputError("the two sets of tables do not list the same (galaxy, output) rows",
                         field="soft labels tables",
                         expected="soft_labels.parquet and soft_labels_measured.parquet of the same seeds, in order")
    df = pd.DataFrame({"output": a["output"].to_numpy(), "sigma1": a["sigma1"].to_numpy(),
                       "s2": np.sqrt(np.maximum(a["var"] - a["sigma1"] ** 2, 0.0)),
                       "v7": a["var"].to_numpy(), "vm": b["var"].to_numpy()})
    g = df.groupby("output")
    out = pd.DataFrame({
        "n": g.size(), "sigma1": g["sigma1"].mean(), "sigma2_step2": g["s2"].mean(),
        "width_eq7": g["v7"].apply(lambda v: np.sqrt(v).mean()),
        "width_step3b": g["vm"].apply(lambda v: np.sqrt(v).mean()),
        "ratio": g["v7"].mean() / g["vm"].mean(),
    })
    return out.reset_index()


def _finished_part(config: dict, dataset: str, part: str, root):
    """(dataset config, ``results/<dataset>`` folder, the part's catalogue) of a finished run;
    a clear error when the dataset, the part or the catalogue is missing."""
    if dataset not in config.get("datasets", {}):
        raise InputError(f"dataset {dataset!r} not in the configuration", field="dataset",
                         expected=" | ".join(config.get("datasets", {})))
    ds = config["datasets"][dataset]
    if part not in ds["parts"]:
        raise InputError(f"part {part!r} not in dataset {dataset!r}", field="part",
                         expected=" | ".join(ds["parts"]))
    base = Path(root) / "results" / dataset
    cat_path = base / ds["net"] / part / "catalogue.parquet"
    if not cat_path.exists():
        raise InputError(f"{cat_path} not found (run from the run's directory, after the run)",
                         field="catalogue", expected="a finished run of that configuration")
    cat = pd.read_parquet(cat_path)
    return ds, base, cat


def compare_label_variance(config: dict, dataset: str, part: str, root=".",
                           log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 3 retrained with each label table, Eq. 7's and the measured one, and evaluated.

    For every ensemble seed of ``config`` (the workflow's configuration as a dict), Step 3's
    heads are trained on ``soft_labels.parquet`` (Eq. 7) and on ``soft_labels_measured.parquet``
    (Step 3b's variance) of ``results/<dataset>/<net>/seed<s>/<part>/`` with the dataset's head
    settings; the seeds' densities are averaged and the zmode evaluated on the part's test
    catalogue next to its Baseline, Step 3b and Step 3 columns.

    Returns
    -------
    variance : :func:`variance_summary` of the seeds' tables.
    metrics : ``evaluate_methods`` rows (zmode) of ``baseline, step3b, step3, step3_eq7,
        step3_measured``.
    """
    from .debias import rows_of_ids, step3, training_galaxies
    from .ensemble import average, estimates_table, step_densities
    from .evaluation import evaluate_catalogue
    from .grid import MagnitudeRows
    from .heads import head_settings
    from .io import load_step1_heads, read_labels, read_representations

    ds, base, cat = _finished_part(config, dataset, part, root)
    g, heads = ds["grid"], ds["heads"]
    grid = RedshiftGrid.from_config(g)
    rows = MagnitudeRows(**ds["rows"])
    stamps = base / "stamps.h5"
    labels = read_labels(stamps)
    test_all = labels.loc[labels["split"] == 1, "id"].to_numpy()
    test_rows = rows_of_ids(test_all, cat["id"].to_numpy())
    names = {"step3_eq7": "soft_labels.parquet", "step3_measured": "soft_labels_measured.parquet"}
    dens = {m: [] for m in names}
    tables = {m: [] for m in names}
    curves = []
    ext = None
    for seed in config["ensemble"]["seeds"]:
        sd = base / ds["net"] / f"seed{seed}"
        h1 = load_step1_heads(sd / "step1.pt")
        test_reps = read_representations(sd / "representations.h5", "test", test_rows)
        curves.append(pd.read_parquet(sd / part / "error_curves.parquet"))
        for m, fname in names.items():
            if not (sd / part / fname).exists():
                raise InputError(f"{sd / part / fname} not found", field="soft labels table",
                                 expected="a run with heads.label_variance: measured (the default)")
            table = pd.read_parquet(sd / part / fname)
            tables[m].append(table)
            ids = table["id"].drop_duplicates().to_numpy()
            gal, reps = training_galaxies(stamps, sd / "representations.h5", ids)
            settings = head_settings(heads, int(seed))
            w, b, _, ext = step3(reps, ids, gal["mag_row"].to_numpy(), table, grid,
                                 (g["extend_left"], g["extend_right"]), rows.n_outputs, "step3", settings)
            dens[m].append(step_densities(test_reps, h1, (w, b)))
            if log is not None:
                print(f"seed {seed}: Step 3 trained on {sd / part / fname}", file=log, flush=True)
    for m, ps in dens.items():
        est = estimates_table(m, average(ps), ext.centres)
        cat = cat.assign(**{c: est[c].to_numpy() for c in est.columns})
    metrics = evaluate_catalogue(cat, ["baseline", "step3b", "step3", *names], g, ds["parts"][part],
                                 curves, estimates=("zmode",))
    return variance_summary(tables["step3_eq7"], tables["step3_measured"]), metrics


#: the methods ``seed_scatter`` evaluates per model (Step 4 calibrates the ensemble only)
SEED_METHODS = ("baseline", "step2", "step3b", "step3")


def claims_of_model(metrics: pd.DataFrame) -> dict:
    """The numbers behind the paper's claims 1-3 (``claims.claim_values``) of one metrics
    table (zmode): Baseline's and Step 3's high-z slope C (Eq. 9), the bound |C(Baseline)|/2,
    whether claim 2 holds and by how many standard errors, D_TV (Eq. 10) and sigma_MAD
    (Eq. 11) of both, and Step 2's and Step 3b's C."""
    from .claims import _scalar, claim_values

    v = claim_values(metrics)
    keep = ("C_baseline", "C_step3", "bound", "claim1", "claim2", "margin2", "tv_baseline",
            "tv_step3", "claim3")
    return {
        **{k: v[k] for k in keep},
        "C_step3b": _scalar(metrics, "step3b", "slope_high")[0],
        "C_step2": _scalar(metrics, "step2", "slope_high")[0],
        "sigma_mad_baseline": _scalar(metrics, "baseline", "sigma_mad")[0],
        "sigma_mad_step3": _scalar(metrics, "step3", "sigma_mad")[0],
    }


def seed_scatter(config: dict, dataset: str, part: str, root=".", log=None) -> pd.DataFrame:
    """Claims 1-3 for every trained model of the ensemble alone, and for the ensemble.

    The claims' error bars (bootstrap over test galaxies) leave out how much the trained
    models differ. Here each seed's Baseline, Step 2, 3b and 3 densities are rebuilt from its
    checkpoint files (``baseline_test.h5``, ``step1.pt``, the part's head files, the cached
    test representations), evaluated alone on the part's test galaxies with its own Eq. 6
    curves, and reduced with :func:`claims_of_model`; the last row, ``ensemble``, evaluates the
    catalogue's columns (the workflow's ``metrics.parquet`` values). Claim 4 needs Step 4,
    which calibrates the ensemble only, so it is not per model.
    """
    import h5py

    from .debias import rows_of_ids
    from .ensemble import average, estimates_table, step_densities
    from .evaluation import evaluate_catalogue
    from .io import load_heads, load_step1_heads, read_labels, read_representations

    ds, base, cat = _finished_part(config, dataset, part, root)
    grid, ext = grids_from_config(ds["grid"])
    labels = read_labels(base / "stamps.h5")
    test_rows = rows_of_ids(labels.loc[labels["split"] == 1, "id"].to_numpy(), cat["id"].to_numpy())
    rows, all_curves = [], []
    for seed in config["ensemble"]["seeds"]:
        sd = base / ds["net"] / f"seed{seed}"
        curves = pd.read_parquet(sd / part / "error_curves.parquet")
        all_curves.append(curves)
        with h5py.File(sd / "baseline_test.h5", "r") as f:
            p_base = f["p"][:][rows_of_ids(f["id"][:], cat["id"].to_numpy())]
        h1 = load_step1_heads(sd / "step1.pt")
        reps = read_representations(sd / "representations.h5", "test", test_rows)
        cols = estimates_table("baseline", average([p_base]), grid.centres)
        for m in SEED_METHODS[1:]:
            w, b, _ = load_heads(sd / part / f"{m}.pt")
            centres = ext.centres if m.startswith("step3") else grid.centres
            est = estimates_table(m, average([step_densities(reps, h1, (w, b))]), centres)
            cols = pd.concat([cols, est], axis=1)
        one = cat.assign(**{c: cols[c].to_numpy() for c in cols.columns})
        metrics = evaluate_catalogue(one, list(SEED_METHODS), ds["grid"], ds["parts"][part],
                                     [curves], estimates=("zmode",))
        rows.append({"model": f"seed {seed}", **claims_of_model(metrics)})
        if log is not None:
            print(f"seed {seed} evaluated", file=log, flush=True)
    metrics = evaluate_catalogue(cat, list(SEED_METHODS), ds["grid"], ds["parts"][part],
                                 all_curves, estimates=("zmode",))
    rows.append({"model": "ensemble", **claims_of_model(metrics)})
    return pd.DataFrame(rows)


def _interval_means(z: np.ndarray, values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``values`` per half-open ``z`` interval of ``edges`` (NaN where empty)."""
    k = np.searchsorted(edges, z, side="right") - 1
    ok = (k >= 0) & (k < len(edges) - 1) & np.isfinite(values)
    n = np.bincount(k[ok], minlength=len(edges) - 1)
    s = np.bincount(k[ok], weights=values[ok], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / np.maximum(n, 1), np.nan)


def scattering_check(config: dict, dataset: str, part: str, root=".", width: float = 0.02,
                     log=None) -> pd.DataFrame:
    """Does Step 2 scatter the way Eq. 8 models it?  Appendix C's test, per z_spec interval.

    Eq. 8 moves each soft label against the pull it expects from a Gaussian scattering
    profile ``N(z0, sigma_2^2)`` times the balanced subset's n(z) of the galaxy's magnitude
    output; Appendix C (Fig. C.1) compares that expected <dz> with Step 2's actual <dz> on the
    subset.  Here, per interval and averaged over the ensemble seeds (each seed has its own
    subset):

    - ``n_subset``: subset galaxies per seed; ``step2_subset``: Step 2's actual <dz> on them
      (``step2_predictions.parquet``, zmode); ``expected``: Eq. C.1 with the seed's Eq. 6
      curves (``k = 1``); ``miss = step2_subset - expected``: what the Gaussian model leaves
      out, which Eq. 8 therefore cannot correct;
    - ``step2_test`` and ``step3b_test``: the same seeds' models on the test galaxies, and
      ``step3b_subset`` on the subset (its unrotated view): a residual the models also make
      on the galaxies they were trained on is not a train/test difference.

    ``dz = (z_photo - z_spec)/(1 + z_spec)``, zmode throughout.
    """
    from .debias import training_galaxies
    from .ensemble import step_densities
    from .figures.figC1_expected_residuals import expected_residuals
    from .io import load_heads, load_step1_heads, read_labels, read_representations

    ds, base, cat = _finished_part(config, dataset, part, root)
    g = ds["grid"]
    grid, ext = grids_from_config(g)
    labels = read_labels(base / "stamps.h5")
    test = labels[labels["split"] == 1].reset_index(drop=True)
    edges = _intervals(float(test["z_spec"].max()), width)
    zt = test["z_spec"].to_numpy(np.float64)
    cols = {c: [] for c in ("n_subset", "step2_subset", "expected", "step2_test", "step3b_test",
                            "step3b_subset")}
    for seed in config["ensemble"]["seeds"]:
        sd = base / ds["net"] / f"seed{seed}"
        pred = pd.read_parquet(sd / part / "step2_predictions.parquet")
        curves = pd.read_parquet(sd / part / "error_curves.parquet")
        zs = pred["z_spec"].to_numpy(np.float64)
        dz2 = (pred["z_photo"].to_numpy(np.float64) - zs) / (1 + zs)
        exp = expected_residuals(zs, pred["mag_row"].to_numpy(), curves, grid,
                                 (g["extend_left"], g["extend_right"]))
        cols["n_subset"].append(np.histogram(zs, edges)[0].astype(float))
        cols["step2_subset"].append(_interval_means(zs, dz2, edges))
        cols["expected"].append(_interval_means(zs, exp, edges))
        h1 = load_step1_heads(sd / "step1.pt")
        test_reps = read_representations(sd / "representations.h5", "test")  # the split's order
        ids = pred["id"].drop_duplicates().to_numpy()
        gal, train_reps = training_galaxies(base / "stamps.h5", sd / "representations.h5", ids)
        zg = gal["z_spec"].to_numpy(np.float64)
        for m, centres in (("step2", grid.centres), ("step3b", ext.centres)):
            heads = load_heads(sd / part / f"{m}.pt")[:2]
            zp = centres[np.argmax(step_densities(test_reps, h1, heads), axis=1)]
            cols[f"{m}_test"].append(_interval_means(zt, (zp - zt) / (1 + zt), edges))
            if m == "step3b":
                zp = centres[np.argmax(step_densities(train_reps[:, 0], h1, heads), axis=1)]
                cols["step3b_subset"].append(_interval_means(zg, (zp - zg) / (1 + zg), edges))
        if log is not None:
            print(f"seed {seed} evaluated", file=log, flush=True)
    with warnings.catch_warnings():  # an interval empty for every seed stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        out = pd.DataFrame({c: np.nanmean(np.vstack(v), axis=0) for c, v in cols.items()})
    out.insert(0, "hi", edges[1:])
    out.insert(0, "lo", edges[:-1])
    out["miss"] = out["step2_subset"] - out["expected"]
    out["n_test"] = np.histogram(zt, edges)[0]
    return out


def _photo_z_summary(zp: np.ndarray, zs: np.ndarray, threshold: float) -> dict:
    """sigma_MAD, outlier fraction and the Eq. 9 slopes (A, C) of one photometric estimate,
    fitted like ``metrics.evaluate_methods`` (SDSS bins; plain bin means: no Eq. 6 curves)."""
    from .metrics import DEFAULT_EVAL_CONFIG, eq9_fit_of_curve, mean_residual_vs_zspec

    cfg = DEFAULT_EVAL_CONFIG
    curve = mean_residual_vs_zspec(zp, zs, None, cfg["zspec_bins"])
    (a, _, cc, _), (ea, _, ec, _) = eq9_fit_of_curve(curve, cfg["z_break"], cfg["min_count"])
    return {"sigma_mad": sigma_mad(zp, zs), "outliers": outlier_fraction(zp, zs, threshold),
            "A": a, "err_A": ea, "C": cc, "err_C": ec}


def photometric_check(mgs, stamps, grid: RedshiftGrid, rows, threshold: int,
                      seeds=(0, 1, 2), k: int = 32, width: float = 0.02,
                      outlier_threshold: float = 0.05, sample_seed: int = 0):
    """The same photometric estimator on the real SDSS MGS and on the synthetic catalogue.

    A kNN photo-z (``peers.knn_photo_z``: local linear fit of z on the magnitudes and colours
    of the ``k`` nearest training galaxies) is trained on one random half of the real MGS
    catalogue (its two files pooled: they are not two draws of one population) and on as
    many synthetic training galaxies (magnitudes of the stamps file's catalogue, drawn from
    its training split), then evaluated on the other half and on as many synthetic test
    galaxies.  Each is trained on the whole training set and on Step 2's near-balanced
    subsets (``balance.balanced_subset`` with ``threshold`` per (z bin, row) cell, one draw
    per seed), the same reweighting the CNN's heads get.

    Returns
    -------
    summary : one row per (sample, training): sigma_MAD, outlier fraction, Eq. 9's A and C
        (balanced rows: mean over the seeds' subsets).
    curves : mean dz per z_spec interval of width ``width`` per (sample, training).
    scatter : ``synth.realism.colour_scatter`` of both samples' training galaxies.
    """
    from .balance import balanced_subset
    from .io import read_labels
    from .peers import knn_photo_z
    from .synth.realism import colour_scatter, load_mgs

    bands = [f"mag_{b}" for b in "ugriz"]
    # the MLZ files are not two draws of one population (g - r < 0.7 for 24% of the .train
    # file's galaxies at z = 0.08-0.14, 14% of the .test file's): pool them, split at random
    pooled = load_mgs(mgs)
    pooled["mag_row"] = rows.row_index(pooled["mag_r"].to_numpy())
    rng = np.random.default_rng(sample_seed)
    order = rng.permutation(len(pooled))
    half = len(pooled) // 2
    real = {"train": pooled.iloc[np.sort(order[:half])].reset_index(drop=True),
            "test": pooled.iloc[np.sort(order[half:])].reset_index(drop=True)}
    lab = read_labels(stamps)
    missing = [b for b in bands if b not in lab]
    if missing:
        raise InputError(f"columns {missing} missing", file=str(stamps),
                         expected="a stamps file with catalogue magnitudes mag_u..mag_z")
    syn_all = lab.rename(columns={"z_spec": "z"})
    syn = {}
    for s, split in (("train", 0), ("test", 1)):
        pool = syn_all[syn_all["split"] == split]
        n = min(len(real[s]), len(pool))
        syn[s] = pool.iloc[np.sort(rng.choice(len(pool), n, replace=False))].reset_index(drop=True)
    edges = _intervals(0.3, width)
    summary, curves = [], []
    for name, d in (("real SDSS MGS", real), ("synthetic", syn)):
        tr, te = d["train"], d["test"]
        zs = te["z"].to_numpy(np.float64)
        xb, zb_ = tr[bands].to_numpy(np.float64), tr["z"].to_numpy(np.float64)
        xt = te[bands].to_numpy(np.float64)
        cells = grid.bin_index(zb_), tr["mag_row"].to_numpy(np.int64)
        fits = {"whole training set": [np.arange(len(tr))],
                "balanced subsets": [balanced_subset(*cells, threshold, np.random.default_rng(s))
                                     for s in seeds]}
        for training, subsets in fits.items():
            zps = [knn_photo_z(xb[idx], zb_[idx], xt, k=k) for idx in subsets]
            rows_ = [_photo_z_summary(zp, zs, outlier_threshold) for zp in zps]
            summary.append({"sample": name, "training": training, "n_train": len(tr),
                            "n_fit": float(np.mean([len(idx) for idx in subsets])), "n_test": len(te),
                            **{key: float(np.mean([r[key] for r in rows_])) for key in rows_[0]}})
            curves.append(pd.DataFrame({"sample": name, "training": training, "lo": edges[:-1],
                                        "hi": edges[1:], "n_test": np.histogram(zs, edges)[0],
                                        "dz": np.mean([_interval_means(zs, (zp - zs) / (1 + zs), edges)
                                                       for zp in zps], axis=0)}))
    scatter = colour_scatter(real["train"], z_col="z").rename(columns={"scatter": "real", "n": "n_real"})
    s2 = colour_scatter(syn["train"], z_col="z")
    scatter["synthetic"], scatter["n_synthetic"] = s2["scatter"].to_numpy(), s2["n"].to_numpy()
    return pd.DataFrame(summary), pd.concat(curves, ignore_index=True), scatter


def _print_checkpoints(args) -> None:
    test = load_training_arrays(args.stamps, split="test")
    print(f"{len(test['ebv'])} test galaxies of {args.stamps}; zmode; outliers |dz| > {args.outlier_threshold}\n")
    print("| checkpoint | unit | iterations | sigma_MAD | outliers | <dz> | mag head accuracy | head peak prob. |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for path in args.checkpoints:
        d = diagnose_checkpoint(path, test, args.outlier_threshold)
        extra = "| - | - |" if d["unit"] == "single" else f"| {d['mag_head_accuracy']:.3f} | {d['head_peak_probability']:.3f} |"
        print(f"| {path} | {d['unit']} | {d['iterations']} | {d['sigma_mad']:.4f} | "
              f"{100 * d['outlier_fraction']:.1f}% | {d['mean_residual']:+.5f} {extra}")


def shift_response(catalogue: pd.DataFrame, tables: list[pd.DataFrame], edges,
                   estimate: str = "zmode") -> pd.DataFrame:
    """Eq. 8's label shifts against the residuals of Steps 3b and 3, per z_spec interval.

    Returns one row per interval ``[lo, hi)`` of ``edges``: ``n_test``, ``step3b`` and
    ``step3`` (mean ``dz = (z_phot - z_spec)/(1 + z_spec)`` of the test galaxies),
    ``response = step3 - step3b``, ``n_labels`` and ``shift`` (mean ``(z* - z0)/(1 + z0)``
    of the (galaxy, output) rows of all ``tables``).
    """
    cols = [f"step3b_{estimate}", f"step3_{estimate}", "z_spec"]
    missing = [c for c in cols if c not in catalogue.columns]
    if missing:
        raise InputError(f"columns {missing} missing", field="catalogue",
                         expected="a catalogue.parquet with the Step 3 and 3b estimates")
    for t in tables:
        _require_soft_label_columns(t)
    zs = catalogue["z_spec"].to_numpy(np.float64)
    dz = {m: (catalogue[f"{m}_{estimate}"].to_numpy(np.float64) - zs) / (1 + zs) for m in ("step3b", "step3")}
    lab = pd.concat(tables, ignore_index=True)
    z0 = lab["z0"].to_numpy(np.float64)
    shift = (lab["z_star"].to_numpy(np.float64) - z0) / (1 + z0)
    edges = np.asarray(edges, dtype=np.float64)
    def mean(a, m):
        return float(a[m].mean()) if m.any() else float("nan")

    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        t, l_ = (zs >= lo) & (zs < hi), (z0 >= lo) & (z0 < hi)
        r = {"lo": lo, "hi": hi, "n_test": int(t.sum()), "step3b": mean(dz["step3b"], t),
             "step3": mean(dz["step3"], t), "n_labels": int(l_.sum()), "shift": mean(shift, l_)}
        r["response"] = r["step3"] - r["step3b"]
        rows.append(r)
    return pd.DataFrame(rows)


def _print_shifts(args) -> None:
    cat = pd.read_parquet(args.catalogue)
    tables = [pd.read_parquet(p) for p in args.tables]
    edges = _intervals(float(cat["z_spec"].max()), args.bin_width)
    print(f"{args.catalogue}: test residuals (zmode) and the Eq. 8 label shifts of "
          f"{len(tables)} soft-label table(s), in dz = (z - z_spec)/(1 + z_spec)\n")
    print("| z_spec | test galaxies | <dz> Step 3b | label shift | <dz> Step 3 | Step 3 - Step 3b |")
    print("|---|---:|---:|---:|---:|---:|")
    def f(v):
        return "-" if np.isnan(v) else f"{v:+.4f}"

    for r in shift_response(cat, tables, edges).itertuples():
        if r.n_test:
            print(f"| {r.lo:.3f}-{r.hi:.3f} | {r.n_test} | {f(r.step3b)} | {f(r.shift)} | "
                  f"{f(r.step3)} | {f(r.response)} |")


def _print_outputs(args) -> None:
    table = step1_outputs_sweep(args.stamps, args.step1, args.outputs, log=sys.stderr,
                                outlier_threshold=args.outlier_threshold)
    print(f"Step 1 of {args.step1} retrained with m magnitude outputs; test galaxies of {args.stamps}\n")
    print(f"| magnitude outputs m | row width (mag) | sigma_MAD | outliers (> {args.outlier_threshold}) | head peak prob. |")
    print("|---:|---:|---:|---:|---:|")
    for r in table.itertuples():
        print(f"| {r.n_outputs} | {r.row_width:.2f} | {r.sigma_mad:.4f} | {100 * r.outlier_fraction:.1f}% | "
              f"{r.head_peak_probability:.3f} |")


def _print_representations(args) -> None:
    print("| representation of | units | dead units | 99% variance in | linear probe sigma_MAD |")
    print("|---|---:|---:|---:|---:|")
    for src in args.sources:
        d = diagnose_representation(args.stamps, args.grid_checkpoint, src)
        print(f"| {src} | {d['n_units']} | {d['dead_units']} | {d['effective_rank']} components | "
              f"{d['probe_sigma_mad']:.4f} |")


def _print_labels(args) -> None:
    for path in args.tables:
        table = pd.read_parquet(path)
        edges = _intervals(float(table["z0"].max()), args.bin_width)
        print(f"\n{path}: Step 3 soft-label means per z_spec interval\n")
        print("| z_spec | galaxies | mean z* - z0 | mean sqrt(Var) | mean sigma_1 |")
        print("|---|---:|---:|---:|---:|")
        for r in label_shift_summary(table, edges).itertuples():
            if r.n:
                print(f"| {r.lo:.3f}-{r.hi:.3f} | {r.n} | {r.shift:+.4f} | {r.width:.4f} | {r.sigma1:.4f} |")


def _print_variance(args) -> None:
    config = merged_config(args.configfiles)
    var, metrics = compare_label_variance(config, args.dataset, args.part, log=sys.stderr)
    print(f"{args.dataset}/{args.part}: Eq. 8's scattering variance per magnitude output "
          "(mean over the fit subset's labels, all seeds; redshift units)\n")
    print("| output | labels | sigma_1 (Eq. 4) | sigma_2 of Step 2 | sqrt Var, Eq. 7 | "
          "sqrt Var, measured on Step 3b | Var Eq. 7 / measured |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for r in var.itertuples():
        print(f"| {r.output} | {r.n} | {r.sigma1:.4f} | {r.sigma2_step2:.4f} | {r.width_eq7:.4f} | "
              f"{r.width_step3b:.4f} | {r.ratio:.2f} |")
    piv = metrics.pivot_table(index="method", columns="metric", values="value")
    err = metrics.pivot_table(index="method", columns="metric", values="error")
    print("\nTest galaxies, zmode; step3_eq7 / step3_measured: Step 3 retrained here on each table\n")
    print("| method | sigma_MAD | A (z_spec < z_b) | C (z_spec > z_b) | slope vs z_photo | D_TV |")
    print("|---|---:|---:|---:|---:|---:|")
    for m in ["baseline", "step3b", "step3", "step3_eq7", "step3_measured"]:
        v, e = piv.loc[m], err.loc[m]
        print(f"| {m} | {v.sigma_mad:.5f} | {v.slope_low:+.3f} ± {e.slope_low:.3f} | "
              f"{v.slope_high:+.3f} ± {e.slope_high:.3f} | {v.slope_zphoto:+.3f} ± {e.slope_zphoto:.3f} | "
              f"{v.total_variation:.3f} ± {e.total_variation:.3f} |")


def _print_seeds(args) -> None:
    config = merged_config(args.configfiles)
    t = seed_scatter(config, args.dataset, args.part, log=sys.stderr)
    print(f"{args.dataset}/{args.part}: the paper's claims 1-3 for each trained model alone and for "
          "the ensemble (zmode, test galaxies)\n")
    print("| model | C Baseline | C Step 2 | C Step 3b | C Step 3 | bound \\|C(Baseline)\\|/2 | claim 2 | "
          "margin | D_TV Baseline | D_TV Step 3 | sigma_MAD Baseline | sigma_MAD Step 3 |")
    print("|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for r in t.itertuples():
        print(f"| {r.model} | {r.C_baseline:+.3f} | {r.C_step2:+.3f} | {r.C_step3b:+.3f} | {r.C_step3:+.3f} | "
              f"{r.bound:.3f} | {'yes' if r.claim2 else 'NO'} | {r.margin2:+.1f} | {r.tv_baseline:.3f} | "
              f"{r.tv_step3:.3f} | {r.sigma_mad_baseline:.4f} | {r.sigma_mad_step3:.4f} |")
    seeds = t[t["model"] != "ensemble"]
    if len(seeds) > 1:
        print(f"\nover the {len(seeds)} models: C Baseline {seeds.C_baseline.mean():+.3f} ± "
              f"{seeds.C_baseline.std(ddof=1):.3f}, C Step 3 {seeds.C_step3.mean():+.3f} ± "
              f"{seeds.C_step3.std(ddof=1):.3f} (mean ± standard deviation); claim 2 holds for "
              f"{int(seeds.claim2.sum())} of {len(seeds)}")


def _signed(v: float, digits: int = 4) -> str:
    return "-" if not np.isfinite(v) else f"{v:+.{digits}f}"


def _print_scattering(args) -> None:
    config = merged_config(args.configfiles)
    t = scattering_check(config, args.dataset, args.part, width=args.bin_width, log=sys.stderr)
    n = len(config["ensemble"]["seeds"])
    print(f"{args.dataset}/{args.part}: Step 2's residuals against Eq. 8's Gaussian scattering model "
          f"(Appendix C), mean of {n} seeds; <dz>, zmode\n")
    print("| z_spec | subset galaxies per seed | Step 2 on the subset | expected (Eq. C.1) | missed by "
          "the model | Step 3b on the subset | test galaxies | Step 2 on test | Step 3b on test |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in t.itertuples():
        if r.n_test or r.n_subset:
            print(f"| {r.lo:.2f}-{r.hi:.2f} | {r.n_subset:.0f} | {_signed(r.step2_subset)} | "
                  f"{_signed(r.expected)} | {_signed(r.miss)} | {_signed(r.step3b_subset)} | {r.n_test} | "
                  f"{_signed(r.step2_test)} | {_signed(r.step3b_test)} |")


def _print_photometry(args) -> None:
    from .grid import MagnitudeRows

    config = merged_config(args.configfiles)
    ds = config["datasets"][args.dataset]
    grid = RedshiftGrid.from_config(ds["grid"])
    rows = MagnitudeRows(**ds["rows"])
    summary, curves, scatter = photometric_check(args.mgs, args.stamps, grid, rows, args.threshold,
                                                 k=args.k)
    print(f"kNN photo-z (k = {args.k}, magnitudes and colours, local linear fit) on the real SDSS MGS "
          f"({args.mgs}, pooled and halved at random) and on as many galaxies of {args.stamps}; balanced: threshold "
          f"{args.threshold} per (z bin, row) cell, mean of 3 subsets\n")
    print("| sample | training | training galaxies | test galaxies | sigma_MAD | outliers (> 0.05) | "
          "A (z_spec < 0.15) | C (z_spec > 0.15) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in summary.itertuples():
        print(f"| {r.sample} | {r.training} | {r.n_fit:.0f} | {r.n_test} | {r.sigma_mad:.4f} | "
              f"{100 * r.outliers:.1f}% | {r.A:+.3f} ± {r.err_A:.3f} | {r.C:+.3f} ± {r.err_C:.3f} |")
    piv = curves.pivot_table(index=["lo", "hi"], columns=["sample", "training"], values="dz", sort=False)
    n = curves.pivot_table(index=["lo", "hi"], columns="sample", values="n_test", sort=False)
    keys = list(piv.columns)
    print("\nMean dz per z_spec interval (test galaxies)\n")
    print("| z_spec | " + " | ".join(f"{a}, {b}" for a, b in keys) + " | test galaxies (real / synthetic) |")
    print("|---|" + "---:|" * (len(keys) + 1))
    for (lo, hi), v in piv.iterrows():
        nn = n.loc[(lo, hi)]
        print(f"| {lo:.2f}-{hi:.2f} | " + " | ".join(_signed(v[c]) for c in keys) +
              f" | {int(nn.iloc[0])} / {int(nn.iloc[1])} |")
    from .synth.realism import load_mgs

    files = {f: load_mgs(Path(args.mgs) / f"SDSS_MGS.{f}") for f in ("train", "test")}
    print("\nWhy the MGS files are pooled: share of blue galaxies (g - r < 0.7) per file\n")
    print("| z_spec | SDSS_MGS.train | SDSS_MGS.test |")
    print("|---|---:|---:|")
    for lo, hi in ((0.0, 0.08), (0.08, 0.14), (0.14, 0.3)):
        share = [((d["z"] >= lo) & (d["z"] < hi) & (d["g-r"] < 0.7)).sum() / ((d["z"] >= lo) & (d["z"] < hi)).sum()
                 for d in files.values()]
        print(f"| {lo:.2f}-{hi:.2f} | {100 * share[0]:.1f}% | {100 * share[1]:.1f}% |")
    print("\nColour spread at fixed redshift (1.4826 MAD, mag; training galaxies)\n")
    print("| colour | z | real MGS | synthetic | synthetic / real |")
    print("|---|---|---:|---:|---:|")
    for r in scatter.itertuples():
        print(f"| {r.colour} | {r.z_lo:.2f}-{r.z_hi:.2f} | {r.real:.3f} | {r.synthetic:.3f} | "
              f"{r.synthetic / r.real:.2f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m photoz_debias.diagnose", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("checkpoints", help="test-set accuracy of model checkpoints")
    c.add_argument("stamps", help="preprocessed stamps file (results/<dataset>/stamps.h5)")
    c.add_argument("checkpoints", nargs="+", help="model checkpoints (.pt)")
    c.add_argument("--outlier-threshold", type=float, default=0.05)
    c.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    r = sub.add_parser("representation", help="is Step 1's cached representation informative?")
    r.add_argument("stamps", help="preprocessed stamps file (results/<dataset>/stamps.h5)")
    r.add_argument("grid_checkpoint", help="a checkpoint of the dataset (for its redshift grid)")
    r.add_argument("sources", nargs="+",
                   help="cached representations.h5 files, or model checkpoints (.pt) whose trunk is run")
    r.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    o = sub.add_parser("outputs", help="Step 1 retrained with other numbers of magnitude outputs")
    o.add_argument("stamps", help="preprocessed stamps file (results/<dataset>/stamps.h5)")
    o.add_argument("step1", help="a Step 1 checkpoint (its settings and seed are reused)")
    o.add_argument("--outputs", type=int, nargs="+", required=True, help="numbers of magnitude outputs m")
    o.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    o.add_argument("--outlier-threshold", type=float, default=0.05)
    sh = sub.add_parser("shifts", help="Eq. 8's label shifts against Step 3b's and Step 3's residuals")
    sh.add_argument("catalogue", help="catalogue.parquet of the part")
    sh.add_argument("tables", nargs="+", help="the part's soft_labels.parquet files (one per seed)")
    sh.add_argument("--bin-width", type=float, default=0.025, help="z_spec interval width")
    va = sub.add_parser("variance", help="Eq. 7's variance against Step 3b's, and Step 3 with each")
    va.add_argument("configfiles", nargs="+", metavar="configfile",
                    help="the run's configuration: config/config.yaml, then its overlays in order")
    va.add_argument("dataset", help="a dataset of that configuration (e.g. sdss)")
    va.add_argument("part", help="one of its parts (e.g. all)")
    va.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    lab = sub.add_parser("labels", help="Step 3 soft-label shifts per z_spec interval")
    lab.add_argument("tables", nargs="+", help="soft_labels.parquet files")
    lab.add_argument("--bin-width", type=float, default=0.05, help="z_spec interval width")
    se = sub.add_parser("seeds", help="claims 1-3 for each trained model alone and for the ensemble")
    se.add_argument("configfiles", nargs="+", metavar="configfile",
                    help="the run's configuration: config/config.yaml, then its overlays in order")
    se.add_argument("dataset", help="a dataset of that configuration (e.g. sdss)")
    se.add_argument("part", help="one of its parts (e.g. all)")
    sc = sub.add_parser("scattering", help="Step 2's residuals against Eq. 8's Gaussian scattering model")
    sc.add_argument("configfiles", nargs="+", metavar="configfile",
                    help="the run's configuration: config/config.yaml, then its overlays in order")
    sc.add_argument("dataset", help="a dataset of that configuration (e.g. sdss)")
    sc.add_argument("part", help="one of its parts (e.g. all)")
    sc.add_argument("--bin-width", type=float, default=0.02, help="z_spec interval width")
    ph = sub.add_parser("photometry", help="a kNN photo-z on the real SDSS MGS and on the synthetic catalogue")
    ph.add_argument("configfiles", nargs="+", metavar="configfile",
                    help="the configuration (for the dataset's grid and rows), then overlays")
    ph.add_argument("dataset", help="the SDSS-like dataset of that configuration (e.g. sdss)")
    ph.add_argument("--stamps", default="results/sdss/stamps.h5", help="the synthetic survey's stamps file")
    ph.add_argument("--mgs", default="resources/mlz_sdss_mgs", help="folder of SDSS_MGS.train/.test")
    ph.add_argument("--threshold", type=int, default=2,
                    help="balancing threshold per (z bin, row) cell (default 2: the SDSS-like 4 "
                         "scaled to the MGS file's 5,000 training galaxies)")
    ph.add_argument("--k", type=int, default=32, help="neighbours")
    args = ap.parse_args(argv)
    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)
    if args.what == "checkpoints":
        _print_checkpoints(args)
    elif args.what == "representation":
        _print_representations(args)
    elif args.what == "outputs":
        _print_outputs(args)
    elif args.what == "shifts":
        _print_shifts(args)
    elif args.what == "variance":
        _print_variance(args)
    elif args.what == "seeds":
        _print_seeds(args)
    elif args.what == "scattering":
        _print_scattering(args)
    elif args.what == "photometry":
        _print_photometry(args)
    else:
        _print_labels(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
