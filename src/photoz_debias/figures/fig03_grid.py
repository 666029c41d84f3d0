"""Fig. 3 of Lin et al. 2022: input (z_spec, r) grid and the multi-channel output unit.

Left: the input space, ``n`` redshift bins by ``2m - 1`` magnitude rows, in real units.
Right: the magnitude output (``m`` bins) and the ``m`` redshift outputs with the Step 3
extensions shaded green.  Each row is connected to the magnitude outputs that cover it
(interlacing, :func:`photoz_debias.grid.output_rows`).  An example galaxy (red star) in an
odd row activates two magnitude bins and one redshift bin in each of the two matching
redshift outputs; the other redshift outputs get the flat label.
"""

from __future__ import annotations

import numpy as np
from matplotlib.patches import ConnectionPatch, Rectangle

from photoz_debias.grid import MagnitudeRows, RedshiftGrid, activated_outputs, output_rows

from photoz_debias.figures.style import LABEL_R, LABEL_ZSPEC, new_figure, save_figure, style_context

_ACTIVE = "#8b0000"
_NULL = "#cfe3f3"
_FLAT = "#f4c7c3"
_EXT = "#cfe8cf"


def plot_fig03_grid(
    grid: RedshiftGrid,
    rows: MagnitudeRows,
    style: dict,
    out,
    n_extend: tuple[int, int] = (0, 0),
    example: tuple[float, float] | None = None,
) -> list:
    """Draw the input/output correspondence of the multi-channel unit (Fig. 3).

    Parameters
    ----------
    grid : the original redshift grid (``n`` bins over [z_min, z_max]; Table 1).
    rows : the ``2m - 1`` magnitude rows (Table 1).
    style : merged figure style (:func:`photoz_debias.figures.style.merge_style`).
    out : output path stem; ``out.png`` / ``out.pdf`` are written.
    n_extend : bins appended left/right in Step 3 (drawn shaded green).
    example : ``(z_spec, r [mag])`` of the example galaxy; default: the middle of an odd
        row near the grid's centre, so it activates two outputs.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    n, n_rows, m = grid.n_bins, rows.n_rows, rows.n_outputs
    if example is None:
        odd = 2 * ((n_rows - 1) // 4) + 1 if n_rows > 1 else 0
        example = (grid.z_min + 0.42 * (grid.z_max - grid.z_min), rows.edges[odd] + 0.5 * rows.row_width)
    z_ex, r_ex = example
    row_ex = int(rows.row_index(np.array([r_ex]))[0])
    lo, hi = activated_outputs(np.array([row_ex]))
    active = {int(lo[0]), int(hi[0])}
    jbin = int(grid.bin_index(np.array([z_ex]))[0])

    with style_context(style):
        fig = new_figure(style, height=0.55 * style["width"])
        gs = fig.add_gridspec(1, 3, width_ratios=[1.0, 0.18, 1.25], wspace=0.0)
        ax_in = fig.add_subplot(gs[0])
        ax_mag = fig.add_subplot(gs[1])
        ax_z = fig.add_subplot(gs[2])

        # Input space: rows drawn fully, redshift bins thinned so the grid stays legible.
        r_edges = rows.edges
        ax_in.set_xlim(grid.z_min, grid.z_max)
        ax_in.set_ylim(r_edges[-1], r_edges[0])  # bright at the top, as in the paper
        for r in r_edges:
            ax_in.axhline(r, color="0.35", lw=0.6)
        step = max(1, int(np.ceil(n / 40)))
        for zx in grid.edges[::step]:
            ax_in.axvline(zx, color="0.75", lw=0.3)
        ax_in.plot([z_ex], [r_ex], marker="*", ms=11, color="red", mec="k", mew=0.4, zorder=5)
        ax_in.set_xlabel(LABEL_ZSPEC)
        ax_in.set_ylabel(LABEL_R)
        ax_in.set_title(f"input space: {n} bins x {n_rows} rows", fontsize=style["font_size"] - 1)
        ax_in.set_yticks(r_edges[:: max(1, n_rows // 10)])

        # Output side, in row units so each magnitude bin k sits beside its central row 2k.
        for ax in (ax_mag, ax_z):
            ax.set_ylim(n_rows, 0)
            ax.axis("off")
        ax_mag.set_xlim(0, 1)
        ax_mag.set_title(f"magnitude\noutput ({m})", fontsize=style["font_size"] - 1)
        h = 1.3
        for k in range(m):
            yc = min(2 * k, n_rows - 1) + 0.5
            ax_mag.add_patch(Rectangle((0.25, yc - h / 2), 0.5, h, ec="k", lw=0.5,
                                       fc=_ACTIVE if k in active else _NULL, clip_on=False))
            ax_mag.text(0.5, yc, str(k + 1), ha="center", va="center", fontsize=style["font_size"] - 2,
                        color="w" if k in active else "k")
        for r in range(n_rows):
            for k in range(m):
                if r in output_rows(k, n_rows):
                    yc = min(2 * k, n_rows - 1) + 0.5
                    hit = r == row_ex and k in active
                    con = ConnectionPatch(
                        xyA=(grid.z_max, 0.5 * (r_edges[r] + r_edges[r + 1])), coordsA=ax_in.transData,
                        xyB=(0.25, yc), coordsB=ax_mag.transData,
                        color="red" if hit else "0.6", lw=1.1 if hit else 0.45,
                    )
                    fig.add_artist(con)

        # Redshift outputs: n bins (thinned) plus the shaded Step 3 extensions.
        n_l, n_r = n_extend
        total = n_l + n + n_r
        x0, x1 = 0.0, 1.0
        scale = (x1 - x0) / total
        ax_z.set_xlim(-0.02, 1.02)
        ax_z.set_title(f"redshift outputs ({m} x {n} bins" + (f", +{n_l}/{n_r} in Step 3)" if total > n else ")"),
                       fontsize=style["font_size"] - 1)
        hz = 1.1
        for k in range(m):
            yc = min(2 * k, n_rows - 1) + 0.5
            y0 = yc - hz / 2
            if n_l:
                ax_z.add_patch(Rectangle((x0, y0), n_l * scale, hz, fc=_EXT, ec="none"))
            if n_r:
                ax_z.add_patch(Rectangle((x0 + (n_l + n) * scale, y0), n_r * scale, hz, fc=_EXT, ec="none"))
            fc = _NULL if k in active else _FLAT
            ax_z.add_patch(Rectangle((x0 + n_l * scale, y0), n * scale, hz, fc=fc, ec="none"))
            if k in active:
                ax_z.add_patch(Rectangle((x0 + (n_l + jbin) * scale, y0), max(scale, 0.012), hz,
                                         fc=_ACTIVE, ec="none"))
            ax_z.add_patch(Rectangle((x0, y0), 1.0, hz, fc="none", ec="k", lw=0.5, clip_on=False))
            ax_mag.annotate("", xy=(1.0, yc), xytext=(0.75, yc),
                            arrowprops=dict(arrowstyle="-", color="0.4", lw=0.6))
        ax_z.text(0.5, n_rows + 0.1, "one bin activated per matching output (dark red);\n"
                  "flat label on the other outputs (light red);\n"
                  + ("green: bins appended in Step 3" if total > n else ""),
                  ha="center", va="top", fontsize=style["font_size"] - 2)
        paths = save_figure(fig, out, style)
    return paths
