"""Appendix D studies: the training-set changes and the naming and configuration of the runs."""

import numpy as np
import pytest

from photoz_debias.errors import InputError
from photoz_debias.studies import (
    deep_merge,
    derived_config,
    derived_name,
    format_value,
    is_base_setting,
    n_subsample,
    parse_derived,
    parse_study_part,
    perturb_labels,
    study_grid,
    study_part,
    study_training_set,
    subsample_training,
)

BASE = {
    "grid": {"z_min": 0.0, "z_max": 0.4, "n_bins": 80, "extend_left": 40, "extend_right": 40},
    "net": "netcpu",
    "training": {"iterations": 3600, "batch_size": 32, "lr": 1e-3, "checkpoint_iters": [1200, 2400]},
    "parts": {"all": {"threshold": 10}},
}


def arrays(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(n, 5, 4, 4)).astype(np.float32),
        "ebv": rng.uniform(0, 0.1, n).astype(np.float32),
        "z_spec": rng.uniform(0.0, 0.4, n),
        "mag_row": rng.integers(0, 11, n),
        "id": np.arange(100, 100 + n),
    }


# ---- label errors (App. D.5) ----


def test_label_errors_really_change_the_labels_with_the_given_dispersion():
    z = np.full(20000, 0.2)
    noisy, keep = perturb_labels(z, 0.02, seed=3, z_range=(0.0, 0.4))
    assert keep.all()  # 0.2 +- 10 sigma stays in [0, 0.4]
    assert not np.allclose(noisy, z)
    assert np.std(noisy - z) == pytest.approx(0.02, rel=0.03)
    assert abs(np.mean(noisy - z)) < 0.001


