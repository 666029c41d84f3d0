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

_GALAXY_COLS = (
    ["hlr_bulge_arcsec", "hlr_disk_arcsec", "q_disk", "q_bulge", "beta_deg"]
)


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


def _psfs(p, field: str, gsparams):
    import galsim

    fwhm, _, _ = band_noise(p, field)
    if getattr(p, "psf_kind", "moffat") == "kolmogorov":
        return [galsim.Kolmogorov(fwhm=float(f), gsparams=gsparams) for f in fwhm]
    return [galsim.Moffat(beta=p.psf_beta, fwhm=float(f), gsparams=gsparams) for f in fwhm]


def _profile(galsim, hb, hd, qb, qd, beta, gsparams):
    ang = beta * galsim.degrees
    bulge = galsim.DeVaucouleurs(half_light_radius=float(hb), gsparams=gsparams).shear(q=float(qb), beta=ang)
    disk = galsim.Exponential(half_light_radius=float(hd), gsparams=gsparams).shear(q=float(qd), beta=ang)
    return bulge, disk


def _band_fluxes(mags: np.ndarray, bts: np.ndarray, ebv: float, R: np.ndarray, zp: float):
    total = 10.0 ** (-0.4 * (mags + R * ebv - zp))
    return total * bts, total * (1.0 - bts)


def render_chunk(
    rec: pd.DataFrame, p, seed: int, *, noiseless: bool = False, neighbours: bool = True
) -> np.ndarray:
    """Render galaxies to (k, n_bands, S, S) float32 stamps in image units.

    Parameters
    ----------
    rec : DataFrame
        Population rows (see ``generate_population``).
    p : survey parameters.
    seed : int
        Survey seed; the noise of galaxy ``id`` comes from ``SeedSequence([seed, 1, id])``.
    noiseless : bool
        Skip the noise and the sub-pixel jitter (flux tests).
    neighbours : bool
        Draw the neighbours.
    """
    import galsim

    from .survey import extinction

    S = p.stamp_size
    nb = len(p.bands)
    R = extinction(p)
    gsp = galsim.GSParams(folding_threshold=p.folding_threshold, maxk_threshold=p.maxk_threshold)
    cache = {}
    out = np.zeros((len(rec), nb, S, S), dtype=np.float32)
    mags = rec[[f"mag_{b}" for b in p.bands]].to_numpy(np.float64)
    bts = rec[[f"bt_{b}" for b in p.bands]].to_numpy(np.float64)
    gal = rec[_GALAXY_COLS].to_numpy(np.float64)
    has_nb = rec["nb"].to_numpy(bool) if neighbours and "nb" in rec else np.zeros(len(rec), bool)
    for k in range(len(rec)):
        row = rec.iloc[k]
        field = str(row["field"])
        if field not in cache:
            cache[field] = (_psfs(p, field, gsp), band_noise(p, field))
        psfs, (_, sigma, gain) = cache[field]
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1, int(row["id"])]))
        jitter = (0.0, 0.0) if noiseless else tuple(rng.uniform(-p.centre_jitter_px, p.centre_jitter_px, 2))
        ebv = float(row["ebv"])
        bulge, disk = _profile(galsim, *gal[k], gsp)
        fb, fd = _band_fluxes(mags[k], bts[k], ebv, R, p.zero_point)
        if has_nb[k]:
            nmag = np.array([row[f"nb_mag_{b}"] for b in p.bands], float)
            nbt = np.array([row[f"nb_bt_{b}"] for b in p.bands], float)
            nbulge, ndisk = _profile(
                galsim,
                row["nb_hlr_bulge_arcsec"],
                row["nb_hlr_disk_arcsec"],
                row["nb_q_disk"],
                row["nb_q_bulge"],
                row["nb_beta_deg"],
                gsp,
            )
            nfb, nfd = _band_fluxes(nmag, nbt, ebv, R, p.zero_point)
            noff = (float(row["nb_dx"]), float(row["nb_dy"]))
        for j in range(nb):
            img = galsim.ImageF(S, S, scale=p.pixel_scale)
            comp = galsim.Add([bulge.withFlux(float(fb[j])), disk.withFlux(float(fd[j]))])
            galsim.Convolve(comp, psfs[j]).drawImage(image=img, offset=jitter, method="auto")
            if has_nb[k]:
                ncomp = galsim.Add([nbulge.withFlux(float(nfb[j])), ndisk.withFlux(float(nfd[j]))])
                galsim.Convolve(ncomp, psfs[j]).drawImage(image=img, offset=noff, add_to_image=True, method="auto")
            a = img.array
            if not noiseless:
                var = sigma[j] ** 2 + np.clip(a, 0.0, None) / gain[j]
                a = a + np.sqrt(var) * rng.standard_normal(a.shape)
            out[k, j] = a
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
