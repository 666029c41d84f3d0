"""Fig. C.1 of Lin et al. 2022: actual vs expected <dz>-z_spec curves (Appendix C).

The expected residual of a galaxy (Eq. C.1) is ``(z_bar - z0) / (1 + z0)``, where ``z_bar``
is the mean of its skewed scattering profile as in Eq. 8: ``N(z0, k sigma2^2(z0|r_o))``
times the balanced subset's z_spec density of magnitude output ``r_o`` (zero outside the
original range).  Appendix C replaces Eq. 7's variance by the quadratic error curve
``sigma2^2`` of Eq. 6 alone and rescales it by factors ``k``.  A galaxy in an odd row feeds
two outputs; its expected residual is the mean of the two.  The actual curve is the plain
mean of Step 2's dz per z_spec bin over the same subset.

Inputs per part: the subset (``z_spec``, ``mag_row``, ``z_photo`` = Step 2's zmode on the
subset) and ``error_curves.parquet`` (``output``, ``z_centre``, ``sigma2_sq``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from photoz_debias.grid import RedshiftGrid
from photoz_debias.debias.scattering import expected_residuals
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_DZ, LABEL_ZSPEC, new_figure, save_figure, style_context, zero_line


class C1Part(NamedTuple):
    """Inputs of one Fig. C.1 panel."""

    subset: pd.DataFrame  # z_spec, mag_row, z_photo (Step 2 zmode on the balanced subset)
    error_curves: pd.DataFrame  # output, z_centre, sigma2_sq (Eq. 6)
    grid: RedshiftGrid  # original grid
    n_extend: tuple[int, int]  # Step 3 bins appended left/right


def binned_mean(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Mean of ``y`` in bins of ``x`` (NaN for empty bins)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    i = np.digitize(x[ok], edges) - 1
    inside = (i >= 0) & (i < len(edges) - 1)
    s = np.bincount(i[inside], y[ok][inside], minlength=len(edges) - 1)
    n = np.bincount(i[inside], minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, s / n, np.nan)


def plot_figC1_expected_residuals(
    parts: dict,
    style: dict,
    out,
    factors=(0.25, 0.5, 1.0, 2.0, 4.0),
    n_curve_bins: int = 40,
) -> list:
    """Actual (Step 2, balanced subset) vs expected <dz>-z_spec curves for factors k (Fig. C.1).

    Parameters
    ----------
    parts : ordered mapping label -> :class:`C1Part`.
    style, out : merged figure style and output path stem.
    factors : rescaling factors k of sigma2^2; k = 1 is drawn thicker.
    n_curve_bins : z_spec bins of the plotted curves over the original range.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    if not parts:
        raise ValueError("plot_figC1_expected_residuals needs at least one part")
    import matplotlib

    cmap = matplotlib.colormaps[style["colormap"]]
    with style_context(style):
        fig = new_figure(style, height=0.45 * style["width"])
        axes = fig.subplots(1, len(parts), squeeze=False)[0]
        for ax, (name, p) in zip(axes, parts.items()):
            require_columns(p.subset, ["z_spec", "mag_row", "z_photo"], f"subset of {name!r}")
            zs = p.subset["z_spec"].to_numpy(float)
            rows = p.subset["mag_row"].to_numpy()
            edges = np.linspace(p.grid.z_min, p.grid.z_max, n_curve_bins + 1)
            xc = 0.5 * (edges[1:] + edges[:-1])
            actual = binned_mean(zs, (p.subset["z_photo"].to_numpy(float) - zs) / (1 + zs), edges)
            for i, k in enumerate(factors):
                exp = binned_mean(zs, expected_residuals(zs, rows, p.error_curves, p.grid, p.n_extend, k), edges)
                ax.plot(xc, exp, ls=":", lw=2.0 if k == 1 else 1.1,
                        color=cmap(0.7 * i / max(len(factors) - 1, 1)), label=f"expected, k = {k:g}")
            ax.plot(xc, actual, color="#e6b800", lw=2.0, label="actual (Step 2)")
            zero_line(ax)
            ax.set_xlim(p.grid.z_min, p.grid.z_max)
            ax.set_xlabel(LABEL_ZSPEC)
            ax.set_title(str(name))
        axes[0].set_ylabel(LABEL_DZ)
        axes[0].legend(loc="best")
        paths = save_figure(fig, out, style)
    return paths
