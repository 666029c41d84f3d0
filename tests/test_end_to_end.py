"""A tiny run of the whole DAG (both synthetic surveys, two seeds, a few iterations), then the
things a user relies on: catalogues with every method, metrics, figures, the report, and
figure regeneration that touches nothing upstream."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "config" / "config.yaml"
METHODS = ["baseline", "step1", "step2", "step3", "step3a", "step3b", "step3_no_step2"]

pytestmark = pytest.mark.slow


def snakemake(workdir, *args, config=TINY):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(workdir), "--configfile", str(config), "--workflow-profile", "none",
         *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    res = snakemake(work, "--cores", "2", "--resources", "gpu=1")
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]
    return work


def catalogues(work):
    return sorted(work.glob("results/*/*/*/catalogue.parquet"))


def test_catalogues_have_every_method_for_every_part(tiny_run):
    cats = catalogues(tiny_run)
    parts = {(c.parents[2].name, c.parent.name) for c in cats}
    main = {p for p in parts if "__" not in p[0] + p[1]}  # not the Appendix D study runs
    assert main == {("sdss", "all"), ("cfhtls", "deep"), ("cfhtls", "wide")}
    assert parts - main == {("sdss__iter20", "all"), ("sdss", "all__th200")}
    for c in cats:
        df = pd.read_parquet(c)
        assert len(df) > 0 and df["id"].is_unique
        for m in METHODS:
            for e in ("zmode", "zmean", "zmedian", "zerr"):
                assert np.isfinite(df[f"{m}_{e}"]).all(), (c, m, e)
        assert np.isfinite(df["step4_zmode"]).all()
        assert "knn_z" in df


def test_rail_peers_and_qp_files_of_every_main_part(tiny_run):
    """RAIL's FlexZBoost and KNN (the [rail] extra, which CI installs) in the catalogue, the
    metrics and the Appendix E table of every main part; every densities file also as qp
    files that qp reads back with the catalogue's ids."""
    pytest.importorskip("rail.estimation.algos.flexzboost")
    qp = pytest.importorskip("qp")
    for ds, part in (("sdss", "all"), ("cfhtls", "deep"), ("cfhtls", "wide")):
        d = tiny_run / f"results/{ds}/netcpu/{part}"
        cat = pd.read_parquet(d / "catalogue.parquet")
        for peer in ("rail_flexzboost", "rail_knn"):
            assert np.isfinite(cat[f"{peer}_zmode"]).all(), (ds, part, peer)
            ens = qp.read(str(d / f"qp/{peer}.hdf5"))
            np.testing.assert_array_equal(ens.ancil["id"], cat["id"])
        m = pd.read_parquet(d / "metrics.parquet")
        assert {"rail_flexzboost", "rail_knn"} <= set(m["method"])
        table = (d / "tables/appendix_e.md").read_text()
        assert "| RAIL FlexZBoost |" in table and "| RAIL KNN |" in table
        for method in METHODS:
            ens = qp.read(str(d / f"qp/{method}.hdf5"))
            assert ens.npdf == len(cat) and set(ens.ancil["id"]) == set(cat["id"])
            np.testing.assert_allclose(ens.cdf(np.array([ens.metadata["bins"].ravel()[-1]])),
                                       1.0, atol=1e-5)
    # the Appendix D study runs do not get RAIL's peers (Fig. 12 shows the main parts)
    assert not list(tiny_run.glob("results/sdss__iter20/*/*/rail_peers.parquet"))


def test_cfhtls_parts_hold_only_their_field_and_hq(tiny_run):
    for part, field in (("deep", "DEEP"), ("wide", "WIDE")):
        df = pd.read_parquet(tiny_run / f"results/cfhtls/netcpu/{part}/catalogue.parquet")
        assert set(df["field"]) == {field} and set(df["quality"]) == {"HQ"}


