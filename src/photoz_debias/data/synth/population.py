"""Galaxy populations of the synthetic surveys (no images).

Galaxies are drawn with SkyPy from red and blue Schechter luminosity functions in the
rest-frame Bessell B band (the SkyPy standard model, Herbel et al. 2017), over a sky area
large enough to give the requested number after the survey's selection.  Each galaxy is a
bulge (Sersic n = 4) plus a disk (n = 1) with different kcorrect spectra (Blanton & Roweis
2007): the bulge takes Dirichlet coefficients of the red family, the disk of the blue
family, so colour varies across a galaxy.  The red and blue luminosity functions differ in
their bulge-to-total distribution.  Apparent magnitudes are computed through the survey's
speclite filters; sizes follow the Shen et al. (2003) size-luminosity relation converted to
angles with the angular-diameter distance.

All magnitudes in the returned table are AB and DEREDDENED (the catalogue convention of
Lin et al. 2022, Sect. 2); the Galactic reddening ``R_b * E(B-V)`` is applied only to the
image fluxes by :mod:`photoz_debias.data.synth.render`.

SkyPy samples from NumPy's global legacy generator, so every SkyPy call runs inside
:func:`_legacy_seed`, which seeds that generator from the survey seed and restores its
previous state: a population is a pure function of ``(parameters, n_galaxies, seed)``.
"""

from __future__ import annotations

import contextlib
import functools
import warnings

import numpy as np
import pandas as pd

BANDS = ("u", "g", "r", "i", "z")

# Fraction of the total flux inside two Petrosian radii (SDSS definition): about 80% for a
# de Vaucouleurs profile and 98% for an exponential one (Blanton et al. 2001; Strauss
# et al. 2002).  Petrosian magnitudes are therefore fainter than total (model) magnitudes
# by ~0.24 mag for bulges and ~0.02 mag for disks.
PETROSIAN_FRACTION_BULGE = 0.80
PETROSIAN_FRACTION_DISK = 0.98

# The Shen et al. (2003) relation gives the r-band half-light radius of the whole galaxy;
# bulges are more compact than disks.  These ratios keep the composite half-light radius
# close to the relation's value for any bulge fraction.
FAINTEST_MAG = 60.0

BULGE_HLR_RATIO = 0.6
DISK_HLR_RATIO = 1.1


@contextlib.contextmanager
def _legacy_seed(seed: int):
    """Seed NumPy's global legacy generator (used inside SkyPy) and restore it after."""
    state = np.random.get_state()
    np.random.seed(int(seed) % (2**32))
    try:
        yield
    finally:
        np.random.set_state(state)


@functools.lru_cache(maxsize=1)
def _kcorrect():
    from skypy.galaxies.spectrum import kcorrect

    return kcorrect


LYMAN_SERIES = ((1215.67, 0.0036), (1025.72, 0.0017), (972.54, 0.0012), (949.74, 0.00093))
LYMAN_LIMIT = 911.75


def igm_transmission(wavelength_obs: np.ndarray, z: float) -> np.ndarray:
    """Mean intergalactic transmission towards a source at redshift ``z`` (Madau 1995).

    Lyman-series forest: ``tau = sum_j A_j (lambda_obs / lambda_j)^3.46`` for
    ``lambda_obs < lambda_j (1 + z)`` (Eq. 15 and Table 2 of Madau 1995, A = 0.0036,
    0.0017, 0.0012, 0.00093); the Lyman continuum (rest wavelength < 912 A) is taken as
    opaque.  Matters only for z > ~2, where it makes the u-band dropouts.

    Parameters
    ----------
    wavelength_obs : observed wavelengths in Angstrom.
    z : source redshift.
    """
    lam = np.asarray(wavelength_obs, dtype=np.float64)
    tau = np.zeros_like(lam)
    for lj, aj in LYMAN_SERIES:
        tau += np.where(lam < lj * (1.0 + z), aj * (lam / lj) ** 3.46, 0.0)
    t = np.exp(-tau)
    return np.where(lam < LYMAN_LIMIT * (1.0 + z), 0.0, t)


