"""The scaling experiment against training-set size (Fig. D.7 of Lin et al. 2022 extended
upwards): drawing only, from ``evaluate.scaling.scaling_table``.

Six panels: sigma_MAD (Eq. 11) and the outlier fraction of each step relative to the
Baseline's; Eq. 9's high-z slope C of each step, with the claim-2 bound |C(Baseline)|/2;
the claim-2 margin of the ensemble and of each seed alone; D_TV (Eq. 10) above the
Baseline's simulated floor; Eq. 4's sigma_1 per output. Solid lines: Eq. 7's variance in
Eq. 8 (the paper's); dashed: the measured variance.
"""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd

from photoz_debias.errors import require_columns
from photoz_debias.figures.style import method_color, method_label, new_figure, save_figure, style_context, zero_line

LINESTYLES = {"eq7": "-", "measured": "--"}


def _by_size(t: pd.DataFrame, col: str):
    t = t.sort_values("n_train")
    return t["n_train"].to_numpy(float), t[col].to_numpy(float)


def plot_scaling(table: pd.DataFrame, seeds: pd.DataFrame, sigma1: pd.DataFrame, style: dict, out,
                 methods=("step1", "step2", "step3", "step4")):
    """Draw the experiment; ``seeds`` has ``variance, n_train, margin2`` per seed alone,
    ``sigma1`` has ``variance, n_train, output, sigma1, sigma1_sd``."""
    require_columns(table, ["variance", "n_train", "method", "sigma_mad_rel", "eta_rel", "C",
                            "C_err", "tv_excess", "ens_bound", "ens_margin2"], "scaling table")
    with style_context(style):
        fig = new_figure(style, height=0.7 * float(style["width"]))
        axes = fig.subplots(2, 3).ravel()
        first = table["variance"].iloc[0]
        for variance, t in table.groupby("variance", sort=False):
            ls = LINESTYLES.get(variance, ":")
            for m in methods:
                tm = t[t["method"] == m]
                if tm.empty:
                    continue
                kw = dict(color=method_color(m, style), ls=ls, marker="o", ms=3,
                          label=method_label(m, style) if variance == first else None)
                axes[0].plot(*_by_size(tm, "sigma_mad_rel"), **kw)
                axes[1].plot(*_by_size(tm, "eta_rel"), **kw)
                x, c = _by_size(tm, "C")
                axes[2].errorbar(x, c, yerr=tm.sort_values("n_train")["C_err"], capsize=2, **kw)
                axes[4].plot(*_by_size(tm, "tv_excess"), **kw)
            tb = t[t["method"] == "baseline"]
            x, c = _by_size(tb, "C")
            axes[2].plot(x, c, color=method_color("baseline", style), ls=ls, marker="s", ms=3,
                         label=method_label("baseline", style) if variance == first else None)
            x, b = _by_size(tb, "ens_bound")
            axes[2].fill_between(x, -b, b, color="0.85", alpha=0.5, lw=0)
            x, mg = _by_size(tb, "ens_margin2")
            axes[3].plot(x, mg, color="k", ls=ls, marker="o", ms=4, label=f"ensemble ({variance})")
            sv = seeds[seeds["variance"] == variance] if len(seeds) else seeds
            if len(sv):
                axes[3].scatter(sv["n_train"], sv["margin2"], s=10, color="0.4",
                                marker="x" if variance == "measured" else "+",
                                label=f"each seed ({variance})")
        for ax, y, lab in ((axes[0], 1.0, "$\\sigma_\\mathrm{MAD}$ / Baseline's"),
                           (axes[1], 1.0, "outlier fraction / Baseline's"),
                           (axes[2], 0.0, "$C$ (Eq. 9); grey: claim-2 bound"),
                           (axes[3], 0.0, "claim-2 margin (standard errors)"),
                           (axes[4], 0.0, "$D_\\mathrm{TV}$ above the Baseline's floor")):
            zero_line(ax, y)
            ax.set_title(lab, fontsize="small")
        s1 = sigma1[sigma1["variance"] == "eq7"] if len(sigma1) else sigma1
        if len(s1):
            cmap = matplotlib.colormaps["viridis"]
            outs = sorted(s1["output"].unique())
            for i, o in enumerate(outs):
                so = s1[s1["output"] == o].sort_values("n_train")
                axes[5].errorbar(so["n_train"], so["sigma1"], yerr=so["sigma1_sd"], marker="o",
                                 ms=3, capsize=2, color=cmap(i / max(len(outs) - 1, 1)),
                                 label=f"output {o}")
            axes[5].set_title("Eq. 4's $\\sigma_1$ per output (Eq. 7 part)", fontsize="small")
            axes[5].legend(fontsize="x-small", ncol=2)
        sizes = sorted(table["n_train"].unique())
        for ax in axes:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_xticks(sizes, [f"{n / 1000:g}k" for n in sizes])
            ax.set_xlabel("training galaxies")
        axes[2].legend(fontsize="x-small", ncol=2)
        axes[3].legend(fontsize="x-small")
        fig.suptitle("solid: Eq. 7's variance in Eq. 8 (the paper's); dashed: the measured "
                     "variance", fontsize="small")
        return save_figure(fig, out, style)
