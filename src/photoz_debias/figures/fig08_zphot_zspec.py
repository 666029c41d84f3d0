"""Fig. 8 of Lin et al. 2022 (and Fig. D.5): z_photo vs z_spec number density.

One panel per method (Baseline and Steps 1-3 by default), log colour scale shared by all
panels, the 1:1 line and the outlier boundaries (z_photo - z_spec)/(1 + z_spec) = +-eta
(0.05 for SDSS, 0.15 for CFHTLS).  Mode collapse shows as horizontal stripes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_ZPHOTO, LABEL_ZSPEC, method_label, new_figure, save_figure, style_context


def plot_zphot_zspec_panels(
    panels: dict,
    style: dict,
    out,
    outlier_threshold: float = 0.05,
    z_range: tuple[float, float] | None = None,
    n_pix: int = 150,
    ncols: int = 2,
) -> list:
    """Generic z_photo-z_spec density panels.

    Parameters
    ----------
    panels : ordered mapping title -> ``(z_spec, z_photo)`` arrays (dimensionless).
    style, out : merged figure style and output path stem.
    outlier_threshold : eta of the outlier lines |dz| = eta (Eq. 11's dz).
    z_range : plotted redshift range; default the 0.1-99.9 % range of z_spec.
    n_pix : 2-D histogram bins per axis.
    ncols : panels per row.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    if not panels:
        raise ValueError("plot_zphot_zspec_panels needs at least one panel")
    data = {t: (np.asarray(zs, float), np.asarray(zp, float)) for t, (zs, zp) in panels.items()}
    if z_range is None:
        allz = np.concatenate([d[0] for d in data.values()])
        lo, hi = np.nanquantile(allz, [0.001, 0.999])
        pad = 0.03 * (hi - lo)
        z_range = (min(0.0, lo), hi + pad)
    edges = np.linspace(z_range[0], z_range[1], n_pix + 1)
    hists = {}
    for t, (zs, zp) in data.items():
        ok = np.isfinite(zs) & np.isfinite(zp)
        hists[t] = np.histogram2d(zs[ok], zp[ok], bins=[edges, edges])[0].T
    vmax = max(max(h.max() for h in hists.values()), 1.0)
    norm = LogNorm(vmin=1.0, vmax=vmax)
    n = len(hists)
    ncols = min(ncols, n)
    nrows = int(np.ceil(n / ncols))
    panel_w = style["width"] / ncols
    with style_context(style):
        fig = new_figure(style, height=min(nrows * panel_w * 0.92, 9.5))
        axes = np.atleast_1d(fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False)).ravel()
        zz = np.linspace(*z_range, 50)
        for ax, (t, h) in zip(axes, hists.items()):
            im = ax.pcolormesh(edges, edges, np.ma.masked_less(h, 1.0), norm=norm,
                               cmap=style["colormap"], rasterized=True)
            ax.plot(zz, zz, color="k", lw=0.6)
            for s in (+1, -1):
                ax.plot(zz, zz + s * outlier_threshold * (1 + zz), color="red", ls="--", lw=0.8)
            ax.set_title(t)
            ax.set_xlim(*z_range)
            ax.set_ylim(*z_range)
            ax.set_aspect("equal")
        for ax in axes[n:]:
            ax.set_visible(False)
        for ax in axes.reshape(nrows, ncols)[:, 0]:
            ax.set_ylabel(LABEL_ZPHOTO)
        for ax in axes.reshape(nrows, ncols)[-1, :]:
            ax.set_xlabel(LABEL_ZSPEC)
        fig.colorbar(im, ax=axes[:n].tolist(), label="galaxies per pixel", shrink=0.8)
        paths = save_figure(fig, out, style)
    return paths


def plot_fig08_zphot_zspec(
    catalogue: pd.DataFrame,
    style: dict,
    out,
    methods=("baseline", "step1", "step2", "step3"),
    estimate: str = "zmode",
    outlier_threshold: float = 0.05,
    z_range: tuple[float, float] | None = None,
    n_pix: int = 150,
) -> list:
    """Fig. 8: z_photo vs z_spec density for each method of the catalogue.

    Parameters
    ----------
    catalogue : test catalogue with ``z_spec`` and ``<method>_<estimate>`` columns
        (``step4_zmode`` for Step 4, ``knn_z`` for kNN: pass the full column name's
        prefix as method and ``estimate='z'``).
    style, out : merged figure style and output path stem.
    methods, estimate : which columns to draw (all must exist).
    outlier_threshold : eta (0.05 for SDSS, 0.15 for CFHTLS).
    z_range : plotted range; default from the data.
    n_pix : 2-D histogram bins per axis (the grid's bins over the grid's range keep
        grid-valued estimates from striping).

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    cols = [f"{m}_{estimate}" for m in methods]
    require_columns(catalogue, ["z_spec", *cols], "catalogue")
    zs = catalogue["z_spec"].to_numpy(float)
    panels = {method_label(m, style): (zs, catalogue[c].to_numpy(float)) for m, c in zip(methods, cols)}
    return plot_zphot_zspec_panels(panels, style, out, outlier_threshold, z_range, n_pix)
