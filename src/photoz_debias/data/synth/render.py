"""GalSim stamps of the synthetic surveys.

Each galaxy is a de Vaucouleurs bulge plus an exponential disk sharing a position angle,
with its own flux in every band (the bulge and the disk have different spectra, see
population.py), convolved with the band's PSF (Moffat for SDSS, Kolmogorov for CFHTLS) and
drawn with pixel integration on a 64x64 stamp centred on the galaxy (sub-pixel jitter).  A
neighbour, when the population gives one, is drawn at its offset.  Image fluxes carry the
Galactic reddening: ``F_b = 10^(-0.4 (m_b + R_b E(B-V) - ZP))`` with ``m_b`` the dereddened
catalogue magnitude and ZP the survey's zero-point (22.5: nanomaggies; 30 for CFHTLS).

Noise: Gaussian, variance ``sigma_sky^2 + I / g`` per pixel.  ``sigma_sky`` comes from the
band's 5-sigma point-source depth ``m_5``: ``5 sigma_sky sqrt(NEA) = 10^(-0.4 (m_5 - ZP))``
with the noise-equivalent area of a Gaussian PSF, ``NEA = 4 pi (FWHM / 2.355)^2``; the
gain ``g`` (electrons per image unit) follows from the sky level ``S`` (from the sky surface
brightness) as ``g = S / sigma_sky^2``, so bright galaxies also get their shot noise.

Every galaxy's noise comes from ``SeedSequence([seed, 1, id])``: stamps do not depend on
how galaxies are chunked over processes.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp

import numpy as np
import pandas as pd

# Order of the arguments of _component_kimages.
_GALAXY_COLS = ["hlr_bulge_arcsec", "hlr_disk_arcsec", "q_bulge", "q_disk", "beta_deg"]


def band_noise(p, field: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """PSF FWHM (arcsec), sky noise sigma (image units per pixel) and gain per band."""
    if field == "DEEP":
        fwhm, depth = np.asarray(p.psf_fwhm_deep), np.asarray(p.depth_5sigma_deep)
    elif field == "WIDE":
        fwhm, depth = np.asarray(p.psf_fwhm_wide), np.asarray(p.depth_5sigma_wide)
    else:
        fwhm, depth = np.asarray(p.psf_fwhm), np.asarray(p.depth_5sigma)
    nea_px = 4.0 * np.pi * (fwhm / 2.355 / p.pixel_scale) ** 2
    sigma = 10.0 ** (-0.4 * (depth - p.zero_point)) / (5.0 * np.sqrt(nea_px))
    sky = 10.0 ** (-0.4 * (np.asarray(p.sky_brightness) - p.zero_point)) * p.pixel_scale**2
    return fwhm, sigma, sky / sigma**2


def _psf_kimages(p, field: str, N: int) -> np.ndarray:
    """Fourier images (n_bands, N, N) of PSF x pixel on the padded grid, FFT order."""
    import galsim

    fwhm, _, _ = band_noise(p, field)
    dk = 2.0 * np.pi / (N * p.pixel_scale)
    pix = galsim.Pixel(p.pixel_scale)
    out = np.empty((len(fwhm), N, N), dtype=np.complex128)
    for j, f in enumerate(fwhm):
        if getattr(p, "psf_kind", "moffat") == "kolmogorov":
            psf = galsim.Kolmogorov(fwhm=float(f))
        else:
            psf = galsim.Moffat(beta=p.psf_beta, fwhm=float(f))
        k = galsim.Convolve(psf, pix).drawKImage(nx=N, ny=N, scale=dk).array
        out[j] = np.fft.ifftshift(k)
    return out


def _component_kimages(galsim, hb, hd, qb, qd, beta, shift_px, p, N, gsparams):
    """Fourier images of the unit-flux bulge and disk, shifted by ``shift_px`` (x, y) pixels."""
    ang = float(beta) * galsim.degrees
    dx, dy = (float(v) * p.pixel_scale for v in shift_px)
    dk = 2.0 * np.pi / (N * p.pixel_scale)
    bulge = galsim.DeVaucouleurs(half_light_radius=float(hb), gsparams=gsparams).shear(q=float(qb), beta=ang)
    disk = galsim.Exponential(half_light_radius=float(hd), gsparams=gsparams).shear(q=float(qd), beta=ang)
    kb = bulge.shift(dx, dy).drawKImage(nx=N, ny=N, scale=dk).array
    kd = disk.shift(dx, dy).drawKImage(nx=N, ny=N, scale=dk).array
    return np.fft.ifftshift(kb), np.fft.ifftshift(kd)


def _band_fluxes(mags: np.ndarray, bts: np.ndarray, ebv: float, R: np.ndarray, zp: float):
    total = 10.0 ** (-0.4 * (mags + R * ebv - zp))
    return total * bts, total * (1.0 - bts)


def render_chunk(
    rec: pd.DataFrame, p, seed: int, *, noiseless: bool = False, neighbours: bool = True
) -> np.ndarray:
    """Render galaxies to (k, n_bands, S, S) float32 stamps in image units.

    The profiles are evaluated by GalSim in Fourier space (``drawKImage``) on a grid
    ``fft_pad`` times the stamp, multiplied per band by the Fourier image of PSF x pixel
    and brought back with one batched inverse FFT: two profile evaluations per galaxy
    (bulge, disk) serve all bands, and the neighbour is added in Fourier space at its
    offset.  Pixel values are the flux per pixel (sampling of the pixel-convolved profile).
    Flux beyond the padded grid wraps around (only galaxies larger than ~1/3 of the stamp).

    Parameters
    ----------
    rec : DataFrame
        Population rows (see ``generate_population``).
    p : survey parameters.
    seed : int
        Survey seed; the noise and sub-pixel jitter of galaxy ``id`` come from
        ``SeedSequence([seed, 1, id])``.
    noiseless : bool
        Skip the noise and the sub-pixel jitter (flux tests).
    neighbours : bool
        Draw the neighbours.
    """
    import galsim

    S = p.stamp_size
    N = int(p.fft_pad * S)
    lo = N // 2 - S // 2
    nbnd = len(p.bands)
    R = np.asarray(p.resolved_extinction())
    gsp = galsim.GSParams(folding_threshold=p.folding_threshold, maxk_threshold=p.maxk_threshold)
    cache = {}
    out = np.zeros((len(rec), nbnd, S, S), dtype=np.float32)
    mags = rec[[f"mag_{b}" for b in p.bands]].to_numpy(np.float64)
    bts = rec[[f"bt_{b}" for b in p.bands]].to_numpy(np.float64)
    gal = rec[_GALAXY_COLS].to_numpy(np.float64)
    ebvs = rec["ebv"].to_numpy(np.float64)
    ids = rec["id"].to_numpy(np.int64)
    fields = rec["field"].astype(str).to_numpy()
    has_nb = rec["nb"].to_numpy(bool) if neighbours and "nb" in rec else np.zeros(len(rec), bool)
    if has_nb.any():
        nb_mags = rec[[f"nb_mag_{b}" for b in p.bands]].to_numpy(np.float64)
        nb_bts = rec[[f"nb_bt_{b}" for b in p.bands]].to_numpy(np.float64)
        nb_gal = rec[["nb_" + c for c in _GALAXY_COLS]].to_numpy(np.float64)
        nb_off = rec[["nb_dx", "nb_dy"]].to_numpy(np.float64)
    for k in range(len(rec)):
        field = fields[k]
        if field not in cache:
            cache[field] = (_psf_kimages(p, field, N), band_noise(p, field))
        kpsf, (_, sigma, gain) = cache[field]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1, int(ids[k])]))
        jitter = np.zeros(2) if noiseless else rng.uniform(-p.centre_jitter_px, p.centre_jitter_px, 2)
        # The FFT grid's origin is pixel N/2; GalSim centres a profile on an even stamp at
        # its true centre, half a pixel lower: shift by -1/2 to match that convention.
        kb, kd = _component_kimages(galsim, *gal[k], jitter - 0.5, p, N, gsp)
        fb, fd = _band_fluxes(mags[k], bts[k], ebvs[k], R, p.zero_point)
        K = fb[:, None, None] * kb + fd[:, None, None] * kd
        if has_nb[k]:
            nkb, nkd = _component_kimages(galsim, *nb_gal[k], nb_off[k] + jitter - 0.5, p, N, gsp)
            nfb, nfd = _band_fluxes(nb_mags[k], nb_bts[k], ebvs[k], R, p.zero_point)
            K += nfb[:, None, None] * nkb + nfd[:, None, None] * nkd
        img = np.fft.fftshift(np.fft.ifft2(K * kpsf, axes=(-2, -1)).real, axes=(-2, -1))[:, lo : lo + S, lo : lo + S]
        if not noiseless:
            var = sigma[:, None, None] ** 2 + np.clip(img, 0.0, None) / gain[:, None, None]
            img = img + np.sqrt(var) * rng.standard_normal(img.shape)
        out[k] = img
    return out


def _worker(args):
    rec, p, seed, channels_last = args
    cube = render_chunk(rec, p, seed)
    return np.moveaxis(cube, 1, -1) if channels_last else cube


def iter_stamps(df: pd.DataFrame, p, seed: int, *, n_jobs: int = 1, chunk_size: int = 256, channels_last: bool = False):
    """Yield rendered stamps chunk by chunk, in galaxy order.

    ``n_jobs > 1`` renders chunks in worker processes (spawned, so the caller's threads and
    libraries are not forked); the output is identical for any ``n_jobs``/``chunk_size``.
    Yields float32 arrays ``(k, C, S, S)``, or ``(k, S, S, C)`` if ``channels_last``.
    """
    tasks = (
        (df.iloc[i : i + chunk_size].reset_index(drop=True), p, seed, channels_last)
        for i in range(0, len(df), chunk_size)
    )
    if n_jobs == 1:
        for t in tasks:
            yield _worker(t)
        return
    with cf.ProcessPoolExecutor(max_workers=n_jobs, mp_context=mp.get_context("spawn")) as ex:
        # map() keeps order; it submits everything up front, which is fine: tasks are views
        # of the population table and results are consumed (and written) as they arrive.
        yield from ex.map(_worker, tasks)
