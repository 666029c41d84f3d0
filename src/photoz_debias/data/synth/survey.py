"""Synthetic SDSS-like and CFHTLS-like surveys: parameters, selection, raw-layout writers.

Two survey kinds, each with its defaults in a dataclass (a config overrides fields by name):

* ``sdss_like`` (:class:`SDSSLikeSurvey`): ugriz, 64x64 px at 0.396"/px, images in
  nanomaggies (zero-point 22.5), the SDSS Main Galaxy Sample selection (dereddened
  Petrosian r < 17.77), z < 0.4 (Lin et al. 2022, Sect. 2.1).  Written in layout (a), the
  Pasquet et al. (2019) release: one ``sdss.npz`` with ``cube`` (N, 64, 64, 5) and ``labels``.
* ``cfhtls_like`` (:class:`CFHTLSLikeSurvey`): ugriz (CFHT MegaCam filters from speclite),
  64x64 px at 0.187"/px, flux units with zero-point 30, DEEP (r ~ 25.6) and WIDE (r ~ 25.0)
  fields, 16 < r < 25.5, z < 4, HQ and LR (prism/grism-like) spec-z (Sect. 2.2).  Written in
  layout (c): ``stamps.npy`` (N, 5, 64, 64) and ``catalogue.parquet``.

The spectroscopic selections make the training n(z) strongly imbalanced, as in the paper:
the SDSS-like n(z) peaks near z = 0.1 with a thin tail to 0.4; the CFHTLS-WIDE spec-z sample
is i-limited (VIPERS/PRIMUS-like, i < 22.5) with a z > 0.5 colour pre-selection boost and
peaks at z ~ 0.6-0.8; the DEEP sample goes fainter (VVDS-Deep-like, i < 24) with a
VUDS-like high-z (z > 2) component.
"""

from __future__ import annotations

import dataclasses
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError
from photoz_debias.data.synth import population as popmod

# --------------------------------------------------------------------------------------
# Parameters