def igm_transmission_grid(wavelength_rest: np.ndarray, z_grid: np.ndarray) -> np.ndarray:
    """:func:`igm_transmission` on a (n_z, n_wavelength) grid of rest wavelengths."""
    return np.stack([igm_transmission(wavelength_rest * (1.0 + z), z) for z in z_grid])


@functools.lru_cache(maxsize=16)
def template_maggies(filters: tuple, z_max: float, n_grid: int) -> tuple[np.ndarray, np.ndarray]:
    """Maggies of the five kcorrect templates (per unit template mass) on a redshift grid.

    Same convention as ``skypy.utils.photometry.mag_ab`` (and the same numbers to ~1e-3
    mag below z ~ 2): the rest-frame spectrum goes through the speclite filter
    blue-shifted by ``1 + z`` (photon-counting AB maggies) and the maggies are multiplied
    by ``1 + z`` (bandwidth compression); the distance modulus is left out.  Integrals are
    done on the template wavelength grid for all redshifts at once (SkyPy calls speclite
    per redshift, ~100x slower).  Differences to SkyPy: the
    templates are extended with zero flux below their first wavelength (600 A, needed for
    the u band beyond z ~ 4) and attenuated by the Madau (1995) IGM
    (:func:`igm_transmission`).  Computing the five templates once and combining them
    linearly per galaxy is what SkyPy does internally; caching the grid makes repeated
    populations cheap.

    Parameters
    ----------
    filters : tuple of str
        speclite filter names, e.g. ``("sdss2010-u", ...)``.
    z_max : float
        Upper end of the grid (the grid starts at z = 0).
    n_grid : int
        Number of grid redshifts.

    Returns
    -------
    z_grid : (n_grid,) ndarray
    maggies : (n_grid, 5, n_filters) ndarray
    """
    from astropy import units as u
    from speclite.filters import load_filters

    kc = _kcorrect()
    wl = kc.wavelength.to_value(u.AA)
    pad = np.linspace(100.0, wl[0], 51)[:-1]
    wl = np.concatenate([pad, wl])
    f_lambda = np.concatenate(
        [np.zeros((kc.templates.shape[0], len(pad))), kc.templates.to_value("erg s-1 cm-2 AA-1")], axis=1
    )
    # AB reference spectrum f_nu = 3631 Jy as f_lambda [erg s-1 cm-2 A-1].
    ab = 3631e-23 * 2.99792458e18 / wl**2
    z_grid = np.linspace(0.0, z_max, n_grid)
    out = np.empty((n_grid, f_lambda.shape[0], len(filters)))
    for j, f in enumerate(load_filters(*filters)):
        fw = f.wavelength
        # Response of the filter blue-shifted to the rest frame, R(lambda (1 + z)), photon
        # counting (the lambda weight), for all grid redshifts at once.
        resp = np.interp(wl[None, :] * (1.0 + z_grid[:, None]), fw, f.response, left=0.0, right=0.0)
        w = resp * wl * igm_transmission_grid(wl, z_grid)
        num = np.trapezoid(w[:, None, :] * f_lambda[None, :, :], wl, axis=-1)
        den = np.trapezoid(resp * wl * ab, wl, axis=-1)
        out[:, :, j] = num / den[:, None] * (1.0 + z_grid[:, None])
    return z_grid, out


@functools.lru_cache(maxsize=16)
def template_absolute_maggies(filter_name: str) -> np.ndarray:
    """Rest-frame maggies (at 10 pc, per unit template mass) of the five templates in one filter."""
    from skypy.utils.photometry import mag_ab

    kc = _kcorrect()
    return 10.0 ** (-0.4 * np.asarray(mag_ab(kc.wavelength, kc.templates, filter_name)))


