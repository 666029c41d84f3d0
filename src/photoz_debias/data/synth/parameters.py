"""Parameters of the synthetic surveys: one frozen dataclass per survey kind with its defaults
(a config overrides any field), :func:`survey_parameters` to build and check them, and the
Galactic extinction coefficients per band."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from photoz_debias.errors import InputError


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