@dataclass(frozen=True)
class _SurveyBase:
    """Parameters shared by both survey kinds (see the subclasses for the defaults' sources).

    Magnitudes are AB; sizes in arcsec unless the name says px; E(B-V) in mag.
    """

    bands: tuple = ("u", "g", "r", "i", "z")
    stamp_size: int = 64
    # Cosmology for distances (flat LCDM).
    H0: float = 70.0
    Om0: float = 0.3
    # Red / blue Schechter LFs in rest-frame Bessell B (SkyPy standard model, Herbel et al.
    # 2017): M*(z) = a z + b; phi*(z) = A exp(-z / tau) [Mpc^-3]; alpha.
    lf_red: tuple = ((-0.70798041, -20.37196157), (0.0035097, 1.41649), -0.5)
    lf_blue: tuple = ((-0.9408582, -20.40492365), (0.00370253, 9.73858), -1.3)
    # Dirichlet (alpha0, alpha1, weight) of the kcorrect coefficients (Herbel et al. 2017,
    # SkyPy's standard values): bulges take the red family, disks the blue family.
    dirichlet_bulge: tuple = (
        (2.461, 2.358, 2.568, 2.268, 2.402),
        (2.410, 2.340, 2.200, 2.540, 2.464),
        (3.84e09, 1.57e06, 3.91e08, 4.66e10, 3.03e07),
    )
    dirichlet_disk: tuple = (
        (2.079, 3.524, 1.917, 1.992, 2.536),
        (2.265, 3.862, 1.921, 1.685, 2.480),
        (3.47e09, 3.31e06, 2.13e09, 1.64e10, 1.01e09),
    )
    # Scales both Dirichlet alpha vectors: above 1 the template mixes scatter less around
    # their mean, so every colour at fixed redshift narrows (1 = SkyPy's model).
    dirichlet_concentration: float = 1.0
    # Per-band scatter (mag, Gaussian) of each galaxy's SED about its template mix, the same
    # factor for bulge and disk: the five kcorrect templates under-produce the spread of the
    # UV and blue colours of real galaxies at fixed redshift (README, "What makes Step 3
    # overshoot").  Zeros = the template mixes alone; no draw is made then.
    sed_scatter_mag: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)
    # Scatter of the redshift at which a galaxy's observed-frame colours are computed, in
    # units of (1 + z) (distances keep the true z): SED diversity that moves galaxies along
    # the colour-redshift track, the direction a photometric redshift cannot tell from z.
    # Five-template mixes alone let a kNN on noiseless magnitudes reach sigma_MAD ~ 0.001.
    sed_redshift_scatter: float = 0.0
    # Bulge-to-total (rest-frame B light) ~ Kumaraswamy(a, b) for the red and the blue LF.
    bt_red: tuple = (4.0, 2.0)
    bt_blue: tuple = (1.2, 6.0)
    # M*(z) stops brightening beyond this redshift: the linear evolution of the SkyPy model
    # is fitted at z < ~1.5 and, extrapolated, gives far too many bright z > 2 galaxies.
    lf_mstar_z_cap: float = 1.2
    # Shen et al. (2003) size-luminosity relations with M = rest-frame r absolute magnitude:
    # late (alpha, beta, gamma, M0, sigma1, sigma2), early (a, b, M0, sigma1, sigma2).
    size_late: tuple = (0.21, 0.53, -1.31, -20.52, 0.48, 0.25)
    size_early: tuple = (0.60, -4.63, -20.52, 0.48, 0.25)
    # Sizes shrink as ((1 + z) / 1.1)^-size_evolution at fixed luminosity (van der Wel et
    # al. 2014 find exponents ~0.75 for late types).
    size_evolution: float = 0.75
    # Beta(a, b) distribution of the disk ellipticity e = (1 - q) / (1 + q).
    ellipticity_beta: tuple = (1.6, 2.0)
    # Galactic reddening: log-normal E(B-V) with this median (mag) and log-width.
    ebv_median: float = 0.03
    ebv_sigma_ln: float = 0.6
    # Neighbours: fraction of stamps with another galaxy, offset range in pixels.
    neighbour_fraction: float = 0.15
    neighbour_offset_px: tuple = (8.0, 28.0)
    # Sub-pixel centring jitter (px, uniform +-) of the central galaxy.
    centre_jitter_px: float = 0.5
    # Sampling: apparent-magnitude margin of the LF sampling over the survey cut, the first
    # guess of the selected density (per deg^2) and the area safety factor.
    lf_mlim_margin: float = 2.0
    density_guess_deg2: float = 90.0
    area_margin: float = 1.3
    # PSF Moffat beta (per survey) used by render.py.
    psf_beta: float = 3.0
    # Rendering: Fourier grid = fft_pad x stamp; GalSim accuracy (larger = faster).
    fft_pad: int = 2
    folding_threshold: float = 1e-2
    maxk_threshold: float = 3e-3
    # Half-light radii are capped at this fraction of the stamp width so the Fourier grid
    # holds the galaxy (affects only the largest nearby galaxies).
    max_hlr_stamp_fraction: float = 0.3

    def cosmology(self):
        from astropy.cosmology import FlatLambdaCDM

        return FlatLambdaCDM(H0=self.H0, Om0=self.Om0)

    def template_grid_size(self, z_max: float) -> int:
        return int(120 + 60 * z_max)


