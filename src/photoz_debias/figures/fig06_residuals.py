"""Figs. 6 (SDSS) and 7 (CFHTLS-WIDE) of Lin et al. 2022: z_spec-dependent residuals and
mode collapse for the Baseline and Steps 1-3.

Upper: mean residual <dz> vs z_spec (weighted, errors from Eq. 6) with the Eq. 9 piecewise
linear fits dashed; the variants Step 3\\2, 3a and 3b as faint lines.  Middle: the z_photo
sample distributions against the z_spec one (spikes = mode collapse).  Lower left:
sigma_MAD (Eq. 11) vs r.  Lower right: D_TV (Eq. 10) vs the high-z slope C of Eq. 9, with
the simulated collapse-free floor (mean +- 1 sigma) shaded.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.evaluate.table import check_metrics, get_curve, get_scalar, present_methods
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_DZ, LABEL_R, LABEL_ZSPEC, curve_range, method_color, method_label, new_figure, plot_curve, robust_ylim, save_figure, style_context, zero_line

MAIN = ("baseline", "step1", "step2", "step3")
VARIANTS = ("step3_no_step2", "step3a", "step3b")


def plot_fig06_residuals(
    metrics: pd.DataFrame,
    catalogue: pd.DataFrame,
    z_break: float,
    style: dict,
    out,
    z_edges: np.ndarray | None = None,
    methods=MAIN,
    variants=VARIANTS,
    estimate: str = "zmode",
    title: str | None = None,
) -> list:
    """The four-panel residual figure (Figs. 6 and 7).

    Parameters
    ----------
    metrics : tidy metrics of one part (``mean_residual_zspec``, ``slope_low``,
        ``intercept_low``, ``slope_high``, ``intercept_high``, ``sigma_mad_rmag``,
        ``total_variation``, ``tv_floor``).
    catalogue : the part's test catalogue: ``z_spec`` and ``<method>_<estimate>``.
    z_break : Eq. 9 break z_b (SDSS 0.15, CFHTLS-WIDE 0.6).
    style, out : merged figure style and output path stem.
    z_edges : histogram edges for the middle panel (the model's redshift bins show mode
        collapse best); default 150 bins over the z_spec range.
    methods, variants : methods drawn fully / as faint lines; absent ones are skipped.
    estimate : point estimate (``zmode`` is the paper's choice).
    title : optional figure title (e.g. "SDSS").

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    check_metrics(metrics, need=["mean_residual_zspec"])
    require_columns(catalogue, ["z_spec"], "catalogue")
    main = present_methods(metrics, methods, "mean_residual_zspec")
    var = present_methods(metrics, variants, "mean_residual_zspec")
    z_spec = catalogue["z_spec"].to_numpy(float)
    if z_edges is None:
        z_edges = np.linspace(np.nanmin(z_spec), np.nanmax(z_spec), 151)

    with style_context(style):
        fig = new_figure(style, height=1.15 * style["width"])
        gs = fig.add_gridspec(3, 2, height_ratios=[1.25, 0.9, 1.0])
        ax_res = fig.add_subplot(gs[0, :])
        ax_n = fig.add_subplot(gs[1, :], sharex=ax_res)
        ax_sig = fig.add_subplot(gs[2, 0])
        ax_tv = fig.add_subplot(gs[2, 1])

        # Upper: <dz> vs z_spec with the Eq. 9 fits.
        curves = []
        for m in main + var:
            c = get_curve(metrics, m, "mean_residual_zspec", estimate)
            if c is None:
                continue
            curves.append(c)
            light = m in var
            plot_curve(ax_res, c, method_color(m, style), method_label(m, style), light=light)
            a, _ = get_scalar(metrics, m, "slope_low", estimate)
            b, _ = get_scalar(metrics, m, "intercept_low", estimate)
            cc, _ = get_scalar(metrics, m, "slope_high", estimate)
            d, _ = get_scalar(metrics, m, "intercept_high", estimate)
            zlo, zhi = c[1].min(), c[2].max()
            kw = dict(color=method_color(m, style), ls="--", lw=0.9, alpha=0.5 if light else 0.9)
            if np.isfinite(a) and np.isfinite(b):
                zz = np.array([zlo, z_break])
                ax_res.plot(zz, a * zz + b, **kw)
            if np.isfinite(cc) and np.isfinite(d):
                zz = np.array([z_break, zhi])
                ax_res.plot(zz, cc * zz + d, **kw)
        zero_line(ax_res)
        ax_res.axvline(z_break, color="0.6", lw=0.6, ls=":")
        robust_ylim(ax_res, curves)
        ax_res.set_ylabel(LABEL_DZ)
        ax_res.set_xlim(*curve_range(curves))
        ax_res.legend(ncol=4, loc="best")
        ax_res.tick_params(labelbottom=False)
        if title:
            ax_res.set_title(title)

        # Middle: n(z) of z_spec and of z_photo per method.
        ax_n.hist(z_spec, bins=z_edges, density=True, color=style["colors"]["z_spec"], alpha=0.7,
                  label=style["labels"]["z_spec"])
        for m in main:
            col = f"{m}_{estimate}"
            if col in catalogue.columns:
                ax_n.hist(catalogue[col].to_numpy(float), bins=z_edges, density=True, histtype="step",
                          color=method_color(m, style), lw=0.8, label=method_label(m, style))
        ax_n.set_xlabel(LABEL_ZSPEC + ", " + "$z_\\mathrm{photo}$")
        ax_n.set_ylabel("normalised density")
        ax_n.legend(ncol=5, loc="upper right")

        # Lower left: sigma_MAD vs r.
        sig = []
        for m in main + var:
            c = get_curve(metrics, m, "sigma_mad_rmag", estimate)
            if c is not None:
                sig.append(c)
                plot_curve(ax_sig, c, method_color(m, style), method_label(m, style),
                           errors=False, light=m in var, marker=None if m in var else "o", ms=2.5)
        ax_sig.set_xlabel(LABEL_R)
        ax_sig.set_ylabel("$\\sigma_\\mathrm{MAD}$")
        if not sig:
            ax_sig.text(0.5, 0.5, "no sigma_mad_rmag", ha="center", transform=ax_sig.transAxes)

        # Lower right: D_TV vs high-z slope C, floor shaded.
        for m in main + var:
            c, ce = get_scalar(metrics, m, "slope_high", estimate)
            t, te = get_scalar(metrics, m, "total_variation", estimate)
            if np.isfinite(c) and np.isfinite(t):
                ax_tv.errorbar(c, t, xerr=ce if np.isfinite(ce) else None,
                               yerr=te if np.isfinite(te) else None, fmt="o" if m in main else "s",
                               ms=4, color=method_color(m, style), mfc="none" if m in var else None,
                               label=method_label(m, style), elinewidth=0.8)
        f, fe = get_scalar(metrics, "baseline", "tv_floor", estimate)
        if not np.isfinite(f):
            fl = metrics[metrics["metric"] == "tv_floor"]
            if len(fl):
                f, fe = float(fl["value"].iloc[0]), float(fl["error"].iloc[0])
        if np.isfinite(f):
            fe = fe if np.isfinite(fe) else 0.0
            ax_tv.axhspan(f - fe, f + fe, color="0.6", alpha=0.35, lw=0, label="simulated floor")
        ax_tv.axvline(0.0, color="k", ls="--", lw=0.7, zorder=0)
        ax_tv.set_xlabel("high-z slope $C$ of Eq. 9")
        ax_tv.set_ylabel("$D_\\mathrm{TV}$")
        ax_tv.legend(fontsize=style["font_size"] - 2.5, loc="best", ncol=2)
        paths = save_figure(fig, out, style)
    return paths
