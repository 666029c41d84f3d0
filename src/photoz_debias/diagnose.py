"""Is a trained trunk good enough?  Test-set accuracy of Baseline / Step 1 checkpoints.

Steps 2 and 3 only retrain the redshift heads on Step 1's representation, so an underfit
Step 1 caps what they can correct (Appendix D.3 of Lin et al. 2022).  This command evaluates
one or more checkpoints (final models or the intermediate ``iter<k>.pt`` of
``training.checkpoint_iters``) on the test split of a preprocessed stamps file and prints a
Markdown table::

    python -m photoz_debias.diagnose results/sdss/stamps.h5 \\
        results/sdss/netcpu/seed0/step1_checkpoints/iter1200.pt results/sdss/netcpu/seed0/step1.pt

Columns: sigma_MAD (Eq. 11), outlier fraction, mean residual <dz>, for the zmode of the
model's own density (Eq. 2 for the multi-channel unit); for the multi-channel unit also the
magnitude head's accuracy (argmax among the galaxy's activated outputs) and the mean peak
probability of the activated redshift head (a head still close to flat is underfit).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m photoz_debias.diagnose", description=__doc__.split("\n\n")[0])
    ap.add_argument("stamps", help="preprocessed stamps file (results/<dataset>/stamps.h5)")
    ap.add_argument("checkpoints", nargs="+", help="model checkpoints (.pt)")
    ap.add_argument("--outlier-threshold", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    test = load_training_arrays(args.stamps, split="test")
    print(f"{len(test['ebv'])} test galaxies of {args.stamps}; zmode; outliers |dz| > {args.outlier_threshold}\n")
    print("| checkpoint | unit | iterations | sigma_MAD | outliers | <dz> | mag head accuracy | head peak prob. |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for path in args.checkpoints:
        d = diagnose_checkpoint(path, test, args.outlier_threshold)
        extra = "| - | - |" if d["unit"] == "single" else f"| {d['mag_head_accuracy']:.3f} | {d['head_peak_probability']:.3f} |"
        print(f"| {path} | {d['unit']} | {d['iterations']} | {d['sigma_mad']:.4f} | "
              f"{100 * d['outlier_fraction']:.1f}% | {d['mean_residual']:+.5f} {extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