def test_metrics_and_tables(tiny_run):
    m = pd.read_parquet(tiny_run / "results/sdss/netcpu/all/metrics.parquet")
    assert list(m.columns) == ["method", "estimate", "metric", "bin_lo", "bin_hi", "value", "error"]
    slopes = m[(m.metric == "slope_high") & (m.estimate == "zmode")]
    assert set(slopes.method) >= {"baseline", "step3"}
    assert (tiny_run / "results/sdss/netcpu/all/tables/appendix_e.md").read_text().count("|") > 20


def test_seed_scatter_rebuilds_each_model_and_the_ensemble(tiny_run, monkeypatch):
    # diagnose seeds: every seed's Baseline and Steps 2-3 alone, then the ensemble, whose
    # numbers must be the workflow's own metrics
    from photoz_debias.diagnostics.seeds import seed_scatter

    monkeypatch.chdir(tiny_run)
    t = seed_scatter(yaml.safe_load(TINY.read_text()), "sdss", "all")
    assert t["model"].tolist() == ["seed 0", "seed 1", "ensemble"]
    # (the tiny run's few test galaxies above z_break leave the slopes C undefined: NaN)
    assert np.isfinite(t[["tv_baseline", "tv_step3", "sigma_mad_baseline", "sigma_mad_step3"]].to_numpy()).all()
    assert len(set(t["sigma_mad_step3"])) == 3  # two models and their ensemble, not one copied
    m = pd.read_parquet("results/sdss/netcpu/all/metrics.parquet")
    ens = t.iloc[-1]
    for method, metric, col in (("baseline", "slope_high", "C_baseline"), ("step3", "slope_high", "C_step3"),
                                ("baseline", "total_variation", "tv_baseline"),
                                ("step3", "total_variation", "tv_step3"), ("step3", "sigma_mad", "sigma_mad_step3")):
        ref = m[(m.method == method) & (m.metric == metric) & (m.estimate == "zmode")]["value"].iloc[0]
        assert ens[col] == pytest.approx(ref, abs=1e-9, nan_ok=True), (method, metric)


def test_scattering_check_compares_step2_with_eq8s_model(tiny_run, monkeypatch):
    # diagnose scattering: per z_spec interval, Step 2 on each seed's subset against Eq. C.1
    from photoz_debias.diagnostics.scattering import scattering_check

    monkeypatch.chdir(tiny_run)
    cfg = yaml.safe_load(TINY.read_text())
    t = scattering_check(cfg, "sdss", "all", width=0.05)
    sizes = [len(pd.read_parquet(f"results/sdss/netcpu/seed{s}/all/step2_predictions.parquet"))
             for s in cfg["ensemble"]["seeds"]]
    assert t["n_subset"].sum() == pytest.approx(np.mean(sizes))  # every subset galaxy, once
    test = pd.read_parquet("results/sdss/netcpu/all/catalogue.parquet")
    assert t["n_test"].sum() == len(test)
    np.testing.assert_allclose(t["miss"], t["step2_subset"] - t["expected"])
    filled = t[t["n_subset"] > 0]
    assert np.isfinite(filled[["step2_subset", "expected", "step3b_subset"]].to_numpy()).all()
    assert np.isfinite(t.loc[t["n_test"] > 0, ["step2_test", "step3b_test"]].to_numpy()).all()
    # the subset's n(z) ends at both ends of the grid: the expected pull points inwards there
    assert filled["expected"].iloc[0] > 0 > filled["expected"].iloc[-1]


def test_photometric_check_runs_the_same_knn_on_real_and_synthetic(tiny_run, monkeypatch):
    from photoz_debias.diagnostics.photometry import photometric_check
    from photoz_debias.grid import MagnitudeRows, RedshiftGrid

    mgs = ROOT / "resources" / "mlz_sdss_mgs"
    monkeypatch.chdir(tiny_run)
    ds = yaml.safe_load(TINY.read_text())["datasets"]["sdss"]
    summary, curves, scatter = photometric_check(
        mgs, "results/sdss/stamps.h5", RedshiftGrid.from_config(ds["grid"]), MagnitudeRows(**ds["rows"]), 2)
    assert summary[["sample", "training"]].values.tolist() == [
        ["real SDSS MGS", "whole training set"], ["real SDSS MGS", "balanced subsets"],
        ["synthetic", "whole training set"], ["synthetic", "balanced subsets"]]
    real = summary.iloc[0]
    assert (real["n_train"], real["n_test"]) == (5000, 5000)
    # the README's number for the real catalogue: a fixed input, a deterministic search
    assert real["sigma_mad"] == pytest.approx(0.0140, abs=5e-4)
    assert (summary["n_fit"] <= summary["n_train"]).all()
    assert summary.iloc[1]["n_fit"] < 5000  # balancing dropped galaxies from full cells
    assert set(curves["sample"]) == {"real SDSS MGS", "synthetic"}
    assert len(scatter) == 4 * 6 and (scatter["real"] > 0).all()


