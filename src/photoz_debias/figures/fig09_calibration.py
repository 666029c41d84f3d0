"""Figs. 9 and 10 of Lin et al. 2022: Step 4 calibration on test samples whose
distribution differs from the training one (Sect. 4.3).

Input: an ordered mapping experiment name -> metrics DataFrame (one per test sample:
"unmodified", "biased to z_spec ~ 0.12", "biased to r ~ 17.5"); Fig. 10 is the same call
with the metrics of the 90 %-depleted training set.  One column per experiment.
Upper row (when catalogues are given): z_spec and r distributions of the training sample
and the test samples.  Middle: <dz> vs z_spec for Baseline and Step 3, Step 4 faint.
Lower: <dz> vs z_photo for Baseline and Step 4, Step 3 faint.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.evaluate.table import check_metrics, get_curve
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_DZ, LABEL_R, LABEL_ZPHOTO, LABEL_ZSPEC, curve_range, method_color, method_label, new_figure, plot_curve, robust_ylim, save_figure, style_context, zero_line

_SAMPLE_STYLES = ("-", "--", ":", "-.")


def _panel(ax, metrics, metric, strong, faint, style, estimate):
    curves = []
    for m in strong + faint:
        c = get_curve(metrics, m, metric, estimate)
        if c is None:
            continue
        curves.append(c)
        plot_curve(ax, c, method_color(m, style), method_label(m, style), light=m in faint)
    zero_line(ax)
    robust_ylim(ax, curves)
    if curves:
        ax.set_xlim(*curve_range(curves))
    return curves


def plot_fig09_calibration(
    experiments: dict,
    style: dict,
    out,
    train: pd.DataFrame | None = None,
    samples: dict | None = None,
    estimate: str = "zmode",
) -> list:
    """Step 4 experiments (Figs. 9 and 10).

    Parameters
    ----------
    experiments : ordered mapping test-sample name -> tidy metrics with
        ``mean_residual_zspec`` and ``mean_residual_zphoto`` for ``baseline``,
        ``step3``, ``step4``.  Names become column titles.
    style, out : merged figure style and output path stem.
    train : optional training catalogue (``z_spec``, ``r_mag``) for the upper row.
    samples : optional mapping with the same names -> test catalogues (``z_spec``,
        ``r_mag``) for the upper row; the upper row is drawn when ``train`` or ``samples``
        is given.
    estimate : point estimate (``zmode``).

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    if not experiments:
        raise ValueError("plot_fig09_calibration needs at least one experiment")
    for name, met in experiments.items():
        check_metrics(met, f"metrics of experiment {name!r}",
                      need=["mean_residual_zspec", "mean_residual_zphoto"])
    top = train is not None or bool(samples)
    if train is not None:
        require_columns(train, ["z_spec", "r_mag"], "training catalogue")
    for name, cat in (samples or {}).items():
        require_columns(cat, ["z_spec", "r_mag"], f"test catalogue {name!r}")
    ncol = len(experiments)

    with style_context(style):
        fig = new_figure(style, height=(0.95 if top else 0.68) * style["width"])
        gs = fig.add_gridspec(3 if top else 2, ncol, height_ratios=[0.8, 1, 1] if top else [1, 1])
        off = 1 if top else 0
        if top:
            sub = gs[0, :].subgridspec(1, 2)
            ax_z, ax_r = fig.add_subplot(sub[0]), fig.add_subplot(sub[1])
            cats = ([("training", train)] if train is not None else []) + list((samples or {}).items())
            zall = np.concatenate([c["z_spec"].to_numpy(float) for _, c in cats])
            rall = np.concatenate([c["r_mag"].to_numpy(float) for _, c in cats])
            zb = np.linspace(*np.nanquantile(zall, [0.0, 0.999]), 61)
            rb = np.linspace(*np.nanquantile(rall, [0.001, 0.999]), 41)
            for i, (name, c) in enumerate(cats):
                kw = dict(histtype="step", density=True, lw=1.0, label=name)
                if name == "training" and train is not None:
                    kw.update(histtype="stepfilled", color=style["colors"]["z_spec"], alpha=0.6)
                else:
                    kw.update(color="k", ls=_SAMPLE_STYLES[(i - (train is not None)) % 4])
                ax_z.hist(c["z_spec"].to_numpy(float), bins=zb, **kw)
                ax_r.hist(c["r_mag"].to_numpy(float), bins=rb, **kw)
            ax_z.set_xlabel(LABEL_ZSPEC)
            ax_r.set_xlabel(LABEL_R)
            ax_z.set_ylabel("normalised density")
            ax_z.legend(loc="upper right")

        first = None
        spans = []
        for j, (name, met) in enumerate(experiments.items()):
            ax1 = fig.add_subplot(gs[off, j], sharey=first[0] if first else None)
            ax2 = fig.add_subplot(gs[off + 1, j], sharey=first[1] if first else None)
            c1 = _panel(ax1, met, "mean_residual_zspec", ["baseline", "step3"], ["step4"], style, estimate)
            c2 = _panel(ax2, met, "mean_residual_zphoto", ["baseline", "step4"], ["step3"], style, estimate)
            if first is None:
                first = (ax1, ax2)
                ax1.set_ylabel(LABEL_DZ + " vs " + LABEL_ZSPEC)
                ax2.set_ylabel(LABEL_DZ + " vs " + LABEL_ZPHOTO)
                ax1.legend(loc="lower left")
                ax2.legend(loc="lower left")
            else:
                ax1.tick_params(labelleft=False)
                ax2.tick_params(labelleft=False)
                # Shared y: widen to cover this column's curves too.
                for ax, cs in ((first[0], c1), (first[1], c2)):
                    lo0, hi0 = ax.get_ylim()
                    robust_ylim(ax, cs)
                    lo1, hi1 = ax.get_ylim()
                    ax.set_ylim(min(lo0, lo1), max(hi0, hi1))
            spans += [curve_range(c1), curve_range(c2)]
            ax1.set_title(str(name))
            ax1.set_xlabel(LABEL_ZSPEC)
            ax2.set_xlabel(LABEL_ZPHOTO)
        # Same redshift axis in every column, so the samples compare at a glance.
        lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
        for ax in fig.axes[2 if top else 0:]:
            ax.set_xlim(lo, hi)
        paths = save_figure(fig, out, style)
    return paths
