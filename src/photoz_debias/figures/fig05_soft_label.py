"""Fig. 5 of Lin et al. 2022: how the mean of a soft label is determined (Eq. 8).

For a galaxy with spectroscopic redshift ``z0`` in magnitude output ``k``: the initial
Gaussian scattering profile ``N(z0, Var(z0|k))`` (Var from Eq. 7, or measured on Step 3b:
the table Step 3 trains on) times the balanced subset's z_spec
density of output ``k`` (zero outside the original range) is the skewed profile; its mean is
``z_bar`` and the label mean is ``z* = z0 - (z_bar - z0)``.  The soft label is
``N(z*, sigma1(k)^2)``.  The values are the fitted ones from that table (``soft_labels.parquet`` or
``soft_labels_measured.parquet``); only
the curves are recomputed here, on the extended grid.

The subset density is taken per magnitude *output* (the paper's Eq. 8; odd rows count for
both neighbouring outputs), the same grouping as Eq. 4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from photoz_debias.grid import RedshiftGrid

from photoz_debias.debias.scattering import output_density
from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_ZSPEC, new_figure, save_figure, style_context

LABEL_COLUMNS = ("id", "output", "z0", "z_bar", "z_star", "sigma1", "var")


def gaussian(z: np.ndarray, mu: float, var: float) -> np.ndarray:
    """Unnormalised Gaussian ``exp(-(z - mu)^2 / 2 var)``; ``var`` in redshift^2."""
    return np.exp(-0.5 * (z - mu) ** 2 / max(var, 1e-300))


def pick_examples(labels: pd.DataFrame, n: int = 2) -> pd.DataFrame:
    """Example label rows: the largest |z* - z0| shift (an under-populated region) and the
    smallest shift among galaxies near the median z0 (a well-populated region)."""
    require_columns(labels, LABEL_COLUMNS, "soft labels")
    shift = (labels["z_star"] - labels["z0"]).abs()
    big = labels.loc[[shift.idxmax()]]
    near = labels[(labels["z0"] - labels["z0"].median()).abs() <= labels["z0"].std() * 0.25]
    small = near.loc[[(near["z_star"] - near["z0"]).abs().idxmin()]] if len(near) else labels.iloc[:1]
    return pd.concat([small, big]).head(n)


def plot_fig05_soft_label(
    labels: pd.DataFrame,
    subset: pd.DataFrame,
    grid: RedshiftGrid,
    n_extend: tuple[int, int],
    style: dict,
    out,
) -> list:
    """One panel per label row: subset density, ``N(z0, Var)``, their renormalised product
    with mean ``z_bar``, and the soft label ``N(z*, sigma1^2)`` (Fig. 5, Eqs. 7-8).

    Parameters
    ----------
    labels : 1-3 rows of ``soft_labels.parquet`` (``id, output, z0, z_bar, z_star, sigma1,
        var``; redshift units, ``var`` in redshift^2); see :func:`pick_examples`.
    subset : the balanced subset used for the fit, with ``z_spec`` and ``mag_row``.
    grid : the original redshift grid; ``n_extend`` = bins appended left/right in Step 3.
    style, out : merged figure style and output path stem.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    require_columns(labels, LABEL_COLUMNS, "soft labels")
    require_columns(subset, ["z_spec", "mag_row"], "balanced subset")
    if not 1 <= len(labels) <= 3:
        raise ValueError(f"plot_fig05_soft_label draws 1-3 label rows, got {len(labels)}")
    ext = grid.extend(*n_extend)
    zc = ext.centres
    z_spec = subset["z_spec"].to_numpy(float)
    rows = subset["mag_row"].to_numpy().astype(np.int64)
    colours = {"density": "0.55", "z0": "#1f77b4", "zbar": "#2ca02c", "zstar": "#d62728"}

    with style_context(style):
        fig = new_figure(style, height=0.40 * style["width"])
        axes = np.atleast_1d(fig.subplots(1, len(labels), sharey=True))
        for ax, (_, lab) in zip(axes, labels.iterrows()):
            k = int(lab["output"])
            dens = np.zeros(ext.n_bins)
            dens[n_extend[0]:n_extend[0] + grid.n_bins] = output_density(z_spec, rows, k, grid)
            prof = gaussian(zc, lab["z0"], lab["var"])
            prod = prof * dens
            soft = gaussian(zc, lab["z_star"], lab["sigma1"] ** 2)

            def peak1(a):
                return a / a.max() if a.max() > 0 else a

            ax.fill_between(zc, peak1(dens), step="mid", color=colours["density"], alpha=0.35, lw=0,
                            label="subset $z_\\mathrm{spec}$ density of the output")
            ax.plot(zc, peak1(prof), color=colours["z0"], label="$N(z_0, \\mathrm{Var}(z_0|r_o))$")
            ax.plot(zc, peak1(prod), color=colours["zbar"], label="product (skewed profile)")
            ax.plot(zc, peak1(soft), color=colours["zstar"], lw=1.6,
                    label="soft label $N(z^*, \\sigma_1^2)$")
            for key, name in (("z0", "$z_0$ (spectroscopic)"), ("z_bar", "$\\bar z$ (mean of product)"),
                              ("z_star", "$z^* = z_0 - (\\bar z - z_0)$")):
                c = colours["zbar" if key == "z_bar" else "zstar" if key == "z_star" else "z0"]
                ax.axvline(lab[key], color=c, ls=":", lw=1.0, label=name)
            half = 5.0 * np.sqrt(max(lab["var"], lab["sigma1"] ** 2, ext.width ** 2))
            centre = 0.5 * (lab["z0"] + lab["z_star"])
            ax.set_xlim(max(ext.z_min, centre - half), min(ext.z_max, centre + half))
            ax.set_ylim(0, 1.05)
            ax.set_xlabel(LABEL_ZSPEC)
            ax.set_title(f"galaxy {lab['id']}, magnitude output {k + 1}: "
                         f"$z^*-z_0$ = {lab['z_star'] - lab['z0']:+.4f}", fontsize=style["font_size"] - 1)
        axes[0].set_ylabel("density (peak-normalised)")
        h, l_ = axes[0].get_legend_handles_labels()
        fig.legend(h, l_, loc="outside lower center", ncol=4)
        paths = save_figure(fig, out, style)
    return paths
