"""Diagnostics: is a trained trunk good enough, and how far do Step 3's labels move?

``checkpoints``: test-set accuracy of Baseline / Step 1 checkpoints.

Steps 2 and 3 only retrain the redshift heads on Step 1's representation, so an underfit
Step 1 caps what they can correct (Appendix D.3 of Lin et al. 2022).  This command evaluates
one or more checkpoints (final models or the intermediate ``iter<k>.pt`` of
``training.checkpoint_iters``) on the test split of a preprocessed stamps file and prints a
Markdown table::

    python -m photoz_debias.diagnostics checkpoints results/sdss/stamps.h5 \
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

    python -m photoz_debias.diagnostics representation results/cfhtls/stamps.h5 \
        results/cfhtls/netcpu/seed0/step1.pt results/cfhtls/netcpu/seed0/representations.h5 \
        results/cfhtls/netcpu/seed0/baseline.pt

``outputs``: does Step 1 keep up with the Baseline as the number of magnitude outputs m grows?
Retrains Step 1 (seed and training settings of the given Step 1 checkpoint) with m outputs
over the same magnitude range (2m - 1 rows of equal width), each for the checkpoint's number
of iterations, and prints its test sigma_MAD (minutes per model on a CPU)::

    python -m photoz_debias.diagnostics outputs results/cfhtls/stamps.h5 \
        results/cfhtls/netcpu/seed0/step1.pt --outputs 1 3 5 7 10 --outlier-threshold 0.15

``shifts``: does Step 3 need the label shift Eq. 8 gives it?  Per z_spec interval of the test
catalogue: the mean residual of Step 3b (soft labels at z0: the bias Eq. 8 is meant to
remove), the mean label shift ``(z* - z0)/(1 + z0)`` of the soft-label tables (all seeds
pooled), Step 3's mean residual and its difference to Step 3b (how far the shift moved the
estimates).  Eq. 8 is right where the shift is about minus Step 3b's residual::

    python -m photoz_debias.diagnostics shifts results/sdss/netcpu/all/catalogue.parquet \
        results/sdss/netcpu/seed*/all/soft_labels.parquet

``variance``: is Eq. 7's variance the scattering Step 3's labels meet?  Per magnitude output:
sigma_1 (Eq. 4), Step 2's sigma_2, sqrt(Var) of Eq. 7 and the one measured on Step 3b (the
same soft labels at z0, ``soft_labels_measured.parquet``); then Step 3 retrained on each
table for every ensemble seed (seconds per seed on cached representations) and evaluated on
the part's test catalogue::

    python -m photoz_debias.diagnostics variance config/config.yaml sdss all

``labels``: the soft-label means of Step 3 (Eq. 8) per z_spec interval: how many subset
galaxies, the mean shift z* - z0, the mean width sqrt(Var) (Eq. 7) and sigma_1 (Eq. 4)::

    python -m photoz_debias.diagnostics labels results/sdss/netcpu/seed0/all/soft_labels.parquet

``seeds``: do the claims hold for each trained model, or only for the ensemble?  Claims 1-3
(Baseline's high-z slope C, Step 3's |C| against half of it, D_TV) for every seed's Baseline,
Step 2, 3b and 3 alone, rebuilt from the run's files and evaluated like the catalogue, then
for the ensemble (the run's ``metrics.parquet`` values); the spread between the seeds is the
model-to-model scatter the claims' test-galaxy error bars leave out (seconds per seed)::

    python -m photoz_debias.diagnostics seeds config/config.yaml sdss all
    python -m photoz_debias.diagnostics seeds config/config.yaml my-overlay.yaml sdss all  # a run with an overlay

``scattering``: does Step 2 scatter the way Eq. 8 models it (Appendix C)?  Per z_spec
interval, mean of the seeds: Step 2's <dz> on each seed's balanced subset, the <dz> that
Eq. C.1 expects from a Gaussian profile times the subset's n(z), their difference (what Eq. 8
cannot correct), Step 3b on the subset, and Step 2 and 3b on the test galaxies::

    python -m photoz_debias.diagnostics scattering config/config.yaml sdss all

``photometry``: is a feature of the residuals in the photometry itself, and is the synthetic
photometry as informative as the real?  A kNN photo-z on the real SDSS MGS (its two files
pooled and halved at random) and on as many synthetic catalogue galaxies, trained on the whole
training set and on balanced subsets: sigma_MAD, outliers, Eq. 9's A and C, <dz> per
interval, and the colour spread at fixed redshift of both catalogues::

    python -m photoz_debias.diagnostics photometry config/config.yaml sdss --mgs resources/mlz_sdss_mgs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from photoz_debias.grid import RedshiftGrid
from photoz_debias.evaluate.metrics import mean_residual, outlier_fraction, sigma_mad
from photoz_debias.studies import merged_config
from photoz_debias.io import load_training_arrays
from photoz_debias.diagnostics.labels import compare_label_variance, label_shift_summary, shift_response
from photoz_debias.diagnostics.photometry import photometric_check
from photoz_debias.diagnostics.runs import intervals
from photoz_debias.diagnostics.scattering import scattering_check
from photoz_debias.diagnostics.seeds import seed_scatter
from photoz_debias.diagnostics.trunk import diagnose_checkpoint, diagnose_representation, step1_outputs_sweep


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


def _print_shifts(args) -> None:
    cat = pd.read_parquet(args.catalogue)
    tables = [pd.read_parquet(p) for p in args.tables]
    edges = intervals(float(cat["z_spec"].max()), args.bin_width)
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
        edges = intervals(float(table["z0"].max()), args.bin_width)
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
    from photoz_debias.grid import MagnitudeRows

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
    from photoz_debias.data.synth.realism import load_mgs

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
    ap = argparse.ArgumentParser(prog="python -m photoz_debias.diagnostics", description=__doc__.split("\n\n")[0])
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
