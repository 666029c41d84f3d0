"""Appendix D of Lin et al. 2022 (Figs. D.1-D.4, D.6-D.9): one family of runs that sweeps
one setting (balancing threshold, number of bins, iterations, training size, label error,
network).  :func:`plot_figD_sweep` draws Figs. D.1-D.4 and D.7-D.9, :func:`plot_figD_curves`
Fig. D.6.

Upper row: sigma_MAD (Eq. 11), the low- and high-z slopes A and C of Eq. 9, and D_TV
(Eq. 10) with each method's simulated collapse-free floor dotted, against the swept value.
Lower row (when per-bin curves are given): <dz> vs z_spec (or vs z_photo, Fig. D.6) per
swept value, one panel per method, coloured by the swept value.  Fig. D.5 (z_photo-z_spec
densities per value) is :func:`photoz_debias.figures.fig08_zphot_zspec.plot_zphot_zspec_panels`.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from photoz_debias.methods import method_key
from photoz_debias.evaluate.table import get_curve
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_DZ, LABEL_ZPHOTO, LABEL_ZSPEC, curve_range, method_color, method_label, new_figure, plot_curve, robust_ylim, save_figure, style_context, zero_line

PARAM_LABELS = {
    "threshold": "balancing threshold $th$",
    "n_bins": "number of redshift bins $n$",
    "iterations": "training iterations (Baseline, Step 1)",
    "train_size": "training sample size",
    "label_error": "label error $\\sigma_z$",
    "net": "network",
}
SCALARS = (
    ("sigma_mad", "$\\sigma_\\mathrm{MAD}$"),
    ("slope_low", "low-z slope $A$ (Eq. 9)"),
    ("slope_high", "high-z slope $C$ (Eq. 9)"),
    ("total_variation", "$D_\\mathrm{TV}$ (Eq. 10)"),
)
CURVE_LABELS = {"mean_residual_zspec": LABEL_ZSPEC, "mean_residual_zphoto": LABEL_ZPHOTO}


def _positions(values):
    """x positions of the swept values: numbers as they are, anything else categorical."""
    uniq = list(dict.fromkeys(values))
    try:
        num = np.array([float(v) for v in uniq])
        return dict(zip(uniq, num)), False
    except (TypeError, ValueError):
        return {v: float(i) for i, v in enumerate(uniq)}, True


def _select_estimate(df, estimate):
    if "estimate" not in df.columns:
        return df
    keep = (df["estimate"] == estimate) | ~df["method"].isin(
        df.loc[df["estimate"] == estimate, "method"].unique())
    return df[keep]


def _prepare_curves(curves: pd.DataFrame, param: str, estimate: str) -> pd.DataFrame:
    """Per-bin curves of a sweep, checked, restricted to ``estimate``, with the optional
    ``error`` (NaN) and ``estimate`` columns filled in."""
    require_columns(curves, [param, "method", "metric", "bin_lo", "bin_hi", "value"], "sweep curves")
    curves = _select_estimate(curves, estimate)
    if "error" not in curves.columns:
        curves = curves.assign(error=np.nan)
    if "estimate" not in curves.columns:
        curves = curves.assign(estimate=estimate)
    return curves


def plot_figD_sweep(
    sweep: pd.DataFrame,
    param: str,
    style: dict,
    out,
    methods=("baseline", "step1", "step2", "step3", "step3_no_step2"),
    curves: pd.DataFrame | None = None,
    curve_methods=("baseline", "step3"),
    curve_metrics=("mean_residual_zspec",),
    estimate: str = "zmode",
    title: str | None = None,
) -> list:
    """The Appendix D layout for one swept setting.

    Parameters
    ----------
    sweep : scalar metrics of every run: columns ``param``, ``method``, ``metric``,
        ``value`` and optionally ``error``, ``estimate`` (``zmode`` rows are used where
        present).  Metrics: ``sigma_mad``, ``slope_low``, ``slope_high``,
        ``total_variation``, ``tv_floor``.
    param : the swept column, e.g. ``threshold``, ``n_bins``, ``iterations``,
        ``train_size``, ``label_error``, ``net`` (strings are placed in order of appearance).
    style, out : merged figure style and output path stem.
    methods : methods drawn where present.
    curves : optional per-bin metrics of every run (``param``, ``method``, ``metric``,
        ``bin_lo``, ``bin_hi``, ``value``, ``error``) for the lower row.
    curve_methods, curve_metrics : lower-row panels (method x metric).
    estimate : point estimate (``zmode``).
    title : optional figure title.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    require_columns(sweep, [param, "method", "metric", "value"], "sweep metrics")
    sweep = _select_estimate(sweep, estimate)
    if "error" not in sweep.columns:
        sweep = sweep.assign(error=np.nan)
    pos, categorical = _positions(sweep[param].tolist())
    xs = np.array(sorted(pos.values()))
    log_x = (not categorical) and xs.min() > 0 and xs.max() / xs.min() >= 20
    have = {method_key(m) for m in sweep["method"].unique()}
    meths = [m for m in methods if method_key(m) in have]

    lower = []
    if curves is not None:
        curves = _prepare_curves(curves, param, estimate)
        lower = [(m, met) for m in curve_methods for met in curve_metrics
                 if ((curves["method"].map(method_key) == m) & (curves["metric"] == met)).any()]

    with style_context(style):
        fig = new_figure(style, height=(0.62 if lower else 0.34) * style["width"])
        subs = np.atleast_1d(fig.subfigures(2 if lower else 1, 1, height_ratios=[1, 1.1] if lower else [1]))
        top_axes = subs[0].subplots(1, len(SCALARS))
        for i, (metric, ylabel) in enumerate(SCALARS):
            ax = top_axes[i]
            for m in meths:
                for name, ls, lab in ((metric, "-", method_label(m, style)),
                                      ("tv_floor", ":", None)):
                    if name == "tv_floor" and metric != "total_variation":
                        continue
                    d = sweep[(sweep["method"].map(method_key) == method_key(m)) & (sweep["metric"] == name)]
                    if d.empty:
                        continue
                    x = np.array([pos[v] for v in d[param]])
                    o = np.argsort(x)
                    ax.errorbar(x[o], d["value"].to_numpy(float)[o],
                                yerr=np.nan_to_num(d["error"].to_numpy(float)[o]),
                                fmt="o" + ls if ls == "-" else ls, ms=3, lw=1.0 if ls == "-" else 1.2,
                                elinewidth=0.7, color=method_color(m, style), label=lab)
            if metric.startswith("slope"):
                zero_line(ax)
            if log_x:
                ax.set_xscale("log")
            if categorical:
                ax.set_xticks(list(pos.values()), [str(k) for k in pos], rotation=45)
            ax.set_title(ylabel, fontsize=style["font_size"] - 0.5)
        subs[0].supxlabel(PARAM_LABELS.get(param, param), fontsize=style["font_size"])
        h, lab = top_axes[0].get_legend_handles_labels()
        h.append(matplotlib.lines.Line2D([], [], color="0.3", ls=":"))
        lab.append("simulated $D_\\mathrm{TV}$ floor")
        subs[0].legend(h, lab, loc="outside upper center", ncol=min(len(lab), 6))
        if title:
            fig.suptitle(title)

        if lower:
            bottom_axes = np.atleast_1d(subs[1].subplots(1, len(lower)))
            _draw_curve_panels(bottom_axes, lower, curves, param, list(pos), style, estimate)
        paths = save_figure(fig, out, style)
    return paths