def test_label_errors_are_fixed_by_the_seed():
    z = np.linspace(0.05, 0.35, 500)
    a, _ = perturb_labels(z, 0.05, seed=1, z_range=(0.0, 0.4))
    b, _ = perturb_labels(z, 0.05, seed=1, z_range=(0.0, 0.4))
    c, _ = perturb_labels(z, 0.05, seed=2, z_range=(0.0, 0.4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_label_errors_drop_galaxies_leaving_the_grid_range():
    z = np.array([0.001] * 500 + [0.2] * 500 + [0.399] * 500)
    noisy, keep = perturb_labels(z, 0.05, seed=0, z_range=(0.0, 0.4))
    assert np.array_equal(keep, (noisy >= 0.0) & (noisy <= 0.4))
    # about half of the galaxies at the edges leave the range, none of the central ones
    assert 0.35 < (~keep[:500]).mean() < 0.65 and 0.35 < (~keep[1000:]).mean() < 0.65
    assert keep[500:1000].all()


def test_zero_label_error_is_no_change():
    z = np.linspace(0, 0.4, 11)
    noisy, keep = perturb_labels(z, 0.0, seed=0, z_range=(0.0, 0.4))
    np.testing.assert_array_equal(noisy, z)
    assert keep.all()
    with pytest.raises(InputError):
        perturb_labels(z, -0.1, seed=0, z_range=(0.0, 0.4))


# ---- training sample size (App. D.4) ----


def test_subsample_keeps_the_fraction_sorted_and_unique():
    rows = subsample_training(1000, 0.25, seed=4)
    assert len(rows) == 250 == n_subsample(1000, 0.25)
    assert np.all(np.diff(rows) > 0) and rows.min() >= 0 and rows.max() < 1000


def test_subsample_is_deterministic_per_seed_and_nested():
    a = subsample_training(1000, 0.5, seed=4)
    np.testing.assert_array_equal(a, subsample_training(1000, 0.5, seed=4))
    assert not np.array_equal(a, subsample_training(1000, 0.5, seed=5))
    small = subsample_training(1000, 0.2, seed=4)
    assert set(small) <= set(a)


def test_subsample_full_fraction_and_bad_fractions():
    np.testing.assert_array_equal(subsample_training(7, 1.0, seed=0), np.arange(7))
    assert len(subsample_training(7, 0.01, seed=0)) == 1  # at least one galaxy
    for bad in (0.0, -0.5, 1.5):
        with pytest.raises(InputError):
            subsample_training(10, bad, seed=0)


def test_study_training_set_defaults_are_no_change():
    data = arrays()
    out, info = study_training_set(data, seed=0)
    assert out is data and info["n_out"] == 1000 and info["n_dropped"] == 0


def test_study_training_set_subsamples_then_perturbs_every_array_together():
    data = arrays()
    out, info = study_training_set(data, train_fraction=0.5, label_error=0.05, seed=2, z_range=(0.0, 0.4))
    assert info["n_in"] == 1000 and info["n_subsample"] == 500
    assert info["n_out"] == 500 - info["n_dropped"] and info["n_dropped"] > 0
    n = info["n_out"]
    assert all(len(v) == n for v in out.values())
    assert ((out["z_spec"] >= 0) & (out["z_spec"] <= 0.4)).all()
    # the images, E(B-V) and rows travel with their galaxy; only z_spec changed
    rows = np.searchsorted(data["id"], out["id"])
    np.testing.assert_array_equal(out["x"], data["x"][rows])
    np.testing.assert_array_equal(out["mag_row"], data["mag_row"][rows])
    assert not np.allclose(out["z_spec"], data["z_spec"][rows])
    # the subsample is the one subsample_training draws for this seed
    assert set(rows) <= set(subsample_training(1000, 0.5, seed=2))
    again, _ = study_training_set(data, train_fraction=0.5, label_error=0.05, seed=2, z_range=(0.0, 0.4))
    np.testing.assert_array_equal(again["z_spec"], out["z_spec"])
    assert data["z_spec"].max() <= 0.4 and len(data["id"]) == 1000  # input untouched


# ---- derived runs ----


def test_deep_merge_overrides_nested_keys_and_copies():
    over = {"training": {"label_error": 0.05}, "net": "nets1"}
    merged = deep_merge(BASE, over)
    assert merged["training"] == {**BASE["training"], "label_error": 0.05}
    assert merged["net"] == "nets1" and merged["grid"] == BASE["grid"]
    assert "label_error" not in BASE["training"] and BASE["net"] == "netcpu"
    merged["grid"]["n_bins"] = 3
    assert BASE["grid"]["n_bins"] == 80  # no shared sub-dicts
    assert deep_merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}  # a non-mapping replaces


def test_study_grid_appends_half_the_bins_and_20_for_20_bins():
    assert study_grid(BASE["grid"], 40) == {**BASE["grid"], "n_bins": 40, "extend_left": 20, "extend_right": 20}
    assert study_grid(BASE["grid"], 180)["extend_left"] == 90
    g20 = study_grid(BASE["grid"], 20)
    assert g20["extend_left"] == g20["extend_right"] == 20
    # an asymmetric base extension (the CFHTLS grid) keeps its proportions
    cf = {"z_min": 0.0, "z_max": 4.0, "n_bins": 200, "extend_left": 100, "extend_right": 200}
    g = study_grid(cf, 400)
    assert (g["extend_left"], g["extend_right"]) == (200, 400)


def test_derived_configs():
    assert derived_config(BASE, "n_bins", 40)["grid"]["n_bins"] == 40
    assert derived_config(BASE, "train_size", 0.5)["training"]["train_fraction"] == 0.5
    assert derived_config(BASE, "label_error", 0.05)["training"]["label_error"] == 0.05
    assert derived_config(BASE, "net", "nets1")["net"] == "nets1"
    assert derived_config(BASE, "iterations", 1200) == BASE


def test_derived_names_round_trip():
    for study, value, name in (
        ("n_bins", 40, "sdss__nbins40"),
        ("train_size", 0.5, "sdss__frac0.5"),
        ("label_error", 0.05, "sdss__sigz0.05"),
        ("net", "nets1", "sdss__netnets1"),
        ("iterations", 1200, "sdss__iter1200"),
    ):
        assert derived_name("sdss", study, value) == name
        assert parse_derived(name) == ("sdss", study, value)
    assert parse_derived("sdss") is None and parse_derived("sdss_depleted") is None
    assert parse_derived("sdss__nbinsx") is None
    assert format_value(0.25) == "0.25" and format_value(1.0) == "1"
    with pytest.raises(InputError):
        format_value(1e-7)  # '1e-07' would not be a clean name
    assert study_part("all", 20) == "all__th20" and parse_study_part("all__th20") == ("all", 20)
    assert parse_study_part("all") is None


def test_base_settings_are_recognised():
    assert is_base_setting("n_bins", 80, BASE) and not is_base_setting("n_bins", 40, BASE)
    assert is_base_setting("iterations", 3600, BASE) and not is_base_setting("iterations", 1200, BASE)
    assert is_base_setting("train_size", 1.0, BASE) and not is_base_setting("train_size", 0.5, BASE)
    assert is_base_setting("label_error", 0.0, BASE) and not is_base_setting("label_error", 0.02, BASE)
    assert is_base_setting("net", "netcpu", BASE) and not is_base_setting("net", "nets1", BASE)
