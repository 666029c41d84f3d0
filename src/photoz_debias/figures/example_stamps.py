"""Example stamps: colour composites of galaxies spread over redshift (Sect. 2 of Lin et al. 2022).

Reads the preprocessed stamps HDF5 (pixel divisor and Eq. 1 already applied) and draws a grid of
RGB composites (``astropy.visualization.make_lupton_rgb``), each titled with z_spec, r and id.
"""

from __future__ import annotations

import os

import h5py
import numpy as np
from astropy.visualization import make_lupton_rgb

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError
from photoz_debias.io import file_bands, read_ids

from photoz_debias.figures.style import merge_style, new_figure, style_context


def pick_galaxies(z_spec: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Indices of ``n`` galaxies spread evenly over the z_spec quantiles.

    Galaxy ``k`` is drawn at random from the ``k``-th of ``n`` equal-count redshift slices, so
    the examples cover the whole redshift range whatever its distribution.  Sorted by z_spec.
    """
    order = np.argsort(z_spec, kind="stable")
    n = min(n, len(order))
    edges = np.linspace(0, len(order), n + 1).astype(int)
    rng = np.random.default_rng(seed)
    return np.array([order[rng.integers(lo, hi)] for lo, hi in zip(edges[:-1], edges[1:])])


def composite(stamp: np.ndarray, channels: tuple[int, int, int]) -> np.ndarray:
    """An RGB image (H, W, 3) floats in [0, 1] from three channels of one stamp (C, H, W).

    The pixels are already compressed by Eq. 1; an asinh (Lupton) stretch scaled to the
    stamp's 99.5th percentile keeps both faint discs and bright cores visible.
    """
    rgb = [np.asarray(stamp[c], np.float64) for c in channels]
    peak = np.percentile(np.stack(rgb), 99.5)
    peak = peak if peak > 0 else 1.0
    img = make_lupton_rgb(*(x / peak for x in rgb), minimum=0.0, stretch=0.5, Q=6)
    return img.astype(np.float64) / 255.0


def plot_example_stamps(h5_path, out_png, out_pdf=None, n: int = 12, seed: int = 0,
                        bands_rgb=("i", "r", "g"), style: dict | None = None) -> list[str]:
    """Grid of ``n`` example colour composites spread over redshift.

    Parameters
    ----------
    h5_path : str
        Preprocessed stamps (``results/<dataset>/stamps.h5``).
    out_png, out_pdf : str
        Output files (``out_pdf`` optional); each written atomically.
    n : int
        Number of galaxies.
    seed : int
        Which galaxy of each redshift slice is shown.
    bands_rgb : (str, str, str)
        Bands mapped to red, green, blue; must be among the file's ``bands`` attribute.
    style : dict, optional
        Figure style (the config's ``figures:`` section).

    Returns
    -------
    list of str
        The written files.
    """
    style = merge_style(style)
    with h5py.File(h5_path, "r") as h5:
        if "images" not in h5:
            raise InputError("no images (catalogue-mode file)", file=str(h5_path), field="images",
                             expected="a stamps HDF5 with an images dataset")
        names = file_bands(h5)
        missing = [b for b in bands_rgb if b not in names]
        if missing:
            raise InputError(f"bands {missing} not in the file's bands {names}",
                             file=str(h5_path), field="bands", expected="bands_rgb from bands")
        channels = tuple(names.index(b) for b in bands_rgb)
        z = h5["z_spec"][:]
        idx = pick_galaxies(z, n, seed)
        take = np.sort(idx)  # h5py reads need increasing indices
        stamps = dict(zip(take, h5["images"][take]))
        r, ids = h5["r_mag"][:], read_ids(h5["id"])
    n = len(idx)
    ncol = min(n, 6 if n > 8 else 4)
    nrow = int(np.ceil(n / ncol))
    width = float(style["width"])
    with style_context(style):
        fig = new_figure(style, height=width / ncol * nrow * 1.18 + 0.3)
        axes = fig.subplots(nrow, ncol, squeeze=False)
        for ax in axes.flat:
            ax.set_axis_off()
        for ax, i in zip(axes.flat, idx):
            ax.imshow(composite(stamps[i], channels), origin="lower", interpolation="nearest")
            ax.set_title(f"$z_\\mathrm{{spec}}$={z[i]:.3f}\n$r$={r[i]:.2f}  id {ids[i]}",
                         fontsize=float(style["font_size"]) - 1.5)
        fig.suptitle(f"{''.join(bands_rgb)} composites, {n} galaxies spread over "
                     "$z_\\mathrm{spec}$")
        written = []
        for path in [p for p in (out_png, out_pdf) if p is not None]:
            path = os.fspath(path)
            with atomic_path(path) as tmp:
                fig.savefig(tmp, format=os.path.splitext(path)[1][1:] or "png", dpi=style["dpi"])
            written.append(path)
    return written
