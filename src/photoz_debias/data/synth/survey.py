"""Synthetic SDSS-like and CFHTLS-like surveys: populations, the measured catalogue and the
survey files (the parameters are in ``parameters.py``, the raw-layout writers in ``writers.py``).

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
from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.data.synth import population as popmod
from photoz_debias.data.synth.parameters import CFHTLSLikeSurvey, SDSSLikeSurvey, survey_parameters
from photoz_debias.data.synth.writers import write_cfhtls, write_sdss_npz


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