@dataclass(frozen=True)
class SDSSLikeSurvey(_SurveyBase):
    """SDSS-like survey (Lin et al. 2022, Sect. 2.1; Pasquet et al. 2019).

    Defaults: SDSS ugriz filters (speclite ``sdss2010``), 0.396 arcsec/px, nanomaggies
    (zero-point 22.5), median PSF FWHM per band (arcsec), 5-sigma point-source depths of
    the SDSS imaging (DR docs), sky brightness per band (mag/arcsec^2), extinction
    coefficients R_b = A_b / E(B-V) of Schlafly & Finkbeiner (2011).  Selection: dereddened
    Petrosian r < ``r_max`` = 17.77 (MGS) and z < ``z_max`` = 0.4.  Spec-z errors are
    negligible in SDSS (~3e-5): ``z_sigma`` = 0 keeps z = z_true.
    """

    filters: tuple = ("sdss2010-u", "sdss2010-g", "sdss2010-r", "sdss2010-i", "sdss2010-z")
    lf_red: tuple = ((-0.70798041, -20.2682), (0.00430081, 1.41649), -0.5)
    lf_blue: tuple = ((-0.9408582, -19.9012), (0.00370253, 9.73858), -1.3)
    # Kcorrect Dirichlet weights, bulge-to-total laws, red phi* and both M* recalibrated
    # on the real SDSS MGS (realism.py; Nelder-Mead on the median colours in six z bins,
    # the median z and the median r): valid for z < 0.4 only, so the CFHTLS-like survey
    # keeps SkyPy's standard values.
    dirichlet_bulge: tuple = (
        (2.461, 2.358, 2.568, 2.268, 2.402),
        (2.410, 2.340, 2.200, 2.540, 2.464),
        (5.004e+10, 3892, 9.692e+05, 2.422e+11, 8.189e+04),
    )
    dirichlet_disk: tuple = (
        (2.079, 3.524, 1.917, 1.992, 2.536),
        (2.265, 3.862, 1.921, 1.685, 2.480),
        (1.756e+10, 2.404e+04, 8.593e+11, 3.172e+10, 1.667e+07),
    )
    # Bulge-to-total (rest-frame B light) ~ Kumaraswamy(a, b) for the red and the blue LF.
    bt_red: tuple = (6.727, 0.712)
    bt_blue: tuple = (1.051, 5.286)
    pixel_scale: float = 0.396
    zero_point: float = 22.5
    psf_fwhm: tuple = (1.53, 1.44, 1.32, 1.26, 1.29)
    depth_5sigma: tuple = (22.15, 23.13, 22.70, 22.20, 20.71)
    # catalogue photometry of galaxies is this much shallower than the point-source depth
    # (calibrated: gives the MGS median magnitude errors, ~0.05 in u, ~0.006 in r)
    catalogue_depth_penalty: float = 1.5
    sky_brightness: tuple = (22.1, 21.8, 20.9, 20.2, 18.9)
    extinction_coeffs: tuple = (4.239, 3.303, 2.285, 1.698, 1.263)
    r_max: float = 17.77
    r_min: float = 10.0
    z_max: float = 0.4
    z_sigma: float = 0.0

    def resolved_extinction(self) -> tuple:
        return tuple(self.extinction_coeffs)


