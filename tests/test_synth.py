"""Synthetic surveys: determinism, layouts, fluxes, reddening, CFHTLS fields and quality.

Small sizes only (~20 rendered galaxies); the CFHTLS populations reuse one module fixture.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from photoz_debias.errors import InputError
from photoz_debias.data.synth import generate_population, generate_survey, survey_parameters
from photoz_debias.data.synth import render
from photoz_debias.data.synth.population import igm_transmission
from photoz_debias.data.synth.parameters import extinction

warnings.filterwarnings("ignore", category=DeprecationWarning)

SDSS_R = (4.239, 3.303, 2.285, 1.698, 1.263)


@pytest.fixture(scope="module")
def sdss_pop():
    return generate_population("sdss_like", 300, seed=11)


@pytest.fixture(scope="module")
def cfhtls_pop():
    return generate_population("cfhtls_like", 500, seed=5)


def test_population_deterministic_per_seed(sdss_pop):
    again = generate_population("sdss_like", 300, seed=11)
    pd.testing.assert_frame_equal(sdss_pop, again)
    other = generate_population("sdss_like", 300, seed=12)
    assert not np.allclose(other["z_true"].to_numpy(), sdss_pop["z_true"].to_numpy())


def test_sdss_selection(sdss_pop):
    # MGS: dereddened Petrosian r < 17.77, z < 0.4; Petrosian fainter than total (model) r.
    assert (sdss_pop["petro_r"] < 17.77).all()
    assert (sdss_pop["z_true"] < 0.4).all() and (sdss_pop["z_true"] > 0).all()
    d = sdss_pop["petro_r"] - sdss_pop["mag_r"]
    assert (d > 0.02 - 1e-9).all() and (d < 0.25).all()
    np.testing.assert_array_equal(sdss_pop["z_spec"], sdss_pop["z_true"])
    nb = sdss_pop["nb"].mean()
    assert 0.05 < nb < 0.3


def test_unknown_parameter_names_it():
    with pytest.raises(InputError, match="psf_fwhm_typo"):
        generate_population("sdss_like", 10, seed=1, psf_fwhm_typo=1.0)
    with pytest.raises(InputError, match="kind"):
        survey_parameters("hsc_like")
    p = survey_parameters("sdss_like", r_max=17.0, psf_fwhm=[1.0, 1.0, 1.0, 1.0, 1.0])
    assert p.r_max == 17.0 and p.psf_fwhm == (1.0,) * 5


def test_band_noise_hand_computed():
    p = survey_parameters("sdss_like")
    fwhm, sigma, gain = render.band_noise(p, "SDSS")
    # r band: 5 sigma = 10^(-0.4 (22.70 - 22.5)) nmgy over NEA = 4 pi (1.32/2.355/0.396)^2 px.
    nea = 4 * np.pi * (1.32 / 2.355 / 0.396) ** 2
    assert sigma[2] == pytest.approx(10 ** (-0.08) / (5 * np.sqrt(nea)), rel=1e-12)
    assert sigma[2] == pytest.approx(0.03316, rel=1e-3)
    sky = 10 ** (-0.4 * (20.9 - 22.5)) * 0.396**2
    assert gain[2] == pytest.approx(sky / sigma[2] ** 2)


def test_igm_transmission():
    # Lyman continuum opaque, Ly-alpha forest tau = 0.0036 (lambda/1216)^3.46 (Madau 1995).
    assert igm_transmission(np.array([900.0 * 4]), 3.0)[0] == 0.0
    lam = 1215.67 * 3.5
    assert igm_transmission(np.array([lam]), 3.0)[0] == pytest.approx(np.exp(-0.0036 * 3.5**3.46))
    assert igm_transmission(np.array([5000.0]), 3.0)[0] == 1.0


def test_noiseless_flux_and_dereddening(sdss_pop):
    p = survey_parameters("sdss_like")
    R = extinction(p)
    np.testing.assert_allclose(R, SDSS_R)
    # Compact galaxies: the 25" stamp holds all but the de Vaucouleurs wings.
    small = sdss_pop[sdss_pop["hlr_arcsec"] < 1.6].head(6).reset_index(drop=True)
    assert len(small) >= 3
    img = render.render_chunk(small, p, 11, noiseless=True, neighbours=False)
    flux = img[:, 2].sum(axis=(1, 2))
    reddened = 10 ** (-0.4 * (small["mag_r"] + R[2] * small["ebv"] - 22.5))
    ratio = flux / reddened.to_numpy()
    assert np.all(ratio < 1.0005) and np.all(ratio > 0.97), ratio
    # Dereddening: the same galaxy without reddening is brighter by exactly R_r E(B-V),
    # i.e. catalogue r = observed r - R_r E(B-V); truncation cancels in the ratio.
    clear = small.assign(ebv=0.0)
    flux0 = render.render_chunk(clear, p, 11, noiseless=True, neighbours=False)[:, 2].sum(axis=(1, 2))
    m_obs = -2.5 * np.log10(flux) + 22.5
    m_dered = -2.5 * np.log10(flux0) + 22.5
    np.testing.assert_allclose(m_obs - R[2] * small["ebv"].to_numpy(), m_dered, atol=2e-4)


def test_render_deterministic_and_noise(sdss_pop):
    p = survey_parameters("sdss_like")
    rec = sdss_pop.head(4).reset_index(drop=True)
    a = render.render_chunk(rec, p, 11)
    b = render.render_chunk(rec, p, 11)
    c = render.render_chunk(rec, p, 12)
    assert a.shape == (4, 5, 64, 64) and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Sky noise: a noisy minus noiseless stamp has the band's sigma in faint pixels.
    clean = render.render_chunk(rec, p, 11, noiseless=True)
    _, sigma, _ = render.band_noise(p, "SDSS")
    for j in range(5):
        faint = np.abs(clean[:, j]) < 0.2 * sigma[j]
        resid = (a[:, j] - clean[:, j])[faint]
        assert np.std(resid) == pytest.approx(sigma[j], rel=0.15)


def test_sdss_layout_and_n_jobs(tmp_path):
    r1 = generate_survey("sdss_like", tmp_path / "a", n_galaxies=12, seed=3, n_jobs=1, chunk_size=5)
    r2 = generate_survey("sdss_like", tmp_path / "b", n_galaxies=12, seed=3, n_jobs=2, chunk_size=4)
    assert r1["n_galaxies"] == 12 and r1["counts"] == {"SDSS/HQ": 12}
    with np.load(r1["paths"]["npz"]) as f1, np.load(r2["paths"]["npz"]) as f2:
        assert sorted(f1.files) == ["cube", "labels"]
        cube, lab = f1["cube"], f1["labels"]
        assert cube.shape == (12, 64, 64, 5) and cube.dtype == np.float32
        np.testing.assert_array_equal(cube, f2["cube"])
        np.testing.assert_array_equal(lab, f2["labels"])
    assert lab.dtype.names == (
        "id", "z", "EBV", "dered_petro_r", "dered_petro_u", "dered_petro_g",
        "dered_petro_i", "dered_petro_z", "z_true",
    )
    assert lab.dtype["id"] == np.int64 and lab.dtype["z"] == np.float64
    assert lab.dtype["EBV"] == np.float32 and lab.dtype["dered_petro_r"] == np.float32
    assert (lab["dered_petro_r"] < 17.77).all()
    np.testing.assert_array_equal(lab["z"], lab["z_true"])
    assert len(np.unique(lab["id"])) == 12
    # Bands last: the r channel (index 2) holds the galaxy, brighter than u at the centre.
    centre = cube[:, 28:36, 28:36, :].sum(axis=(1, 2))
    assert np.median(centre[:, 2] / centre[:, 0]) > 1.0
    # Nothing half-written is left in the folder.
    assert sorted(x.name for x in (tmp_path / "a").iterdir()) == ["sdss.npz"]


def test_cfhtls_layout(tmp_path):
    res = generate_survey("cfhtls_like", tmp_path, n_galaxies=10, seed=4)
    stamps = np.load(res["paths"]["stamps"])
    assert stamps.shape == (10, 5, 64, 64) and stamps.dtype == np.float32
    cat = pd.read_parquet(res["paths"]["catalogue"])
    assert list(cat.columns) == [
        "id", "z_spec", "r_mag", "ebv", "field", "quality",
        "mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "z_true",
    ]
    assert cat["id"].dtype == np.int64 and cat["z_spec"].dtype == np.float64
    assert cat["r_mag"].dtype == np.float32 and cat["mag_u"].dtype == np.float32
    assert set(cat["field"]) <= {"DEEP", "WIDE"} and (cat["field"] == "DEEP").sum() == 2
    assert set(cat["quality"]) <= {"HQ", "LR"}
    # Zero-point 30: an r ~ 22-24 galaxy puts tens to thousands of counts in the stamp.
    tot = stamps[:, 2].sum(axis=(1, 2))
    expected = 10 ** (-0.4 * (cat["r_mag"].to_numpy() - 30.0))
    assert np.median(tot / expected) == pytest.approx(1.0, abs=0.3)


def test_cfhtls_fields_and_quality(cfhtls_pop):
    df = cfhtls_pop
    assert (df["field"] == "DEEP").sum() == 100 and (df["field"] == "WIDE").sum() == 400
    assert ((df["mag_r"] > 16) & (df["mag_r"] < 25.5)).all() and (df["z_true"] < 4.0).all()
    deep, wide = df[df["field"] == "DEEP"], df[df["field"] == "WIDE"]
    assert deep["mag_r"].median() > wide["mag_r"].median() + 0.5
    assert deep["z_true"].median() > wide["z_true"].median()
    assert 0.45 < wide["z_true"].median() < 0.9
    dz = np.abs(df["z_spec"] - df["z_true"]) / (1 + df["z_true"])
    lr, hq = df["quality"] == "LR", df["quality"] == "HQ"
    assert lr.sum() > 30 and hq.sum() > 200
    # LR (prism/grism): sigma ~0.005 (1+z); HQ ~0.0005 (1+z).
    assert dz[lr].median() > 5 * dz[hq].median()
    assert 0.002 < 1.4826 * dz[lr].median() < 0.01
    assert (df.loc[lr, "mag_i"] < 23.0).all()


def test_catalogue_magnitudes_are_measured_with_depth_limited_errors():
    from photoz_debias.data.synth.parameters import survey_parameters
    from photoz_debias.data.synth.survey import measured_catalogue, population_for

    p = survey_parameters("cfhtls_like")
    df = population_for(p, 400, 5)
    a, b = measured_catalogue(df, p, 5), measured_catalogue(df, p, 5)
    pd.testing.assert_frame_equal(a, b)  # seeded
    err = (a["mag_r"] - df["mag_r"]).abs()
    assert err.median() > 0  # noisy
    faint = df["mag_r"] > df["mag_r"].median()
    assert err[faint].median() > err[~faint].median()  # fainter galaxies, larger errors
    assert np.nanmedian(a["magerr_r"][faint]) > np.nanmedian(a["magerr_r"][~faint])


def test_catalogue_magnitudes_do_not_depend_on_the_hash_seed():
    # each band's noise is drawn for the model and the Petrosian magnitude in a fixed order;
    # a set of column names once made that order (and so the catalogue) change per process
    import os
    import subprocess
    import sys

    code = (
        "import hashlib\n"
        "from photoz_debias.data.synth.parameters import survey_parameters\n"
        "from photoz_debias.data.synth.survey import measured_catalogue, population_for\n"
        "p = survey_parameters('sdss_like')\n"
        "df = measured_catalogue(population_for(p, 200, 3), p, 3)\n"
        "cols = sorted(c for c in df if c.startswith(('mag_', 'petro_')))\n"
        "print(cols, hashlib.sha256(df[cols].to_numpy().tobytes()).hexdigest())\n"
    )
    out = []
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
        assert res.returncode == 0, res.stderr
        out.append(res.stdout)
    assert "petro_r" in out[0]  # both magnitude kinds are drawn
    assert out[0] == out[1] == out[2]


def test_sed_diversity_knobs_leave_the_default_draws_alone_and_act_when_set():
    # defaults: the very same population (no extra random draw is made)
    import pandas as pd

    from photoz_debias.evaluate.peers import knn_photo_z
    from photoz_debias.evaluate.metrics import sigma_mad

    base = generate_population("sdss_like", 3000, seed=4)
    same = generate_population("sdss_like", 3000, seed=4, dirichlet_concentration=1.0,
                               sed_scatter_mag=[0, 0, 0, 0, 0], sed_redshift_scatter=0.0)
    pd.testing.assert_frame_equal(base, same)
    bands = [f"mag_{b}" for b in "ugriz"]

    def knn_scatter(pop):  # noiseless magnitudes: what the SEDs alone leave of z
        tr, te = pop.iloc[: len(pop) // 2], pop.iloc[len(pop) // 2:]
        return sigma_mad(knn_photo_z(tr[bands].to_numpy(), tr["z_true"].to_numpy(), te[bands].to_numpy()),
                         te["z_true"].to_numpy())

    along = generate_population("sdss_like", 3000, seed=4, sed_redshift_scatter=0.01)
    assert knn_scatter(along) > 1.5 * knn_scatter(base)  # the track itself is blurred
    np.testing.assert_allclose(along["z_true"].median(), base["z_true"].median(), atol=0.01)

    def spread(pop, colour):
        a, b = colour
        c = pop[f"mag_{a}"] - pop[f"mag_{b}"]
        return float(np.median(np.abs(c - np.median(c))))

    u_scatter = generate_population("sdss_like", 3000, seed=4, sed_scatter_mag=[0.3, 0, 0, 0, 0])
    assert spread(u_scatter, "ug") > 1.5 * spread(base, "ug")
    narrow = generate_population("sdss_like", 3000, seed=4, dirichlet_concentration=4.0)
    assert spread(narrow, "ri") < spread(base, "ri")
    with pytest.raises(InputError, match="sed_scatter_mag"):
        generate_population("sdss_like", 100, seed=4, sed_scatter_mag=[0.1, 0.1])
    with pytest.raises(InputError, match="dirichlet_concentration"):
        generate_population("sdss_like", 100, seed=4, dirichlet_concentration=0.0)
    # the survey's parameters are checked when they are built, before any galaxy is drawn
    from photoz_debias.data.synth import survey_parameters

    with pytest.raises(InputError, match="sed_redshift_scatter"):
        survey_parameters("sdss_like", sed_redshift_scatter=-0.01)
    with pytest.raises(InputError, match="ugriz"):
        survey_parameters("cfhtls_like", sed_scatter_mag=[0.1, -0.1, 0, 0, 0])
