"""Fig. B.1 of Lin et al. 2022: zmode, zmean and zmedian compared (Appendix B).

One column per method (Baseline and Step 3 by default).  Rows: <dz> vs z_spec and <dz> vs
z_photo for the three point estimates; optionally (with the catalogue) the paper's scatter
of z_est - z_spec against z_est - zmode coloured by z_spec, which shows the "window
function" pull of zmean/zmedian towards the middle of the range; last row: sigma_MAD
(Eq. 11) and outlier fraction per estimate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.evaluate.table import check_metrics, get_curve, get_scalar
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_ZPHOTO, LABEL_ZSPEC, finish_residual_panel, method_label, new_figure, plot_curve, save_figure, style_context

ESTIMATES = ("zmode", "zmean", "zmedian")


def plot_figB1_estimates(
    metrics: pd.DataFrame,
    style: dict,
    out,
    methods=("baseline", "step3"),
    catalogue: pd.DataFrame | None = None,
    outlier_threshold: float = 0.05,
) -> list:
    """Point-estimate comparison (Fig. B.1).

    Parameters
    ----------
    metrics : tidy metrics with, per method and estimate, ``mean_residual_zspec``,
        ``mean_residual_zphoto``, ``sigma_mad`` and ``outlier_fraction``.
    style, out : merged figure style and output path stem.
    methods : one column per method.
    catalogue : optional test catalogue (``z_spec`` and ``<method>_<estimate>``) for the
        scatter row.
    outlier_threshold : eta quoted in the outlier-fraction label.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    check_metrics(metrics, need=["mean_residual_zspec", "mean_residual_zphoto", "sigma_mad",
                                 "outlier_fraction"])
    if catalogue is not None:
        require_columns(catalogue, ["z_spec"] + [f"{m}_{e}" for m in methods for e in ESTIMATES], "catalogue")
    ncol = len(methods)
    est_col = {e: style["colors"][e] for e in ESTIMATES}
    est_lab = {e: style["labels"][e] for e in ESTIMATES}
    nrow = 4 if catalogue is not None else 3
    with style_context(style):
        fig = new_figure(style, height=(1.2 if catalogue is not None else 0.95) * style["width"])
        gs = fig.add_gridspec(nrow, ncol, height_ratios=[1, 1, 0.8] if nrow == 3 else [1, 1, 1.1, 0.8])
        for j, m in enumerate(methods):
            for i, (metric, xlabel) in enumerate((("mean_residual_zspec", LABEL_ZSPEC),
                                                  ("mean_residual_zphoto", LABEL_ZPHOTO))):
                ax = fig.add_subplot(gs[i, j])
                curves = []
                for e in ESTIMATES:
                    c = get_curve(metrics, m, metric, e)
                    if c is not None:
                        curves.append(c if i == 0 else (*c[:4], np.zeros_like(c[4])))
                        # RMS bands of three estimates vs z_photo would hide the curves.
                        plot_curve(ax, c, est_col[e], est_lab[e], errors=i == 0)
                finish_residual_panel(ax, curves, xlabel, first_column=j == 0)
                if i == 0:
                    ax.set_title(method_label(m, style))
                    if j == 0:
                        ax.legend(loc="best")
            if catalogue is not None:
                ax = fig.add_subplot(gs[2, j])
                zs = catalogue["z_spec"].to_numpy(float)
                zmode = catalogue[f"{m}_zmode"].to_numpy(float)
                for e, mk in (("zmean", "o"), ("zmedian", "^")):
                    ze = catalogue[f"{m}_{e}"].to_numpy(float)
                    sc = ax.scatter(ze - zmode, ze - zs, c=zs, s=2, marker=mk, lw=0, alpha=0.6,
                                    cmap=style["colormap"], rasterized=True)
                ax.axhline(0, color="k", lw=0.5, ls="--")
                ax.axvline(0, color="k", lw=0.5, ls="--")
                ax.set_xlabel("$z_\\mathrm{est} - z_\\mathrm{mode}$")
                if j == 0:
                    ax.set_ylabel("$z_\\mathrm{est} - z_\\mathrm{spec}$\n(o mean, ^ median)")
                if j == ncol - 1:
                    fig.colorbar(sc, ax=ax, label=LABEL_ZSPEC)
        # Last row: global accuracy per estimate, grouped bars.
        sub = gs[nrow - 1, :].subgridspec(1, 2)
        for k, (metric, ylabel, scale) in enumerate((("sigma_mad", "$\\sigma_\\mathrm{MAD}$", 1.0),
                                                     ("outlier_fraction",
                                                      "outlier fraction [%]",
                                                      100.0))):
            ax = fig.add_subplot(sub[k])
            width = 0.8 / len(ESTIMATES)
            for i, e in enumerate(ESTIMATES):
                vals = [get_scalar(metrics, m, metric, e) for m in methods]
                v = np.array([x[0] for x in vals]) * scale
                err = np.array([x[1] for x in vals]) * scale
                ax.bar(np.arange(ncol) + (i - 1) * width, v, width,
                       yerr=np.where(np.isfinite(err), err, 0), color=est_col[e], label=est_lab[e])
            ax.set_xticks(np.arange(ncol), [method_label(m, style) for m in methods])
            ax.set_ylabel(ylabel)
            ax.tick_params(axis="x", which="both", top=False)
            ax.set_ylim(0, 1.3 * ax.get_ylim()[1])
            if k == 0:
                ax.legend(loc="upper center", ncol=3)
            else:
                ax.set_title(f"$|\\Delta z| > {outlier_threshold:g}$", fontsize=style["font_size"] - 1)
        paths = save_figure(fig, out, style)
    return paths