def test_every_figure_exists(tiny_run):
    pngs = {p.name for p in tiny_run.glob("results/**/figures/*.png")}
    for name in ("fig03_grid.png", "example_stamps.png", "fig06_residuals_netcpu_all.png",
                 "fig08_zphot_zspec_netcpu_wide.png", "fig09_calibration_netcpu_all.png",
                 "fig11_tomography.png", "fig12_peers.png", "figC1_expected_residuals_netcpu_all.png",
                 "fig04_balancing_netcpu_deep.png", "fig05_soft_label_netcpu_all.png",
                 "figB1_estimates_netcpu_all.png", "figD1_threshold_netcpu_all.png",
                 "figD4_iterations_netcpu_all.png", "figD5_iterations_zphot_zspec_netcpu_all.png",
                 "figD6_iterations_residuals_netcpu_all.png"):
        assert name in pngs, name


def test_iterations_study_uses_the_saved_checkpoints(tiny_run):
    table = pd.read_parquet(tiny_run / "results/sdss/studies/iterations.parquet")
    assert sorted(table["iterations"].unique()) == [20, 40]
    assert set(table["run"]) == {"sdss__iter20/all", "sdss/all__th200"}
    sig = table[(table.metric == "sigma_mad") & (table.estimate == "zmode")]
    base = sig[sig.method == "baseline"].set_index("iterations")["value"]
    assert base[20] != base[40]  # the checkpoint after 20 iterations is another model
    # the point at the final model is the base chain with the study seed, not a copy of it
    ens = pd.read_parquet(tiny_run / "results/sdss/netcpu/all/catalogue.parquet")
    ref = pd.read_parquet(tiny_run / "results/sdss/netcpu/all__th200/catalogue.parquet")
    assert ens["id"].tolist() == ref["id"].tolist()
    assert not np.allclose(ens["step3_zmean"], ref["step3_zmean"])  # 2 seeds vs 1


def rerun_with(tiny_run, tmp_path, change):
    """The rules a dry run would schedule on the finished tiny run after ``change(cfg)``."""
    cfg = yaml.safe_load(TINY.read_text())
    change(cfg)
    changed = tmp_path / "changed.yaml"
    # keep the key order: Snakemake compares params by their repr
    changed.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = snakemake(tiny_run, "-n", "--cores", "1", "--replace-workflow-config", config=changed)
    assert res.returncode == 0, res.stderr[-3000:]
    stats = res.stdout.split("Job stats:")[1].split("\n\n")[0]  # the dry run's job table
    counts = dict(
        line.split() for line in stats.splitlines()
        if len(line.split()) == 2 and line.split()[1].isdigit()
    )
    counts.pop("total", None)
    counts.pop("all", None)
    assert counts, res.stdout[-2000:]
    return set(counts)


def test_changing_a_figure_option_reruns_only_figures(tiny_run, tmp_path):
    def change(cfg):
        cfg["figures"]["dpi"] = cfg["figures"]["dpi"] + 10

    rules = rerun_with(tiny_run, tmp_path, change)
    assert all(rule.startswith("plot_") for rule in rules), rules