def observed_maggies(coeff: np.ndarray, z: np.ndarray, grid: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Observed-frame maggies per unit mass of spectra ``coeff`` at redshifts ``z``.

    Linear interpolation of the template maggies on the grid, then the linear combination
    with the coefficients (maggies, not magnitudes, combine linearly).

    Returns
    -------
    (N, n_filters) ndarray, without the distance modulus.
    """
    z_grid, tm = grid
    pos = np.interp(z, z_grid, np.arange(len(z_grid)))
    i0 = np.clip(np.floor(pos).astype(np.int64), 0, len(z_grid) - 2)
    w = (pos - i0)[:, None, None]
    t = tm[i0] * (1.0 - w) + tm[i0 + 1] * w
    return np.einsum("nt,ntf->nf", coeff, t)


def dirichlet(rng: np.random.Generator, z: np.ndarray, alpha0, alpha1, weight) -> np.ndarray:
    """Dirichlet kcorrect coefficients, Eq. 3.9 of Herbel et al. (2017), as in SkyPy.

    ``alpha_i(z) = alpha0_i^(1 - z) alpha1_i^z`` (z1 = 1); gamma draws are multiplied by
    ``weight`` and normalised.  Same model as ``skypy.galaxies.spectrum.dirichlet_coefficients``
    but drawn from an explicit generator.
    """
    a0, a1, w = (np.asarray(x, dtype=np.float64) for x in (alpha0, alpha1, weight))
    alpha = a0 ** (1.0 - z[:, None]) * a1 ** z[:, None]
    c = rng.gamma(alpha) * w
    return c / c.sum(axis=1, keepdims=True)


def concentrated(dirichlet_params, concentration: float) -> tuple:
    """``(alpha0, alpha1, weight)`` with both alpha vectors times ``concentration`` (> 0,
    checked by ``survey.survey_parameters``): the Dirichlet draws keep their expected mix and
    scatter less (above 1) or more (below 1) about it."""
    a0, a1, w = dirichlet_params
    return (np.asarray(a0, float) * concentration, np.asarray(a1, float) * concentration, w)


def kumaraswamy_quantile(u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Quantile of the Kumaraswamy(a, b) distribution on [0, 1], a Beta-like law with a
    closed-form inverse: ``x = (1 - (1 - u)^(1/b))^(1/a)`` (used for bulge-to-total)."""
    return (1.0 - (1.0 - u) ** (1.0 / b)) ** (1.0 / a)


def shen_size_kpc(M_r: np.ndarray, bt: np.ndarray, p, rng: np.random.Generator) -> np.ndarray:
    """Half-light radius in kpc from the Shen et al. (2003) size-luminosity relation.

    Late types (Eqs. 15-16 of Shen et al.): ``R = 10^(-0.4 a M + (b - a) log10(1 + 10^(-0.4 (M - M0))) + g)``;
    early types (Eq. 14): ``R = 10^(-0.4 a M + b)``; log-normal scatter (Eq. 16).  Galaxies
    with bulge-to-total > 0.5 follow the early-type relation.  A ``(1 + z)^-size_evolution``
    factor is applied by the caller.
    """
    from skypy.galaxies.morphology import early_type_lognormal_size, late_type_lognormal_size

    early = bt > 0.5
    size = np.empty(len(M_r))
    seed = int(rng.integers(2**32))
    with _legacy_seed(seed):
        a, b, g, m0, s1, s2 = p.size_late
        size[~early] = late_type_lognormal_size(M_r[~early], a, b, g, m0, s1, s2).value
        a, b, m0, s1, s2 = p.size_early
        size[early] = early_type_lognormal_size(M_r[early], a, b, m0, s1, s2).value
    return size


def sample_photometric(p, field: dict, area_deg2: float, rng: np.random.Generator) -> pd.DataFrame:
    """Every galaxy of the luminosity functions brighter than the survey's limit over an area.

    Parameters
    ----------
    p : survey parameters (``SDSSLikeSurvey`` or ``CFHTLSLikeSurvey``).
    field : dict
        Field-specific settings: ``name``, ``mag_limit`` (the faintest dereddened r, or i for
        CFHTLS selection, that can enter the sample), ``z_max``.
    area_deg2 : float
        Sky area in square degrees.
    rng : numpy Generator.

    Returns
    -------
    DataFrame with z_true, pop, M_B, M_r, dereddened total AB magnitudes ``mag_<b>``, bulge
    flux fractions ``bt_<b>`` per band, sizes (arcsec), axis ratio and position angle.
    """
    from astropy import units as u
    from skypy.galaxies import schechter_lf

    cosmo = p.cosmology()
    z_max = float(field["z_max"])
    z_lf = np.linspace(1e-3, z_max, max(50, int(200 * z_max)))
    # The LF's m_lim is an apparent B magnitude without k-correction; the margin makes sure
    # no galaxy that could pass the survey's cut in its own band is lost.
    m_lim = float(field["mag_limit"]) + p.lf_mlim_margin
    pops = []
    for name, (ms, phis, alpha) in (("red", p.lf_red), ("blue", p.lf_blue)):
        seed = int(rng.integers(2**32))
        with _legacy_seed(seed), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            z, M = schechter_lf(
                z_lf,
                lambda zz, a=ms[0], b=ms[1]: a * np.minimum(zz, p.lf_mstar_z_cap) + b,
                lambda zz, a=phis[0], t=phis[1]: a * np.exp(-zz / t),
                alpha,
                m_lim,
                area_deg2 * u.deg**2,
                cosmo,
            )
        pops.append(pd.DataFrame({"z_true": np.asarray(z, float), "M_B": np.asarray(M, float), "pop": name}))
    df = pd.concat(pops, ignore_index=True)
    n = len(df)
    if n == 0:
        return df
    z = df["z_true"].to_numpy()
    red = (df["pop"] == "red").to_numpy()

    c_bulge = dirichlet(rng, z, *concentrated(p.dirichlet_bulge, p.dirichlet_concentration))
    c_disk = dirichlet(rng, z, *concentrated(p.dirichlet_disk, p.dirichlet_concentration))
    u_bt = rng.random(n)
    bt_b = np.where(red, kumaraswamy_quantile(u_bt, *p.bt_red), kumaraswamy_quantile(u_bt, *p.bt_blue))

    # Masses so that bulge + disk has the sampled rest-frame B luminosity, split bt_b : 1 - bt_b.
    tB = template_absolute_maggies("bessell-B")
    lum_b = 10.0 ** (-0.4 * df["M_B"].to_numpy())
    mass_bulge = bt_b * lum_b / (c_bulge @ tB)
    mass_disk = (1.0 - bt_b) * lum_b / (c_disk @ tB)

    grid = template_maggies(tuple(p.filters), z_max + 0.05, p.template_grid_size(z_max))
    distmod = cosmo.distmod(z).value
    scale = 10.0 ** (-0.4 * distmod)
    z_sed = z
    if p.sed_redshift_scatter > 0:  # SED diversity along the colour-redshift track
        z_sed = np.clip(z + p.sed_redshift_scatter * (1 + z) * rng.standard_normal(n), 0.0, z_max + 0.05)
    f_bulge = observed_maggies(c_bulge, z_sed, grid) * (mass_bulge * scale)[:, None]
    f_disk = observed_maggies(c_disk, z_sed, grid) * (mass_disk * scale)[:, None]
    scatter = np.asarray(p.sed_scatter_mag, dtype=np.float64)  # checked by survey_parameters
    if np.any(scatter > 0):
        factor = 10.0 ** (-0.4 * scatter * rng.standard_normal((n, len(p.bands))))
        f_bulge, f_disk = f_bulge * factor, f_disk * factor
    f_tot = f_bulge + f_disk
    # Beyond z ~ 3.5 the IGM blanks the u band: floor the flux at magnitude FAINTEST_MAG
    # (a noiseless catalogue value; the stamp shows only noise there).
    floor = 10.0 ** (-0.4 * FAINTEST_MAG)
    for k, b in enumerate(p.bands):
        ok = f_tot[:, k] > floor
        df[f"mag_{b}"] = -2.5 * np.log10(np.where(ok, f_tot[:, k], floor))
        df[f"bt_{b}"] = np.where(ok, f_bulge[:, k] / np.where(ok, f_tot[:, k], 1.0), 0.5)

    tR = template_absolute_maggies("sdss2010-r")
    df["M_r"] = -2.5 * np.log10(mass_bulge * (c_bulge @ tR) + mass_disk * (c_disk @ tR))
    bt_r = df[f"bt_{p.bands[2]}"].to_numpy()
    r_kpc = shen_size_kpc(df["M_r"].to_numpy(), bt_r, p, rng)
    r_kpc = r_kpc * ((1.0 + z) / 1.1) ** (-p.size_evolution)
    da_kpc = cosmo.angular_diameter_distance(z).to_value("kpc")
    hlr = np.degrees(r_kpc / da_kpc) * 3600.0
    hlr = np.minimum(hlr, p.max_hlr_stamp_fraction * p.stamp_size * p.pixel_scale)
    df["hlr_arcsec"] = hlr
    df["hlr_bulge_arcsec"] = BULGE_HLR_RATIO * hlr
    df["hlr_disk_arcsec"] = DISK_HLR_RATIO * hlr
    # Disk axis ratio from a beta-distributed ellipticity e = (1 - q)/(1 + q) (Kacprzak et al.
    # 2020, as in SkyPy's beta_ellipticity); bulges are rounder.
    e = rng.beta(p.ellipticity_beta[0], p.ellipticity_beta[1], size=n)
    q = np.clip((1.0 - e) / (1.0 + e), 0.1, 1.0)
    df["q_disk"] = q
    df["q_bulge"] = np.clip(np.sqrt(q), 0.5, 1.0)
    df["beta_deg"] = rng.uniform(0.0, 180.0, size=n)
    bt_r_flux = bt_r
    df["petro_offset_r"] = -2.5 * np.log10(
        bt_r_flux * PETROSIAN_FRACTION_BULGE + (1.0 - bt_r_flux) * PETROSIAN_FRACTION_DISK
    )
    return df


def petrosian_magnitudes(df: pd.DataFrame, bands=BANDS) -> dict:
    """SDSS-like Petrosian magnitudes: total magnitude + the flux missed outside two Petrosian radii.

    Uses the band's bulge fraction with the Petrosian flux fractions of a de Vaucouleurs
    (80%) and an exponential (98%) profile.
    """
    out = {}
    for b in bands:
        bt = df[f"bt_{b}"].to_numpy()
        frac = bt * PETROSIAN_FRACTION_BULGE + (1.0 - bt) * PETROSIAN_FRACTION_DISK
        out[b] = df[f"mag_{b}"].to_numpy() - 2.5 * np.log10(frac)
    return out


def draw_ebv(rng: np.random.Generator, n: int, median: float, sigma_ln: float) -> np.ndarray:
    """Galactic E(B-V) in mag: log-normal with the given median and log-width."""
    return median * np.exp(sigma_ln * rng.standard_normal(n))


def attach_neighbours(df: pd.DataFrame, pool: pd.DataFrame, p, rng: np.random.Generator) -> pd.DataFrame:
    """Give a fraction ``p.neighbour_fraction`` of the galaxies a neighbour in the stamp.

    The neighbour is another galaxy of the photometric pool (any magnitude down to the
    pool's limit), offset from the centre by ``p.neighbour_offset_px`` (min, max) pixels
    in a random direction.  It lives only in the image, not in the catalogue.
    """
    n = len(df)
    has = rng.random(n) < p.neighbour_fraction
    pick = rng.integers(0, len(pool), size=n)
    radius = rng.uniform(*p.neighbour_offset_px, size=n)
    angle = rng.uniform(0.0, 2.0 * np.pi, size=n)
    df = df.copy()
    df["nb"] = has
    df["nb_dx"] = np.where(has, radius * np.cos(angle), 0.0)
    df["nb_dy"] = np.where(has, radius * np.sin(angle), 0.0)
    cols = [f"mag_{b}" for b in p.bands] + [f"bt_{b}" for b in p.bands] + [
        "hlr_bulge_arcsec",
        "hlr_disk_arcsec",
        "q_disk",
        "q_bulge",
        "beta_deg",
    ]
    src = pool.iloc[pick][cols].reset_index(drop=True)
    for c in cols:
        vals = src[c].to_numpy()
        df[f"nb_{c}"] = np.where(has, vals, np.nan)
    return df