@dataclass(frozen=True)
class CFHTLSLikeSurvey(_SurveyBase):
    """CFHTLS-like survey (Lin et al. 2022, Sect. 2.2; Hudelot et al. 2012).

    Defaults: CFHT MegaCam ugriz filters (speclite ``cfht_megacam``), 0.187 arcsec/px, flux
    with zero-point 30 (the workflow divides pixels by 1000), DEEP and WIDE depths (5-sigma
    point source, T0007-like, r = 25.6 / 25.0 as in the paper), PSF FWHM 0.7-0.9 arcsec,
    Kolmogorov PSF.  Extinction coefficients: interpolated in log wavelength from the SDSS
    values of Schlafly & Finkbeiner (2011) at the MegaCam effective wavelengths.

    Spectroscopic selection per field: probability ``logistic((i_lim - i) / softness)``
    times a redshift weight; WIDE: ``w(z) = wide_lowz_weight`` below z = 0.5 rising to 1
    above (VIPERS-like colour pre-selection); DEEP: i-limited plus a VUDS-like component at
    z > 2 with its own, fainter limit.  Quality: a galaxy with i < ``lr_i_max`` is LR
    (PRIMUS/3D-HST-like) with probability ``lr_fraction`` (per field: DEEP, WIDE), with errors
    ``lr_sigma (1 + z)`` and a fraction ``lr_catastrophic`` of failures; HQ labels have
    ``hq_sigma (1 + z)`` errors and ``hq_catastrophic`` failures (3 <= zFlag <= 4 is ~99%
    secure).  A failure moves z by ``(1 + z) * U(0.15, 0.6)`` in a random direction.
    """

    filters: tuple = (
        "cfht_megacam-u",
        "cfht_megacam-g",
        "cfht_megacam-r",
        "cfht_megacam-i",
        "cfht_megacam-z",
    )
    pixel_scale: float = 0.187
    zero_point: float = 30.0
    psf_fwhm_deep: tuple = (0.88, 0.82, 0.76, 0.72, 0.72)
    psf_fwhm_wide: tuple = (0.85, 0.78, 0.71, 0.64, 0.68)
    depth_5sigma_deep: tuple = (26.3, 26.0, 25.6, 25.4, 25.0)
    depth_5sigma_wide: tuple = (25.3, 25.5, 25.0, 24.8, 23.9)
    catalogue_depth_penalty: float = 1.0  # extended-source photometry vs point-source depth
    sky_brightness: tuple = (22.7, 22.0, 21.2, 20.3, 19.2)
    extinction_coeffs: tuple | None = None
    psf_kind: str = "kolmogorov"
    deep_fraction: float = 0.2
    r_min: float = 16.0
    r_max: float = 25.5
    z_max: float = 4.0
    wide_i_lim: float = 22.5
    deep_i_lim: float = 24.0
    deep_highz_i_lim: float = 25.0
    deep_highz_weight: float = 0.15
    wide_lowz_weight: float = 0.35
    spec_softness: float = 0.15
    lr_fraction: tuple = (0.3, 0.25)
    lr_i_max: float = 23.0
    lr_sigma: float = 0.005
    lr_catastrophic: float = 0.03
    hq_sigma: float = 0.0005
    hq_catastrophic: float = 0.005
    ebv_median: float = 0.025
    ebv_sigma_ln: float = 0.4
    lf_mlim_margin: float = 2.5
    density_guess_deg2: tuple = (60000.0, 12000.0)
    psf_beta: float = 3.0

    def resolved_extinction(self) -> tuple:
        if self.extinction_coeffs is not None:
            return tuple(self.extinction_coeffs)
        return megacam_extinction_coeffs(self.filters)


SURVEYS = {"sdss_like": SDSSLikeSurvey, "cfhtls_like": CFHTLSLikeSurvey}


def megacam_extinction_coeffs(filters) -> tuple:
    """R_b for arbitrary filters: the SDSS Schlafly & Finkbeiner (2011) R_b interpolated in
    log effective wavelength (good to a few per cent across the optical)."""
    from speclite.filters import load_filters

    sdss = load_filters(*SDSSLikeSurvey.filters)
    lam_sdss = np.log([f.effective_wavelength.value for f in sdss])
    r_sdss = np.array(SDSSLikeSurvey.extinction_coeffs)
    lam = np.log([f.effective_wavelength.value for f in load_filters(*filters)])
    return tuple(float(x) for x in np.interp(lam, lam_sdss, r_sdss))


def survey_parameters(kind: str, **survey_params):
    """The survey's dataclass with ``survey_params`` overriding fields by name.

    Raises
    ------
    InputError
        Unknown survey kind or parameter name.
    """
    if kind not in SURVEYS:
        raise InputError(f"unknown survey kind {kind!r}", field="kind", expected=" or ".join(SURVEYS))
    cls = SURVEYS[kind]
    names = {f.name for f in dataclasses.fields(cls)}
    for k in survey_params:
        if k not in names:
            raise InputError(
                f"unknown {kind} survey parameter {k!r}", field=k, expected=f"one of {sorted(names)}"
            )
    fixed = {k: tuple(map(_tuplify, v)) if isinstance(v, list) else v for k, v in survey_params.items()}
    params = cls(**fixed)
    _check_sed_diversity(params)
    return params


