"""Realism of the SDSS-like population against the REAL SDSS Main Galaxy Sample (MLZ subset).

Tolerances (synthetic population of 20,000 galaxies, seed 2022, restricted to z < 0.3 like
the MGS reference; colours are synthetic total vs MGS model magnitudes, both dereddened):

* |median z(synthetic) - median z(MGS)| < 0.01;
* median r within 0.15 mag, and the two-sample KS distance of the r distributions < 0.12;
* median u-g, g-r, r-i, i-z within 0.1 mag of the MGS in each of the 6 z bins
  0, 0.05, 0.08, 0.11, 0.14, 0.18, 0.30 -- EXCEPT u-g, which the kcorrect-template model
  cannot bring within 0.1 mag in the 0.11-0.18 bins (see the test for the measured
  values); u-g is checked against a stated 0.2 mag bound and the failure of the 0.1 mag
  goal is marked xfail, not hidden.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from photoz_debias.data.synth import generate_population
from photoz_debias.data.synth.realism import load_mgs, plot_realism, realism_summary

MGS_DIR = Path(__file__).resolve().parents[1] / "resources" / "mlz_sdss_mgs"
EDGES = (0.0, 0.05, 0.08, 0.11, 0.14, 0.18, 0.30)

@pytest.fixture(scope="module")
def summary():
    pop = generate_population("sdss_like", 20000, seed=2022)
    mgs = load_mgs(MGS_DIR)
    return pop, mgs, realism_summary(pop, mgs, EDGES)


def _get(s, q):
    return s[s.quantity == q]


def test_load_mgs():
    mgs = load_mgs(MGS_DIR)
    assert len(mgs) == 10000
    # resources/README.md: median z 0.092 (train) and 0.089 (test); 99.8% have r <= 17.77.
    assert 0.088 < mgs["z"].median() < 0.093
    assert (mgs["mag_r"] <= 17.77).mean() > 0.99
    np.testing.assert_allclose(mgs["g-r"], mgs["mag_g"] - mgs["mag_r"], atol=2e-3)


def test_median_redshift(summary):
    _, _, s = summary
    d = _get(s, "median_z")["diff"].iloc[0]
    assert abs(d) < 0.01, d


def test_r_distribution(summary):
    _, _, s = summary
    d = _get(s, "median_r")["diff"].iloc[0]
    ks = _get(s, "ks_r")["diff"].iloc[0]
    assert abs(d) < 0.15, d
    assert ks < 0.12, ks


@pytest.mark.parametrize("colour", ["g-r", "r-i", "i-z"])
def test_median_colours_per_bin(summary, colour):
    _, _, s = summary
    c = _get(s, colour)
    assert (c.n_synthetic > 200).all() and (c.n_mgs > 200).all()
    assert np.all(np.abs(c["diff"]) < 0.1), c[["z_lo", "z_hi", "synthetic", "mgs", "diff"]]


def test_median_u_minus_g_bound(summary):
    _, _, s = summary
    c = _get(s, "u-g")
    assert np.all(np.abs(c["diff"]) < 0.2), c[["z_lo", "z_hi", "synthetic", "mgs", "diff"]]


@pytest.mark.xfail(reason="u-g of the kcorrect-template model is ~0.15 mag bluer than the MGS at 0.11<z<0.18", strict=False)
def test_median_u_minus_g_goal(summary):
    _, _, s = summary
    c = _get(s, "u-g")
    assert np.all(np.abs(c["diff"]) < 0.1)


def test_plot_realism(summary, tmp_path):
    pop, mgs, _ = summary
    png, pdf = tmp_path / "realism.png", tmp_path / "realism.pdf"
    plot_realism(pop, mgs, png, pdf)
    assert png.stat().st_size > 10000 and pdf.stat().st_size > 5000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["realism.pdf", "realism.png"]


def test_high_redshift_tail(summary):
    # the tail above z = 0.2 is where Step 3's label shifts (Eq. 8) are large: its weight must
    # be the real one (within 30%; within a factor 1.6 above 0.25, where MGS has ~20 galaxies)
    _, _, s = summary
    t = _get(s, "frac_z_above").set_index("z_lo")
    for z, tol in ((0.15, 0.3), (0.20, 0.3), (0.25, 0.6)):
        ratio = t.loc[z, "synthetic"] / t.loc[z, "mgs"]
        assert abs(ratio - 1) < tol, (z, t.loc[z, ["synthetic", "mgs"]].to_dict())


@pytest.mark.xfail(strict=True, reason=(
    "known realism gap of the bare sdss_like preset, which config/config.yaml closes with three "
    "survey parameters (the next test; docs/notes/2026-11-26-survey-photometric-scatter.md): at z >= 0.11 the synthetic "
    "u-g spreads 0.54-0.66 times as wide as the MGS's, g-r 0.64 times at z >= 0.18, r-i 1.4-1.8 "
    "times and i-z 1.3-1.4 times. A strict xfail: closing the gap fails this marker, so it "
    "gets removed."))
def test_colour_spread_at_fixed_redshift():
    # the colour-redshift relation's width sets a photometric redshift's scatter and so the
    # size of the prior pull the paper corrects; the catalogue's measured magnitudes (with
    # their photometric errors) against the MGS model magnitudes (with theirs)
    from photoz_debias.data.synth.realism import colour_scatter
    from photoz_debias.data.synth.parameters import survey_parameters
    from photoz_debias.data.synth.survey import measured_catalogue

    pop = generate_population("sdss_like", 20000, seed=2022)
    pop = measured_catalogue(pop, survey_parameters("sdss_like"), 2022)
    syn = colour_scatter(pop[pop["z_true"] < 0.3], EDGES)
    real = colour_scatter(load_mgs(MGS_DIR), EDGES)
    ratio = syn["scatter"].to_numpy() / real["scatter"].to_numpy()
    high = (syn["z_lo"] >= 0.11).to_numpy()
    assert np.all((ratio[high] > 0.7) & (ratio[high] < 1.4)), dict(
        zip(zip(syn["colour"][high], syn["z_lo"][high]), ratio[high].round(2)))


CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"


@pytest.fixture(scope="module")
def default_survey():
    """The SDSS-like population with config/config.yaml's survey parameters."""
    import yaml

    params = yaml.safe_load(CONFIG.read_text())["datasets"]["sdss"]["source"]["params"]
    assert params, "the default SDSS-like survey sets its photometric-scatter parameters"
    return params, generate_population("sdss_like", 20000, seed=2022, **params)