def _draw_curve_panels(axes, panels, curves, param, vals, style, estimate):
    """One panel per (method, metric): the curve of every swept value, coloured by value."""
    cmap = matplotlib.colormaps[style["colormap"]]
    for j, (m, met) in enumerate(panels):
        ax = axes[j]
        drawn = []
        for i, v in enumerate(vals):
            d = curves[curves[param] == v]
            c = get_curve(d, m, met, estimate)
            if c is None:
                continue
            drawn.append(c)
            plot_curve(ax, c, cmap(0.9 * i / max(len(vals) - 1, 1)), f"{v}", errors=False)
        zero_line(ax)
        robust_ylim(ax, drawn)
        if drawn:
            ax.set_xlim(*_filled_range(drawn))
        ax.set_xlabel(CURVE_LABELS.get(met, met))
        ax.set_title(method_label(m, style))
        if j == 0:
            ax.set_ylabel(LABEL_DZ)
            ax.legend(title=PARAM_LABELS.get(param, param), ncol=2, loc="best",
                      fontsize=style["font_size"] - 2.5, title_fontsize=style["font_size"] - 2)


def _filled_range(curves) -> tuple[float, float]:
    """The x-extent of the bins that hold a value in any of the curves (all bins if none)."""
    filled = [(c[1][np.isfinite(c[3])], c[2][np.isfinite(c[3])]) for c in curves]
    filled = [(lo, hi) for lo, hi in filled if len(lo)]
    if not filled:
        return curve_range(curves)
    return min(lo.min() for lo, _ in filled), max(hi.max() for _, hi in filled)


def plot_figD_curves(
    curves: pd.DataFrame,
    param: str,
    style: dict,
    out,
    methods=("baseline",),
    metrics=("mean_residual_zspec", "mean_residual_zphoto"),
    estimate: str = "zmode",
    title: str | None = None,
) -> list:
    """Fig. D.6: mean residuals in coarse bins vs z_spec and vs z_photo, one curve per swept
    value (Baseline per number of training iterations in the paper).

    Parameters
    ----------
    curves : per-bin metrics of every run (``param``, ``method``, ``metric``, ``bin_lo``,
        ``bin_hi``, ``value``; optionally ``estimate``, ``error``), e.g. a study table.
    param : the swept column; its values are drawn in order of appearance.
    style, out : merged figure style and output path stem.
    methods, metrics : one panel per (method, metric) present in ``curves``.
    estimate : point estimate (``zmode``).
    title : optional figure title.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    curves = _prepare_curves(curves, param, estimate)
    panels = [(method_key(m), met) for m in methods for met in metrics
              if ((curves["method"].map(method_key) == method_key(m)) & (curves["metric"] == met)).any()]
    if not panels:
        raise ValueError(f"no curves {list(metrics)} of methods {list(methods)} in the sweep table")
    vals = list(dict.fromkeys(curves[param].tolist()))
    with style_context(style):
        fig = new_figure(style, height=0.42 * style["width"])
        axes = np.atleast_1d(fig.subplots(1, len(panels)))
        _draw_curve_panels(axes, panels, curves, param, vals, style, estimate)
        if title:
            fig.suptitle(title)
        paths = save_figure(fig, out, style)
    return paths