def _check_sed_diversity(p) -> None:
    """Stop on a bad SED-diversity parameter before any galaxy is drawn (README, "The
    survey's photometric scatter")."""
    scatter = np.asarray(p.sed_scatter_mag, dtype=np.float64)
    if scatter.shape != (len(p.bands),) or not np.all(scatter >= 0):
        raise InputError(f"sed_scatter_mag = {tuple(scatter.ravel())}", field="sed_scatter_mag",
                         expected=f"{len(p.bands)} non-negative magnitudes, one per band ({''.join(p.bands)})")
    if not p.dirichlet_concentration > 0:
        raise InputError(f"dirichlet_concentration = {p.dirichlet_concentration}",
                         field="dirichlet_concentration", expected="a positive number")
    if not p.sed_redshift_scatter >= 0:
        raise InputError(f"sed_redshift_scatter = {p.sed_redshift_scatter}", field="sed_redshift_scatter",
                         expected="a non-negative scatter in units of (1 + z)")


def _tuplify(v):
    return tuple(map(_tuplify, v)) if isinstance(v, list) else v


def extinction(p) -> np.ndarray:
    """R_b per band of a survey's parameters."""
    return np.asarray(p.resolved_extinction())


# --------------------------------------------------------------------------------------
# Populations


def _logistic(x):
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _sample_until(n: int, p, field: dict, rng: np.random.Generator, select) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample the LFs over growing areas until ``select`` keeps at least ``n`` galaxies.

    Returns the selected galaxies subsampled to exactly ``n`` (random, order kept) and the
    full photometric pool (for neighbours).
    """
    guess = field.get("density_guess", p.density_guess_deg2)
    area = p.area_margin * n / guess
    for _ in range(12):
        pool = popmod.sample_photometric(p, field, area, rng)
        keep = select(pool, rng) if len(pool) else np.zeros(0, bool)
        n_sel = int(keep.sum())
        if n_sel >= n:
            idx = np.flatnonzero(keep)
            idx = np.sort(rng.choice(idx, size=n, replace=False))
            return pool.iloc[idx].reset_index(drop=True), pool
        area *= p.area_margin * n / max(n_sel, 1) if n_sel > 0 else 10.0
    raise InputError(
        f"could not draw {n} galaxies in field {field['name']} (last area {area:.3g} deg^2)",
        expected="survey parameters that select galaxies",
    )


def _sdss_population(p: SDSSLikeSurvey, n: int, rng: np.random.Generator) -> pd.DataFrame:
    def select(pool, _rng):
        petro_r = pool["mag_r"].to_numpy() + pool["petro_offset_r"].to_numpy()
        return (petro_r < p.r_max) & (petro_r > p.r_min) & (pool["z_true"].to_numpy() < p.z_max)

    field = {"name": "SDSS", "mag_limit": p.r_max, "z_max": p.z_max + 0.02}
    df, pool = _sample_until(n, p, field, rng, select)
    petro = popmod.petrosian_magnitudes(df, p.bands)
    for b in p.bands:
        df[f"petro_{b}"] = petro[b]
    df["field"] = "SDSS"
    df["quality"] = "HQ"
    df["z_spec"] = df["z_true"] + p.z_sigma * (1 + df["z_true"]) * rng.standard_normal(n)
    df["ebv"] = popmod.draw_ebv(rng, n, p.ebv_median, p.ebv_sigma_ln)
    visible = pool[pool["mag_r"] < p.r_max + 3.0].reset_index(drop=True)
    return popmod.attach_neighbours(df, visible, p, rng)


def _cfhtls_field(p: CFHTLSLikeSurvey, name: str, n: int, rng: np.random.Generator) -> pd.DataFrame:
    deep = name == "DEEP"
    i_lim = p.deep_i_lim if deep else p.wide_i_lim
    faintest = max(i_lim, p.deep_highz_i_lim) if deep else i_lim

    def select(pool, rng_):
        i = pool["mag_i"].to_numpy()
        r = pool["mag_r"].to_numpy()
        z = pool["z_true"].to_numpy()
        s = p.spec_softness
        if deep:
            prob = _logistic((i_lim - i) / s) + p.deep_highz_weight * _logistic((z - 2.0) / 0.1) * _logistic(
                (p.deep_highz_i_lim - i) / s
            )
        else:
            wz = p.wide_lowz_weight + (1.0 - p.wide_lowz_weight) * _logistic((z - 0.5) / 0.05)
            prob = _logistic((i_lim - i) / s) * wz
        ok = (r > p.r_min) & (r < p.r_max) & (z < p.z_max)
        return ok & (rng_.random(len(pool)) < np.clip(prob, 0.0, 1.0))

    # The LF margin is applied on top of the faintest i that can be selected.
    field = {
        "name": name,
        "mag_limit": faintest + 6 * p.spec_softness,
        "z_max": p.z_max + 0.05,
        "density_guess": p.density_guess_deg2[0 if deep else 1],
    }
    df, pool = _sample_until(n, p, field, rng, select)
    df["field"] = name
    z = df["z_true"].to_numpy()
    lr_frac = p.lr_fraction[0] if deep else p.lr_fraction[1]
    lr = (df["mag_i"].to_numpy() < p.lr_i_max) & (rng.random(n) < lr_frac)
    sigma = np.where(lr, p.lr_sigma, p.hq_sigma)
    cat_rate = np.where(lr, p.lr_catastrophic, p.hq_catastrophic)
    z_spec = z + sigma * (1.0 + z) * rng.standard_normal(n)
    cat = rng.random(n) < cat_rate
    jump = (1.0 + z) * rng.uniform(0.15, 0.6, size=n) * rng.choice([-1.0, 1.0], size=n)
    z_spec = np.where(cat, np.abs(z + jump), z_spec)
    df["z_spec"] = np.clip(z_spec, 1e-4, None)
    df["quality"] = np.where(lr, "LR", "HQ")
    df["ebv"] = popmod.draw_ebv(rng, n, p.ebv_median, p.ebv_sigma_ln)
    visible = pool[pool["mag_r"] < p.r_max + 1.0].reset_index(drop=True)
    return popmod.attach_neighbours(df, visible, p, rng)


def population_for(p, n_galaxies: int, seed: int) -> pd.DataFrame:
    """The catalogue-level population of a survey (parameters already resolved)."""
    if not isinstance(n_galaxies, (int, np.integer)) or n_galaxies < 1:
        raise InputError(f"n_galaxies = {n_galaxies!r}", field="n_galaxies", expected="a positive integer")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 7919]))
    if isinstance(p, SDSSLikeSurvey):
        df = _sdss_population(p, int(n_galaxies), rng)
    else:
        n_deep = int(round(p.deep_fraction * n_galaxies))
        parts = []
        for name, n in (("DEEP", n_deep), ("WIDE", n_galaxies - n_deep)):
            if n > 0:
                parts.append(_cfhtls_field(p, name, n, rng))
        df = pd.concat(parts, ignore_index=True)
        # Fields interleaved at random so any prefix of the survey holds both.
        df = df.iloc[rng.permutation(len(df))].reset_index(drop=True)
    df.insert(0, "id", np.arange(len(df), dtype=np.int64))
    df["ebv"] = df["ebv"].astype(np.float32)
    return df


def measured_catalogue(df: pd.DataFrame, p, seed: int) -> pd.DataFrame:
    """The catalogue's magnitudes as a survey measures them: each band's flux gets a
    Gaussian error of one fifth of the flux at the field's 5-sigma depth made shallower by
    ``catalogue_depth_penalty`` mag for extended sources (sky-limited photometry), so faint galaxies carry realistic magnitude errors; a measured flux <= 0 is a
    non-detection (magnitude 99).  Writes ``magerr_<band>``.  Seeded by ``seed`` only."""
    out = df.copy()
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 2024]))
    if isinstance(p, SDSSLikeSurvey):
        depth = np.broadcast_to(np.asarray(p.depth_5sigma, float), (len(df), len(p.bands)))
    else:
        deep = (df["field"] == "DEEP").to_numpy()[:, None]
        depth = np.where(deep, np.asarray(p.depth_5sigma_deep, float), np.asarray(p.depth_5sigma_wide, float))
    cols = [("petro_" if f"petro_{b}" in df else "mag_") + b for b in p.bands]
    for k, b in enumerate(p.bands):
        # an ordered list, not a set: a set of strings iterates in an order that depends on
        # the process's hash seed, which changed which column got which noise draw per run
        for col in dict.fromkeys([f"mag_{b}", cols[k]]):
            if col not in df:
                continue
            m = df[col].to_numpy(np.float64)
            flux = 10.0 ** (-0.4 * m)
            sigma = 10.0 ** (-0.4 * (depth[:, k] - p.catalogue_depth_penalty)) / 5.0
            meas = flux + sigma * rng.standard_normal(len(df))
            ok = meas > 0
            out[col] = np.where(ok, -2.5 * np.log10(np.where(ok, meas, 1.0)), 99.0)
            if col == f"mag_{b}":
                out[f"magerr_{b}"] = np.where(ok, 1.0857 * sigma / np.where(ok, meas, 1.0), np.nan)
    return out


def generate_population(kind: str, n_galaxies: int, seed: int, **survey_params) -> pd.DataFrame:
    """Draw a synthetic survey's galaxies without rendering images.

    Parameters
    ----------
    kind : {'sdss_like', 'cfhtls_like'}
    n_galaxies : int
        Number of galaxies after the spectroscopic selection.
    seed : int
        Same seed -> identical population.
    **survey_params
        Overrides of :class:`SDSSLikeSurvey` / :class:`CFHTLSLikeSurvey` fields.

    Returns
    -------
    pandas.DataFrame, one row per galaxy: ``id``, ``field``, ``quality``, ``z_true``,
    ``z_spec``, ``pop`` (red/blue LF), ``M_B``, ``M_r`` (rest-frame absolute, AB),
    ``mag_u..mag_z`` (dereddened total AB), ``petro_u..petro_z`` (SDSS only, dereddened),
    ``bt_u..bt_z`` (bulge flux fraction per band), ``hlr_arcsec``, ``hlr_bulge_arcsec``,
    ``hlr_disk_arcsec``, ``q_disk``, ``q_bulge``, ``beta_deg`` (deg), ``ebv`` (mag), and
    neighbour columns ``nb``, ``nb_dx``, ``nb_dy`` (px), ``nb_*``.
    """
    p = survey_parameters(kind, **survey_params)
    return population_for(p, n_galaxies, seed)


# --------------------------------------------------------------------------------------
# Writers (atomic: photoz_debias.atomic.atomic_path)


def sdss_labels(df: pd.DataFrame) -> np.ndarray:
    """The ``labels`` record array of layout (a)."""
    fields = [("id", np.int64), ("z", np.float64), ("EBV", np.float32), ("dered_petro_r", np.float32)]
    fields += [(f"dered_petro_{b}", np.float32) for b in "ugiz"] + [("z_true", np.float64)]
    lab = np.zeros(len(df), dtype=fields)
    lab["id"] = df["id"].to_numpy()
    lab["z"] = df["z_spec"].to_numpy()
    lab["EBV"] = df["ebv"].to_numpy()
    for b in "ugriz":
        lab[f"dered_petro_{b}"] = df[f"petro_{b}"].to_numpy()
    lab["z_true"] = df["z_true"].to_numpy()
    return lab


def write_sdss_npz(path, df: pd.DataFrame, chunks, n: int, stamp: int = 64) -> None:
    """Write layout (a) ``sdss.npz`` (uncompressed, as ``np.savez``) streaming the cube.

    ``chunks`` yields float32 arrays (k, 64, 64, 5) in galaxy order; the cube is never held
    in memory whole.
    """
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            with zf.open("cube.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array_header_2_0(
                    fh, {"descr": "<f4", "fortran_order": False, "shape": (n, stamp, stamp, 5)}
                )
                written = 0
                for c in chunks:
                    fh.write(np.ascontiguousarray(c, dtype="<f4").tobytes())
                    written += len(c)
            if written != n:
                raise RuntimeError(f"cube has {written} galaxies, expected {n}")
            with zf.open("labels.npy", "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, sdss_labels(df), allow_pickle=False)


def _with_sentinel(mags: np.ndarray) -> np.ndarray:
    return np.where(mags >= popmod.FAINTEST_MAG - 1e-3, np.float32(99.0), mags)


def write_cfhtls(stamps_path, catalogue_path, df: pd.DataFrame, chunks, n: int, stamp: int = 64) -> None:
    """Write layout (c): ``stamps.npy`` (N, 5, 64, 64) float32 and ``catalogue.parquet``."""
    stamps_path, catalogue_path = Path(stamps_path), Path(catalogue_path)
    with atomic_path(stamps_path) as tmp:
        mm = np.lib.format.open_memmap(tmp, mode="w+", dtype="<f4", shape=(n, 5, stamp, stamp))
        i = 0
        for c in chunks:
            mm[i : i + len(c)] = c
            i += len(c)
        if i != n:
            raise RuntimeError(f"stamps has {i} galaxies, expected {n}")
        mm.flush()
        del mm
    cat = pd.DataFrame(
        {
            "id": df["id"].to_numpy(np.int64),
            "z_spec": df["z_spec"].to_numpy(np.float64),
            "r_mag": df["mag_r"].to_numpy(np.float32),
            "ebv": df["ebv"].to_numpy(np.float32),
            "field": df["field"].astype(str).to_numpy(),
            "quality": df["quality"].astype(str).to_numpy(),
            # IGM drop-outs (flux floored at FAINTEST_MAG) are written as the usual
            # non-detection sentinel 99, as survey catalogues do
            **{f"mag_{b}": _with_sentinel(df[f"mag_{b}"].to_numpy(np.float32)) for b in "ugriz"},
            "z_true": df["z_true"].to_numpy(np.float64),
        }
    )
    with atomic_path(catalogue_path) as tmp:
        cat.to_parquet(tmp, index=False)


def generate_survey(kind: str, out_dir, *, n_galaxies: int, seed: int, n_jobs: int = 1, chunk_size: int = 256, **survey_params) -> dict:
    """Generate a synthetic survey and write it in its raw layout.

    Parameters
    ----------
    kind : {'sdss_like', 'cfhtls_like'}
    out_dir : path
        Created if missing.  ``sdss_like`` writes ``sdss.npz`` (layout a); ``cfhtls_like``
        writes ``stamps.npy`` and ``catalogue.parquet`` (layout c).
    n_galaxies : int
    seed : int
        The population and every stamp's noise derive from it; the output does not depend
        on ``n_jobs`` or ``chunk_size``.
    n_jobs : int
        Rendering processes.
    chunk_size : int
        Galaxies per rendering task (memory ~ chunk_size * 80 kB).
    **survey_params
        Overrides of the survey dataclass fields (unknown names raise InputError).

    Returns
    -------
    dict with ``paths`` (name -> str), ``n_galaxies``, ``counts`` (per field and quality)
    and ``params`` (the resolved dataclass as a dict).
    """
    from photoz_debias.data.synth import render

    p = survey_parameters(kind, **survey_params)
    if not isinstance(n_jobs, (int, np.integer)) or n_jobs < 1:
        raise InputError(f"n_jobs = {n_jobs!r}", field="n_jobs", expected="a positive integer")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    df = population_for(p, n_galaxies, seed)
    n = len(df)
    channels_last = kind == "sdss_like"
    chunks = render.iter_stamps(df, p, seed, n_jobs=n_jobs, chunk_size=chunk_size, channels_last=channels_last)
    # images are rendered from the true fluxes; the catalogue carries measured magnitudes
    df = measured_catalogue(df, p, seed)
    if kind == "sdss_like":
        paths = {"npz": out / "sdss.npz"}
        write_sdss_npz(paths["npz"], df, chunks, n, p.stamp_size)
    else:
        paths = {"stamps": out / "stamps.npy", "catalogue": out / "catalogue.parquet"}
        write_cfhtls(paths["stamps"], paths["catalogue"], df, chunks, n, p.stamp_size)
    counts = df.groupby(["field", "quality"]).size()
    return {
        "paths": {k: str(v) for k, v in paths.items()},
        "n_galaxies": n,
        "counts": {f"{f}/{q}": int(c) for (f, q), c in counts.items()},
        "params": dataclasses.asdict(p),
    }
