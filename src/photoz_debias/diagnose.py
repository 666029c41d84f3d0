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

``labels``: the soft-label means of Step 3 (Eq. 8) per z_spec interval: how many subset
galaxies, the mean shift z* - z0, the mean width sqrt(Var) (Eq. 7) and sigma_1 (Eq. 4)::

    python -m photoz_debias.diagnose labels results/sdss/netcpu/seed0/all/soft_labels.parquet
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd
import torch

from .checkpoint import load_model
from .errors import InputError
from .grid import RedshiftGrid, activated_outputs
from .metrics import mean_residual, outlier_fraction, sigma_mad
from .networks import MultiChannelUnit, unwrap
from .training import load_training_arrays


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
    if "grid" not in meta:
        raise InputError("the checkpoint's meta has no redshift grid", file=str(path), field="meta.grid",
                         expected="a checkpoint written by the workflow's train rules")
    g = meta["grid"]
    grid = RedshiftGrid(g["z_min"], g["z_max"], g["n_bins"])
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


def label_shift_summary(table: pd.DataFrame, edges) -> pd.DataFrame:
    """Step 3's label shifts per z_spec interval of a ``soft_labels.parquet`` table.

    Returns one row per interval ``[lo, hi)`` of ``edges`` with ``n`` (galaxies),
    ``shift`` (mean z* - z0), ``width`` (mean sqrt(Var), Eq. 7) and ``sigma1`` (mean, Eq. 4).
    """
    missing = [c for c in ("z0", "z_star", "var", "sigma1") if c not in table.columns]
    if missing:
        raise InputError(f"columns {missing} missing", field="soft labels table",
                         expected="a soft_labels.parquet written by fit_soft_labels")
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


def _print_labels(args) -> None:
    for path in args.tables:
        table = pd.read_parquet(path)
        top = float(table["z0"].max())
        edges = np.arange(0.0, top + args.bin_width, args.bin_width)
        print(f"\n{path}: Step 3 soft-label means per z_spec interval\n")
        print("| z_spec | galaxies | mean z* - z0 | mean sqrt(Var) | mean sigma_1 |")
        print("|---|---:|---:|---:|---:|")
        for r in label_shift_summary(table, edges).itertuples():
            if r.n:
                print(f"| {r.lo:.3f}-{r.hi:.3f} | {r.n} | {r.shift:+.4f} | {r.width:.4f} | {r.sigma1:.4f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m photoz_debias.diagnose", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="what", required=True)
    c = sub.add_parser("checkpoints", help="test-set accuracy of model checkpoints")
    c.add_argument("stamps", help="preprocessed stamps file (results/<dataset>/stamps.h5)")
    c.add_argument("checkpoints", nargs="+", help="model checkpoints (.pt)")
    c.add_argument("--outlier-threshold", type=float, default=0.05)
    c.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    lab = sub.add_parser("labels", help="Step 3 soft-label shifts per z_spec interval")
    lab.add_argument("tables", nargs="+", help="soft_labels.parquet files")
    lab.add_argument("--bin-width", type=float, default=0.05, help="z_spec interval width")
    args = ap.parse_args(argv)
    if args.what == "checkpoints":
        if args.threads:
            torch.set_num_threads(args.threads)
        _print_checkpoints(args)
    else:
        _print_labels(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