def test_default_config_survey_keeps_the_medians(default_survey, capsys):
    # the SED scatter of the default's parameters must not move what the preset matches:
    # the same bounds as the tests above, through the command that prints the table
    from photoz_debias.data.synth.realism import main

    _, pop = default_survey
    s = realism_summary(pop, load_mgs(MGS_DIR), EDGES)
    assert abs(_get(s, "median_z")["diff"].iloc[0]) < 0.01
    assert abs(_get(s, "median_r")["diff"].iloc[0]) < 0.15 and _get(s, "ks_r")["diff"].iloc[0] < 0.12
    colours = s[s.quantity.isin(["g-r", "r-i", "i-z"])]
    assert np.all(np.abs(colours["diff"]) < 0.1), colours
    assert np.all(np.abs(_get(s, "u-g")["diff"]) < 0.2)
    t = _get(s, "frac_z_above").set_index("z_lo")
    assert abs(t.loc[0.20, "synthetic"] / t.loc[0.20, "mgs"] - 1) < 0.3
    main([str(MGS_DIR), "--n", "500", "--config", str(CONFIG)])
    out = capsys.readouterr().out
    assert "sed_redshift_scatter" in out and "median_z" in out


def test_default_config_survey_matches_the_mgs_photometric_scatter(default_survey):
    # config/config.yaml's SDSS-like survey parameters: the kNN photo-z scatter of the real MGS
    # (0.0140 with 5,000 training galaxies, diagnose photometry) and colour spreads at fixed
    # redshift within a factor 1.5 of the MGS's at z >= 0.11 (the bare preset: 0.54-1.8),
    # except g-r above z = 0.18, which they leave as narrow as the preset's (0.61 of the MGS)
    from photoz_debias.evaluate.metrics import sigma_mad
    from photoz_debias.evaluate.peers import knn_photo_z
    from photoz_debias.data.synth.realism import colour_scatter
    from photoz_debias.data.synth.parameters import survey_parameters
    from photoz_debias.data.synth.survey import measured_catalogue

    params, pop = default_survey
    pop = measured_catalogue(pop, survey_parameters("sdss_like", **params), 2022)
    pop = pop[pop["z_true"] < 0.3].reset_index(drop=True)
    syn = colour_scatter(pop, EDGES)
    real = colour_scatter(load_mgs(MGS_DIR), EDGES)
    ratio = syn["scatter"].to_numpy() / real["scatter"].to_numpy()
    high = (syn["z_lo"] >= 0.11).to_numpy()
    gr_top = ((syn["colour"] == "g-r") & (syn["z_lo"] >= 0.18)).to_numpy()
    ok = high & ~gr_top
    assert np.all((ratio[ok] > 1 / 1.5) & (ratio[ok] < 1.5)), ratio[ok].round(2)
    assert 0.5 < ratio[gr_top][0] < 0.7
    bands = [f"mag_{b}" for b in "ugriz"]
    order = np.random.default_rng(0).permutation(len(pop))
    tr, te = pop.iloc[order[:5000]], pop.iloc[order[5000:10000]]
    zp = knn_photo_z(tr[bands].to_numpy(), tr["z_true"].to_numpy(), te[bands].to_numpy())
    assert 0.0125 < sigma_mad(zp, te["z_true"].to_numpy()) < 0.0155
