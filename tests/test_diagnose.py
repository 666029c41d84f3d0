"""photoz_debias.diagnostics: test-set accuracy of a checkpoint, against hand computations."""

import numpy as np
import pytest
import torch

from photoz_debias.model.checkpoint import save_checkpoint
import pandas as pd

from photoz_debias.diagnostics.__main__ import main
from photoz_debias.diagnostics.labels import compare_label_variance, label_shift_summary, shift_response, variance_summary
from photoz_debias.diagnostics.trunk import diagnose_checkpoint, diagnose_representation, effective_rank, step1_outputs_sweep
from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid
from photoz_debias.model.networks import build_model

GRID = {"z_min": 0.0, "z_max": 0.4, "n_bins": 8}


def _test_set(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(n, 4)).astype(np.float32),
        "ebv": np.zeros(n, np.float32),
        "z_spec": rng.uniform(0.0, 0.4, n),
        "mag_row": rng.integers(0, 5, n),
    }


def _constant_model(unit, bin_k, out_k=0):
    """A model whose output is the same for every galaxy: all weights zero, one large bias."""
    m = build_model("mlp", unit, n_bins=8, n_outputs=3, n_features=4, seed=0)
    with torch.no_grad():
        for p in m.unit.parameters():
            p.zero_()
        if unit == "single":
            m.unit.fc.bias[bin_k] = 30.0
        else:
            m.unit.heads_bias[:, bin_k] = 30.0
            m.unit.mag_head.bias[out_k] = 30.0
    return m


def test_single_unit_constant_prediction(tmp_path):
    test = _test_set()
    path = tmp_path / "b.pt"
    save_checkpoint(path, _constant_model("single", 3), {"grid": GRID, "iterations": 7})
    d = diagnose_checkpoint(path, test, outlier_threshold=0.05)
    z0 = RedshiftGrid(**GRID).centres[3]
    dz = (z0 - test["z_spec"]) / (1 + test["z_spec"])
    assert d["unit"] == "single" and d["iterations"] == 7
    assert d["sigma_mad"] == pytest.approx(1.4826 * np.median(np.abs(dz - np.median(dz))))
    assert d["outlier_fraction"] == pytest.approx(np.mean(np.abs(dz) > 0.05))
    assert d["mean_residual"] == pytest.approx(dz.mean())
    assert np.isnan(d["mag_head_accuracy"])


def test_multi_unit_head_diagnostics(tmp_path):
    test = _test_set()
    path = tmp_path / "s1.pt"
    # the magnitude head always picks output 0: right only for rows 0 and 1 (activated 0)
    save_checkpoint(path, _constant_model("multi", 5, out_k=0), {"grid": GRID})
    d = diagnose_checkpoint(path, test)
    rows = test["mag_row"]
    assert d["mag_head_accuracy"] == pytest.approx(np.mean(rows <= 1))
    assert d["head_peak_probability"] == pytest.approx(1.0, abs=1e-6)  # every head peaked at bin 5
    assert d["mean_residual"] == pytest.approx(
        np.mean((RedshiftGrid(**GRID).centres[5] - test["z_spec"]) / (1 + test["z_spec"])))


def test_checkpoint_without_grid_is_refused(tmp_path):
    path = tmp_path / "x.pt"
    save_checkpoint(path, _constant_model("single", 0))
    with pytest.raises(InputError, match="grid"):
        diagnose_checkpoint(path, _test_set())


def test_cli_prints_a_table(tmp_path, capsys, monkeypatch):
    path = tmp_path / "b.pt"
    save_checkpoint(path, _constant_model("single", 2), {"grid": GRID, "iterations": 3})
    monkeypatch.setattr("photoz_debias.diagnostics.__main__.load_training_arrays", lambda *a, **k: _test_set())
    assert main(["checkpoints", "stamps.h5", str(path)]) == 0
    out = capsys.readouterr().out
    assert "| sigma_MAD |" in out and f"| {path} | single | 3 |" in out


