"""Fig. 11 of Lin et al. 2022: mean-redshift residuals for tomography (Sect. 4.4).

One column per dataset part (SDSS, CFHTLS-DEEP with r < 24, CFHTLS-WIDE: whichever are
given).  Upper: Delta<z> (Eq. 12) per z_photo tomographic bin; middle: Delta<z> per r bin;
both with the Euclid requirement |Delta<z>| < 0.002 shaded.  Lower: the 1-Wasserstein
distance (Eq. 13) between the z_photo and z_spec distributions per r bin.
"""

from __future__ import annotations

import numpy as np

from photoz_debias.evaluate.table import check_metrics, get_curve
from photoz_debias.figures.style import LABEL_R, LABEL_ZPHOTO, method_color, method_label, new_figure, save_figure, style_context, zero_line

ROWS = (
    ("delta_mean_z_zphoto", LABEL_ZPHOTO, "$\\Delta\\langle z\\rangle$ (Eq. 12)"),
    ("delta_mean_z_rmag", LABEL_R, "$\\Delta\\langle z\\rangle$ (Eq. 12)"),
    ("wasserstein1_rmag", LABEL_R, "$D_\\mathrm{1-Wasserstein}$ (Eq. 13)"),
)


def plot_fig11_tomography(
    parts: dict,
    style: dict,
    out,
    methods=("baseline", "step3", "step4"),
    requirement: float = 0.002,
    estimate: str = "zmode",
) -> list:
    """Delta<z> per tomographic and magnitude bin and W1 per magnitude bin (Fig. 11).

    Parameters
    ----------
    parts : ordered mapping part label (e.g. "SDSS", "CFHTLS-DEEP (r < 24)",
        "CFHTLS-WIDE") -> tidy metrics with ``delta_mean_z_zphoto``,
        ``delta_mean_z_rmag`` and ``wasserstein1_rmag``.
    style, out : merged figure style and output path stem.
    methods : methods drawn where present (points at bin centres, horizontal bars = bin).
    requirement : half-width of the shaded band (Euclid: 0.002).
    estimate : point estimate (``zmode``).

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    if not parts:
        raise ValueError("plot_fig11_tomography needs at least one part")
    for name, met in parts.items():
        check_metrics(met, f"metrics of part {name!r}", need=[r[0] for r in ROWS])
    ncol = len(parts)
    n_m = len(methods)
    with style_context(style):
        fig = new_figure(style, height=min(0.95 * style["width"], 2.3 * 3))
        axes = np.atleast_2d(fig.subplots(3, ncol, squeeze=False))
        for j, (name, met) in enumerate(parts.items()):
            for i, (metric, xlabel, ylabel) in enumerate(ROWS):
                ax = axes[i, j]
                if metric.startswith("delta"):
                    ax.axhspan(-requirement, requirement, color="0.8", alpha=0.6, lw=0,
                               label=f"$|\\Delta\\langle z\\rangle| < {requirement:g}$")
                    zero_line(ax)
                for k, m in enumerate(methods):
                    c = get_curve(met, m, metric, estimate)
                    if c is None:
                        continue
                    x, lo, hi, y, e = c
                    # Small horizontal offsets keep overlapping error bars apart.
                    dx = (k - (n_m - 1) / 2) * 0.12 * np.nanmin(hi - lo)
                    ax.errorbar(x + dx, y, yerr=np.where(np.isfinite(e), e, 0), fmt="o-", ms=3, lw=0.9,
                                elinewidth=0.8, color=method_color(m, style), label=method_label(m, style))
                if i == 0:
                    ax.set_title(str(name))
                ax.set_xlabel(xlabel)
                if j == 0:
                    ax.set_ylabel(ylabel)
                if metric.startswith("delta"):
                    ylo, yhi = ax.get_ylim()
                    m_ = max(abs(ylo), abs(yhi), 2.5 * requirement)
                    ax.set_ylim(-m_, m_)
                else:
                    ax.set_ylim(bottom=0)
        h, lab = axes[0, 0].get_legend_handles_labels()
        fig.legend(h, lab, loc="outside upper center", ncol=len(lab))
        paths = save_figure(fig, out, style)
    return paths
