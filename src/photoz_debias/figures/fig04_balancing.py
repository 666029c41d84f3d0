"""Fig. 4 of Lin et al. 2022: the (z_spec, r) training density before and after balancing.

Step 2 keeps at most ``th`` galaxies per (z bin, magnitude row) cell (Sect. 3.2.2); the
two panels show the number of galaxies per cell on the same axes and the same logarithmic
colour scale, with the cell grid drawn faintly, so the trimmed over-populated cells and the
untouched under-populated ones are both visible.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm

from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows, RedshiftGrid

from photoz_debias.errors import require_columns
from photoz_debias.figures.style import LABEL_R, LABEL_ZSPEC, new_figure, save_figure, style_context


def cell_counts(sample: pd.DataFrame, grid: RedshiftGrid, rows: MagnitudeRows, what: str) -> np.ndarray:
    """Galaxies per (magnitude row, z bin) cell, shape ``(n_rows, n_bins)``.

    Uses the ``z_bin`` column when present (as in ``balanced_subset.parquet``), else bins
    ``z_spec`` on ``grid``; rows come from ``mag_row``.
    """
    zcol = "z_bin" if "z_bin" in sample.columns else "z_spec"
    require_columns(sample, [zcol, "mag_row"], what)
    zb = sample[zcol].to_numpy()
    zb = zb.astype(np.int64) if zcol == "z_bin" else grid.bin_index(zb)
    row = sample["mag_row"].to_numpy().astype(np.int64)
    bad = np.flatnonzero((zb < 0) | (zb >= grid.n_bins) | (row < 0) | (row >= rows.n_rows))
    if bad.size:
        i = int(bad[0])
        raise InputError(
            f"cell ({zcol}={zb[i]}, mag_row={row[i]}) outside the grid",
            row=i, field=zcol if not (0 <= zb[i] < grid.n_bins) else "mag_row",
            expected=f"z bin in [0, {grid.n_bins}) and row in [0, {rows.n_rows})",
        )
    counts = np.zeros((rows.n_rows, grid.n_bins))
    np.add.at(counts, (row, zb), 1.0)
    return counts


def plot_fig04_balancing(
    train: pd.DataFrame,
    balanced: pd.DataFrame,
    grid: RedshiftGrid,
    rows: MagnitudeRows,
    style: dict,
    out,
    threshold: int | None = None,
) -> list:
    """Two panels: galaxies per (z_spec, r) cell of the training sample and of the
    near-balanced subset (Fig. 4, Sect. 3.2.2).

    Parameters
    ----------
    train : training sample with ``z_spec`` (or ``z_bin``) and ``mag_row``.
    balanced : the Step 2 subset, same columns (``balanced_subset.parquet`` has ``z_bin``,
        ``mag_row``).
    grid, rows : the dataset's redshift grid and magnitude rows (Table 1).
    style, out : merged figure style and output path stem.
    threshold : balancing threshold ``th``, quoted in the right panel's title.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    c_train = cell_counts(train, grid, rows, "training sample")
    c_bal = cell_counts(balanced, grid, rows, "balanced subset")
    vmax = max(c_train.max(), c_bal.max(), 1.0)
    norm = LogNorm(vmin=1.0, vmax=vmax)
    with style_context(style):
        fig = new_figure(style, height=0.42 * style["width"])
        axes = fig.subplots(1, 2, sharex=True, sharey=True)
        titles = [f"training sample ({len(train):,} galaxies)",
                  f"near-balanced subset ({len(balanced):,}" + (f", th = {threshold})" if threshold else ")")]
        for ax, c, title in zip(axes, (c_train, c_bal), titles):
            masked = np.ma.masked_less(c, 1.0)
            im = ax.pcolormesh(grid.edges, rows.edges, masked, norm=norm, cmap=style["colormap"],
                               rasterized=True)
            for r in rows.edges:
                ax.axhline(r, color="0.5", lw=0.25, alpha=0.5)
            step = max(1, int(np.ceil(grid.n_bins / 60)))
            for z in grid.edges[::step]:
                ax.axvline(z, color="0.5", lw=0.2, alpha=0.35)
            ax.set_title(title)
            ax.set_xlabel(LABEL_ZSPEC)
            ax.set_xlim(grid.z_min, grid.z_max)
            ax.set_ylim(rows.edges[-1], rows.edges[0])
        axes[0].set_ylabel(LABEL_R)
        fig.colorbar(im, ax=axes, label="galaxies per (z, r) cell", shrink=0.9)
        paths = save_figure(fig, out, style)
    return paths