def test_label_shift_summary_by_hand(tmp_path, capsys):
    table = pd.DataFrame({
        "z0": [0.01, 0.02, 0.12, 0.13, 0.14],
        "z_star": [0.00, 0.02, 0.15, 0.17, 0.14],
        "var": [0.0001, 0.0004, 0.0009, 0.0016, 0.0025],
        "sigma1": [0.01, 0.01, 0.02, 0.02, 0.02],
    })
    s = label_shift_summary(table, [0.0, 0.05, 0.1, 0.15])
    assert s["n"].tolist() == [2, 0, 3]
    assert s.loc[0, "shift"] == pytest.approx(-0.005)
    assert s.loc[2, "shift"] == pytest.approx((0.03 + 0.04 + 0.0) / 3)
    assert s.loc[2, "width"] == pytest.approx((0.03 + 0.04 + 0.05) / 3)
    assert np.isnan(s.loc[1, "shift"])
    path = tmp_path / "soft_labels.parquet"
    table.to_parquet(path)
    assert main(["labels", str(path), "--bin-width", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "| 0.100-0.150 | 3 | +0.0233 |" in out


def test_label_shift_summary_needs_the_columns():
    with pytest.raises(InputError, match="z_star"):
        label_shift_summary(pd.DataFrame({"z0": [0.1]}), [0, 1])


def test_effective_rank_counts_the_directions_that_carry_variance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 3)) @ rng.normal(size=(3, 20))  # rank 3 in 20 dimensions
    assert effective_rank(x) == 3
    assert effective_rank(np.ones((10, 4))) == 0


def _probe_data(n, rng, informative=True):
    """Representations whose first unit is the redshift bin (or noise), ReLU-like >= 0."""
    z_bin = rng.integers(0, 8, n)
    x = np.abs(rng.normal(size=(n, 6))).astype(np.float32)
    x[:, 5] = 0.0  # a dead unit
    if informative:
        x[:, :4] = np.eye(8)[z_bin][:, :4] * 5  # bins 0-3 one-hot, 4-7 none
        x[:, 4] = (z_bin >= 4) * (z_bin - 3.0)
    return x, z_bin