def test_changing_an_evaluation_setting_reruns_only_evaluation(tiny_run, tmp_path):
    # outlier_threshold sits beside the balancing settings in a part's config, but only
    # the metrics and the figures that draw it read it
    def change(cfg):
        part = cfg["datasets"]["sdss"]["parts"]["all"]
        part["outlier_threshold"] = part["outlier_threshold"] * 2

    rules = rerun_with(tiny_run, tmp_path, change)
    assert "metrics" in rules, rules
    upstream = {r for r in rules if r.startswith(("train_", "select_balanced_subset", "fit_soft_labels",
                                                  "measure_label_variance", "represent", "predict_",
                                                  "ensemble", "catalogue", "calibrate_", "preprocess",
                                                  "generate_", "deplete_"))}
    assert not upstream, rules


def test_report_builds(tiny_run):
    res = snakemake(tiny_run, "--report", "report.html")
    assert res.returncode == 0, res.stderr[-3000:]
    # docutils reports broken captions (e.g. an unescaped |x| read as a substitution) but
    # still writes the report: the captions must render cleanly
    assert "(ERROR/" not in res.stdout + res.stderr, (res.stdout + res.stderr)[-3000:]
    html = (tiny_run / "report.html").read_text(errors="ignore")
    assert "Fig. 6" in html or "fig06" in html


def test_rerun_is_a_no_op(tiny_run):
    res = snakemake(tiny_run, "-n", "--cores", "1")
    assert res.returncode == 0
    assert "Nothing to be done" in res.stdout + res.stderr


# ---- apply mode: the tiny SDSS-like test galaxies as an applied sample (z_spec withheld)

APPLIED = {"apply": {"model": "sdss", "withhold_test": True,
                     "tomography": {"bins": [0.0, 0.08, 0.12, 0.4], "nz_width": 0.02,
                                    "n_bootstrap": 5}}}


def add_applied(cfg):
    cfg["datasets"]["sdss_applied"] = APPLIED
    cfg["run"] = cfg["run"] + ["sdss_applied"]


def test_applying_a_trained_model_schedules_no_training(tiny_run, tmp_path):
    rules = rerun_with(tiny_run, tmp_path, add_applied)
    assert "apply_infer" in rules and "apply_step4" in rules, rules
    assert all(r.startswith("apply_") for r in rules), rules


def test_apply_mode_end_to_end(tiny_run, tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    add_applied(cfg)
    changed = tmp_path / "applied.yaml"
    changed.write_text(yaml.safe_dump(cfg, sort_keys=False))
    res = snakemake(tiny_run, "--cores", "2", "--replace-workflow-config", config=changed)
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-5000:]
    ran = {line.split()[-1].rstrip(")") for line in (res.stdout + res.stderr).splitlines()
           if "(Rule: " in line}
    ran.discard("all")
    assert ran and all(r.startswith("apply_") for r in ran), ran

    out = tiny_run / "results" / "sdss_applied"
    cat = pd.read_parquet(out / "netcpu/all/catalogue.parquet").set_index("id")
    assert "z_spec" not in cat and "z_true" not in cat  # withheld from the apply jobs
    # the applied galaxies are the test galaxies: the same ensemble gives the same estimates
    ref = pd.read_parquet(tiny_run / "results/sdss/netcpu/all/catalogue.parquet").set_index("id")
    assert sorted(cat.index) == sorted(ref.index)
    ref = ref.loc[cat.index]
    for c in ("baseline_zmode", "baseline_zmean", "step3_zmode", "step3_zmedian", "step3_zerr"):
        np.testing.assert_allclose(cat[c], ref[c], atol=1e-6, err_msg=c)
    ok = cat["step4_calibrated"].to_numpy()
    assert ok.any() and np.isnan(cat.loc[~ok, "step4_zmode"]).all()
    np.testing.assert_allclose(cat["step4_zmode"] - cat["step3_zmode"], -cat["step4_shift"])
    bins = pd.read_parquet(out / "netcpu/all/nz_bins.parquet")
    z4 = cat["step4_zmode"]
    assert bins["n_galaxies"].sum() == (ok & (z4 >= 0.0) & (z4 < 0.4)).sum()
    table = (out / "netcpu/all/validation.md").read_text()
    assert table.count("\n") == 2 + 3  # header, rule, three bins
    assert (out / "figures/nz_netcpu_all.png").stat().st_size > 0
