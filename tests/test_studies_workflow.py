"""The Appendix D studies in the workflow, by dry runs: what the default configuration and the
config/studies.yaml overlay schedule (and what they must not: new trunk trainings where a study
reuses the trained ones)."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "config.yaml"
OVERLAY = ROOT / "config" / "studies.yaml"
TRAIN_RULES = ("train_baseline", "train_step1")
MAIN = {"sdss", "cfhtls", "sdss_depleted"}


N_SEEDS = len(yaml.safe_load(CONFIG.read_text())["ensemble"]["seeds"])  # five, as the paper

def dry_run(tmp_path, *configfiles, expect_ok=True):
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "2", "--workflow-profile", "none",
         "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", *map(str, configfiles)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    if expect_ok:
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res


def jobs(out):
    """(rule, wildcards dict, input line) of every job a dry run prints."""
    found = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if not m:
            continue
        wc = re.search(r"wildcards: (.*)", block)
        inp = re.search(r"input: (.*)", block)
        wildcards = dict(kv.split("=", 1) for kv in wc.group(1).split(", ")) if wc else {}
        found.append((m.group(1), wildcards, inp.group(1) if inp else ""))
    return found


STUDY_FIGURE_RULES = {
    "plot_figD1_threshold", "plot_figD3_n_bins", "plot_figD4_iterations",
    "plot_figD5_iterations_zphot_zspec", "plot_figD6_iterations_residuals",
    "plot_figD7_train_size", "plot_figD8_label_error", "plot_figD9_net",
}
DEFAULT_POINTS = {"sdss__nbins80", "sdss__frac0.5", "sdss__sigz0.05", "sdss__netnets1"}


def test_default_config_runs_every_study_with_one_new_point_each(tmp_path):
    out = dry_run(tmp_path, CONFIG).stdout
    js = jobs(out)
    rules = {r for r, _, _ in js}
    train = [(r, w) for r, w, _ in js if r in TRAIN_RULES]
    # the main ensembles (3 datasets x the ensemble's seeds x 2 models) and, with the study seed only, one
    # Baseline and one Step 1 per retraining point off the base setting; no trunk is trained
    # for the threshold and iterations studies
    main = [w for _, w in train if w["dataset"] in MAIN]
    derived = [w for _, w in train if w["dataset"] not in MAIN]
    assert len(main) == 2 * 3 * N_SEEDS
    assert {w["dataset"] for w in derived} == DEFAULT_POINTS
    assert len(derived) == 2 * len(DEFAULT_POINTS) and {w["seed"] for w in derived} == {"0"}
    assert STUDY_FIGURE_RULES | {"gather_study", "iterations_checkpoint"} <= rules
    # every figure of the paper is a target of the default run (Fig. 7 is Fig. 6's layout on
    # the CFHTLS-WIDE-like part)
    every_figure = [f"results/sdss/figures/{f}_netcpu_all.png" for f in (
        "fig04_balancing", "fig05_soft_label", "fig06_residuals", "fig08_zphot_zspec",
        "fig09_calibration", "figB1_estimates", "figC1_expected_residuals", "figD1_threshold",
        "figD3_n_bins", "figD4_iterations", "figD5_iterations_zphot_zspec",
        "figD6_iterations_residuals", "figD7_train_size", "figD8_label_error", "figD9_net")]
    every_figure += [
        "results/sdss/figures/fig03_grid.png", "results/cfhtls/figures/fig03_grid.png",
        "results/cfhtls/figures/fig06_residuals_netcpu_wide.png",
        "results/cfhtls/figures/figD2_threshold_netcpu_wide.png",
        "results/sdss_depleted/figures/fig10_calibration_netcpu_all.png",
        "results/figures/fig11_tomography.png", "results/figures/fig12_peers.png",
    ]
    missing = [f for f in every_figure if f not in out]
    assert not missing, missing
    # threshold points are parts of the trained datasets, run with the study seed only; the
    # point at the part's own threshold (sdss 4, wide 19) reuses the part's Steps 2-3 of seed 0
    th = [w for r, w, _ in js if r == "train_step2" and "__th" in w["part"]]
    assert {(w["dataset"], w["part"]) for w in th} == {
        ("sdss", "all__th2"), ("sdss", "all__th9"), ("sdss", "all__th18"),
        ("cfhtls", "wide__th8"), ("cfhtls", "wide__th38"), ("cfhtls", "wide__th76"),
    }
    assert {w["seed"] for w in th} == {"0"}
    ens = {(w["dataset"], w["part"]): i for r, w, i in js if r == "ensemble" and "__th" in w["part"]}
    assert len(ens) == 8
    assert "results/sdss/netcpu/seed0/all/step2.pt" in ens[("sdss", "all__th4")]
    assert "seed1" not in ens[("sdss", "all__th4")]
    assert "results/sdss/netcpu/seed0/all__th2/step2.pt" in ens[("sdss", "all__th2")]
    # Step 3\2 skips the balanced subset: every threshold point shares its part's
    assert "results/sdss/netcpu/seed0/all/step3_no_step2.pt" in ens[("sdss", "all__th2")]
    # the iterations study takes its models from the saved checkpoints of sdss, seed 0
    ck = [(w, i) for r, w, i in js if r == "iterations_checkpoint"]
    assert {(w["dataset"], w["iters"], w["model"], w["seed"]) for w, _ in ck} == {
        ("sdss", n, m, "0") for n in ("1200", "2400") for m in ("baseline", "step1")}
    assert all(i == f"results/sdss/netcpu/seed0/{w['model']}_checkpoints" for w, i in ck)
    for name in ("figD1_threshold_netcpu_all", "figD2_threshold_netcpu_wide"):
        assert name in out
    assert "results/sdss/studies/iterations.parquet" in out


def test_overlay_retrains_only_the_derived_datasets_with_the_study_seeds(tmp_path):
    out = dry_run(tmp_path, CONFIG, OVERLAY).stdout
    js = jobs(out)
    train = [(r, w, i) for r, w, i in js if r in TRAIN_RULES]
    derived = [(r, w, i) for r, w, i in train if w["dataset"] not in MAIN]
    expected = {"sdss__nbins40", "sdss__nbins80", "sdss__frac0.25", "sdss__frac0.5",
                "sdss__sigz0.02", "sdss__sigz0.05", "sdss__netnets1", "sdss__netnets2"}
    assert {w["dataset"] for _, w, _ in derived} == expected
    assert {w["seed"] for _, w, _ in derived} == {"0"}  # studies.seeds only
    assert len(derived) == 2 * len(expected)  # Baseline and Step 1 each
    # the base settings (180 bins, fraction 1, sigma_z 0, netcpu) are not retrained
    assert len(train) - len(derived) == 2 * 3 * N_SEEDS
    # derived datasets read the base dataset's stamps: no preprocessing of their own
    assert all(i == "results/sdss/stamps.h5" for _, _, i in derived)
    assert sum(r == "preprocess" for r, _, _ in js) == 2
    nets = {w["dataset"]: w["net"] for _, w, _ in derived}
    assert nets["sdss__netnets1"] == "nets1" and nets["sdss__nbins40"] == "netcpu"
    for fig in ("figD3_n_bins", "figD7_train_size", "figD8_label_error", "figD9_net"):
        assert f"results/sdss/figures/{fig}_netcpu_all.png" in out


def test_iterations_study_needs_saved_checkpoints(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"studies": {"iterations": {"activate": True, "values": [1234]}}}))
    res = dry_run(tmp_path, CONFIG, bad, expect_ok=False)
    assert res.returncode != 0
    assert "1234" in res.stdout + res.stderr and "checkpoint_iters" in res.stdout + res.stderr


def test_threshold_sweep_dataset_and_part_must_exist(tmp_path):
    for dataset, part, named in (("sdss", "wide", "'wide'"), ("sdsss", "all", "'sdsss'")):
        bad = tmp_path / "bad.yaml"
        sweep = {"figure": "D1", "dataset": dataset, "part": part, "values": [5]}
        bad.write_text(yaml.safe_dump({"studies": {"threshold": {"activate": True, "sweeps": [sweep]}}}))
        res = dry_run(tmp_path, CONFIG, bad, expect_ok=False)
        assert res.returncode != 0 and named in res.stdout + res.stderr


def test_quick_overlay_runs_the_sdss_like_survey_alone(tmp_path):
    out = dry_run(tmp_path, CONFIG, ROOT / "config" / "quick.yaml").stdout
    js = jobs(out)
    rules = {r for r, _, _ in js}
    # the SDSS-like survey and its apply-mode validation sample (its test galaxies)
    assert {w["dataset"] for _, w, _ in js if "dataset" in w} == {"sdss", "sdss_applied"}
    assert all(r.startswith("apply_") for r, w, _ in js if w.get("dataset") == "sdss_applied")
    assert sum(r == "train_step1" for r, _, _ in js) == N_SEEDS
    assert not rules & (STUDY_FIGURE_RULES | {"gather_study", "deplete_training"})
    for fig in ("fig06_residuals_netcpu_all", "fig09_calibration_netcpu_all"):
        assert f"results/sdss/figures/{fig}.png" in out