def test_representation_diagnostics_tell_informative_from_noise(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    grid = RedshiftGrid(**GRID)
    path = tmp_path / "s1.pt"
    save_checkpoint(path, _constant_model("multi", 0), {"grid": GRID})
    results = {}
    for informative in (True, False):
        xtr, btr = _probe_data(400, rng, informative)
        xte, bte = _probe_data(200, rng, informative)
        labels = pd.DataFrame({"split": [0] * 400 + [1] * 200,
                               "z_spec": grid.centres[np.r_[btr, bte]]})
        monkeypatch.setattr("photoz_debias.io.read_labels", lambda *a, **k: labels)
        monkeypatch.setattr("photoz_debias.io.read_representations",
                            lambda p, split, rows=None: xtr[:, None] if split == "train" else xte)
        results[informative] = diagnose_representation("stamps.h5", path, "reps.h5")
    good, bad = results[True], results[False]
    assert good["dead_units"] == bad["dead_units"] == 1 and good["n_units"] == 6
    assert good["probe_sigma_mad"] == pytest.approx(0.0, abs=1e-12)  # every bin recovered
    assert bad["probe_sigma_mad"] > 0.05


def test_representation_needs_a_checkpoint_with_a_grid(tmp_path):
    path = tmp_path / "x.pt"
    save_checkpoint(path, _constant_model("multi", 0))
    with pytest.raises(InputError, match="grid"):
        diagnose_representation("stamps.h5", path, "reps.h5")


def test_shift_response_by_hand(tmp_path, capsys):
    cat = pd.DataFrame({
        "z_spec": [0.01, 0.03, 0.12],
        "step3b_zmode": [0.01, 0.03 - 0.0103, 0.12 + 0.0112],   # dz 0, -0.01, +0.01
        "step3_zmode": [0.01 + 0.0202, 0.03, 0.12],             # dz +0.02, 0, 0
    })
    t1 = pd.DataFrame({"z0": [0.02, 0.11], "z_star": [0.02 + 0.0102, 0.11], "var": [1e-4] * 2,
                       "sigma1": [0.01] * 2})
    t2 = pd.DataFrame({"z0": [0.04], "z_star": [0.04 - 0.0104], "var": [1e-4], "sigma1": [0.01]})
    r = shift_response(cat, [t1, t2], [0.0, 0.05, 0.1, 0.15])
    assert r["n_test"].tolist() == [2, 0, 1] and r["n_labels"].tolist() == [2, 0, 1]
    assert r.loc[0, "step3b"] == pytest.approx(-0.005)
    assert r.loc[0, "step3"] == pytest.approx(0.01)
    assert r.loc[0, "response"] == pytest.approx(0.015)
    assert r.loc[0, "shift"] == pytest.approx(0.0)  # +0.01 and -0.01 in dz units
    assert r.loc[2, "step3b"] == pytest.approx(0.01) and r.loc[2, "shift"] == pytest.approx(0.0)
    assert np.isnan(r.loc[1, "step3"])
    cat.to_parquet(tmp_path / "c.parquet")
    t1.to_parquet(tmp_path / "t1.parquet")
    assert main(["shifts", str(tmp_path / "c.parquet"), str(tmp_path / "t1.parquet"),
                 "--bin-width", "0.05"]) == 0
    assert "| 0.000-0.050 | 2 | -0.0050 | +0.0100 | +0.0100 | +0.0150 |" in capsys.readouterr().out


def test_shift_response_needs_step3b():
    with pytest.raises(InputError, match="step3b_zmode"):
        shift_response(pd.DataFrame({"z_spec": [0.1], "step3_zmode": [0.1]}), [], [0, 1])


def test_representation_of_a_checkpoint_runs_its_trunk(tmp_path, monkeypatch):
    path = tmp_path / "b.pt"
    model = _constant_model("single", 1)
    save_checkpoint(path, model, {"grid": GRID})
    data = {"train": _test_set(60, seed=1), "test": _test_set(30, seed=2)}
    monkeypatch.setattr("photoz_debias.diagnostics.trunk.load_training_arrays",
                        lambda stamps, split: data[split])
    d = diagnose_representation("stamps.h5", path, str(path))
    with torch.no_grad():
        rep = model.trunk(torch.as_tensor(data["test"]["x"]), torch.as_tensor(data["test"]["ebv"]))
    assert d["n_units"] == rep.shape[1]
    assert d["dead_units"] == int((~(rep > 0).any(dim=0)).sum())
    assert 0.0 <= d["probe_sigma_mad"] < 1.0


def test_outputs_sweep_recuts_the_rows_and_retrains(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    n_tr, n_te = 80, 40
    ids = np.arange(n_tr + n_te)
    r_mag = rng.uniform(16.0, 19.0, ids.size)
    z = rng.uniform(0.0, 0.4, ids.size)
    x = np.c_[z * 10, r_mag - 17, rng.normal(size=(ids.size, 2))].astype(np.float32)

    def split(sl):
        return {"x": x[sl], "ebv": np.zeros(len(x[sl]), np.float32), "z_spec": z[sl],
                "mag_row": np.zeros(len(x[sl]), np.int64), "id": ids[sl]}

    data = {"train": split(slice(0, n_tr)), "test": split(slice(n_tr, None))}
    monkeypatch.setattr("photoz_debias.diagnostics.trunk.load_training_arrays", lambda stamps, split: data[split])
    monkeypatch.setattr("photoz_debias.io.read_labels",
                        lambda stamps: pd.DataFrame({"id": ids, "r_mag": r_mag}))
    seen = []
    real = __import__("photoz_debias.model.training", fromlist=["train_model"]).train_model

    def spy(model, x_, ebv, z_bin, mag_row, n_outputs, settings, **kw):
        seen.append((n_outputs, int(mag_row.max()), settings.iterations))
        return real(model, x_, ebv, z_bin, mag_row, n_outputs, settings, **kw)

    monkeypatch.setattr("photoz_debias.model.training.train_model", spy)
    path = tmp_path / "s1.pt"
    meta = {"grid": GRID, "rows": {"r_min": 16.0, "n_rows": 3, "row_width": 1.0}, "net": "mlp",
            "iterations": 30, "batch_size": 8, "lr": 1e-2, "lr_drop_factor": 5.0, "seed": 0}
    save_checkpoint(path, _constant_model("multi", 0), meta)
    table = step1_outputs_sweep("stamps.h5", path, [1, 2], outlier_threshold=0.1)
    assert table["n_outputs"].tolist() == [1, 2]
    assert table["row_width"].tolist() == pytest.approx([3.0, 1.0])
    assert seen == [(1, 0, 30), (2, 2, 30)]  # 1 row, then 3 rows over the same 3 mag
    assert np.isfinite(table["sigma_mad"]).all() and (table["head_peak_probability"] > 0).all()


def test_outputs_sweep_needs_the_training_settings(tmp_path):
    path = tmp_path / "s1.pt"
    save_checkpoint(path, _constant_model("multi", 0), {"grid": GRID})
    with pytest.raises(InputError, match="rows"):
        step1_outputs_sweep("stamps.h5", path, [1])


def test_variance_summary_by_hand():
    eq7 = pd.DataFrame({
        "id": [1, 2, 2, 3], "output": [0, 0, 1, 1],
        "z0": [0.1, 0.2, 0.2, 0.3], "z_star": [0.1, 0.2, 0.2, 0.3],
        "sigma1": [0.03, 0.03, 0.04, 0.04],
        "var": [0.0009 + 0.0016, 0.0009 + 0.0064, 0.0016 + 0.0009, 0.0016 + 0.0009],
    })
    measured = eq7.assign(var=[0.0004, 0.0016, 0.0001, 0.0009])
    s = variance_summary([eq7], [measured]).set_index("output")
    assert s.loc[0, "n"] == 2 and s.loc[1, "n"] == 2
    assert s.loc[0, "sigma2_step2"] == pytest.approx((0.04 + 0.08) / 2)
    assert s.loc[0, "width_eq7"] == pytest.approx((0.05 + np.sqrt(0.0073)) / 2)
    assert s.loc[1, "width_step3b"] == pytest.approx((0.01 + 0.03) / 2)
    assert s.loc[1, "ratio"] == pytest.approx(0.0025 / 0.0005)
    with pytest.raises(InputError, match="same"):
        variance_summary([eq7], [measured.iloc[::-1]])


def test_compare_label_variance_names_a_missing_dataset_or_part(tmp_path):
    cfg = {"datasets": {"sdss": {"parts": {"all": {}}}}, "ensemble": {"seeds": [0]}}
    with pytest.raises(InputError, match="dataset 'cfhtls'"):
        compare_label_variance(cfg, "cfhtls", "all")
    with pytest.raises(InputError, match="part 'deep'"):
        compare_label_variance(cfg, "sdss", "deep")
    cfg["datasets"]["sdss"].update(grid={"z_min": 0, "z_max": 0.4, "n_bins": 8}, heads={},
                                   rows={"r_min": 14, "n_rows": 3, "row_width": 1}, net="netcpu")
    with pytest.raises(InputError, match="catalogue.parquet not found"):
        compare_label_variance(cfg, "sdss", "all", root=tmp_path)


def _metrics_rows(values):
    """A metrics table (zmode) of {(method, metric): (value, error)}."""
    return pd.DataFrame([{"method": m, "metric": k, "estimate": "zmode", "value": v, "error": e}
                         for (m, k), (v, e) in values.items()])


def test_claims_of_one_model_by_hand():
    from photoz_debias.diagnostics.seeds import claims_of_model

    m = _metrics_rows({
        ("baseline", "slope_high"): (-0.10, 0.02), ("step3", "slope_high"): (0.03, 0.01),
        ("step3b", "slope_high"): (0.01, 0.01), ("step2", "slope_high"): (0.05, 0.01),
        ("baseline", "total_variation"): (0.20, 0.01), ("step3", "total_variation"): (0.25, 0.01),
        ("baseline", "sigma_mad"): (0.012, 0.0), ("step3", "sigma_mad"): (0.015, 0.0),
    })
    c = claims_of_model(m)
    assert c["claim1"] and c["claim2"] and not c["claim3"]
    assert c["bound"] == pytest.approx(0.05)
    # (0.05 - 0.03) / sqrt(0.01^2 + 0.01^2)
    assert c["margin2"] == pytest.approx(0.02 / np.sqrt(2e-4))
    assert (c["C_step2"], c["C_step3b"], c["sigma_mad_step3"]) == (0.05, 0.01, 0.015)
    m.loc[(m.method == "step3") & (m.metric == "slope_high"), "value"] = -0.06
    assert not claims_of_model(m)["claim2"]


def test_seed_scatter_names_a_missing_run(tmp_path):
    from photoz_debias.diagnostics.seeds import seed_scatter

    cfg = {"datasets": {"sdss": {"parts": {"all": {}}, "net": "netcpu",
                                 "grid": {"z_min": 0, "z_max": 0.4, "n_bins": 8, "extend_left": 4,
                                          "extend_right": 4}}}, "ensemble": {"seeds": [0]}}
    with pytest.raises(InputError, match="dataset 'cfhtls'"):
        seed_scatter(cfg, "cfhtls", "all")
    with pytest.raises(InputError, match="part 'deep'"):
        seed_scatter(cfg, "sdss", "deep")
    with pytest.raises(InputError, match="catalogue.parquet not found"):
        seed_scatter(cfg, "sdss", "all", root=tmp_path)


def test_interval_means_by_hand():
    from photoz_debias.diagnostics.runs import interval_means

    z = np.array([0.01, 0.02, 0.06, 0.2, -0.1])
    v = np.array([1.0, 3.0, 5.0, 7.0, 9.0])
    got = interval_means(z, v, np.array([0.0, 0.05, 0.1]))
    np.testing.assert_allclose(got, [2.0, 5.0])  # 0.2 and -0.1 fall outside
    got = interval_means(z, v, np.array([0.0, 0.05, 0.1, 0.15]))
    assert np.isnan(got[2])


def test_colour_scatter_by_hand():
    from photoz_debias.data.synth.realism import colour_scatter

    # g - r = 0.0, 0.1, 0.4 at z < 0.1: median 0.1, |dev| 0.1, 0, 0.3 -> MAD 0.1
    df = pd.DataFrame({"z": [0.02, 0.05, 0.08, 0.15],
                       "mag_u": [20.0, 20.0, 20.0, 20.0], "mag_g": [19.0, 19.1, 19.4, 19.0],
                       "mag_r": [19.0] * 4, "mag_i": [18.5] * 4, "mag_z": [18.0] * 4})
    t = colour_scatter(df, z_edges=(0.0, 0.1, 0.2, 0.3)).set_index(["colour", "z_lo"])
    assert t.loc[("g-r", 0.0), "scatter"] == pytest.approx(1.4826 * 0.1)
    assert t.loc[("r-i", 0.0), "scatter"] == 0.0
    assert t.loc[("g-r", 0.1), "n"] == 1 and t.loc[("g-r", 0.1), "scatter"] == 0.0
    assert np.isnan(t.loc[("g-r", 0.2), "scatter"]) and t.loc[("g-r", 0.2), "n"] == 0
    with pytest.raises(InputError, match="z_edges"):
        colour_scatter(df, z_edges=(0.1, 0.0))
    with pytest.raises(InputError, match="redshift column"):
        colour_scatter(df.drop(columns="z"))
