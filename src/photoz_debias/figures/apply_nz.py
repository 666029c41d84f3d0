"""Apply mode: the estimated n(z) of each tomographic z_photo bin of an applied sample.

One panel per bin: n(z) from the training galaxies Step 4 resampled
(``evaluate.tomography``), its bootstrap band and the bin's estimated mean redshift; for a
validation sample also the withheld z_spec histogram of the bin's galaxies and its mean.
"""

from __future__ import annotations

import numpy as np

from photoz_debias.figures.style import merge_style, new_figure, save_figure, style_context


def plot_apply_nz(nz, bins, out, style=None, truth=None, title: str | None = None) -> list:
    """Draw n(z) per tomographic bin.

    Parameters
    ----------
    nz : the ``nz.parquet`` table (``bin``, ``z_lo``, ``z_hi``, ``nz``, ``nz_err``).
    bins : the ``nz_bins.parquet`` table (``bin``, ``zphoto_lo``, ``zphoto_hi``, ``mean_z``,
        ``n_galaxies``).
    out : output path (its suffix replaced by each of the style's formats).
    style : the ``figures:`` config section (merged over the defaults).
    truth : optional DataFrame ``step4_zmode``, ``z_spec`` of the galaxies (validation).
    title : optional figure title.

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    style = merge_style(style)
    n_b = len(bins)
    ncol = min(3, n_b)
    nrow = int(np.ceil(n_b / ncol))
    with style_context(style):
        fig = new_figure(style, height=1.9 * nrow + 0.4)
        axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False).ravel())
        for ax, b in zip(axes, bins.itertuples()):
            one = nz[nz["bin"] == b.bin]
            e = np.append(one["z_lo"].to_numpy(), one["z_hi"].to_numpy()[-1])
            y, err = one["nz"].to_numpy(), one["nz_err"].to_numpy()
            ax.stairs(y, e, color="C0", label="estimated n(z)")
            ax.fill_between(e, np.append(y - err, (y - err)[-1]), np.append(y + err, (y + err)[-1]),
                            step="post", color="C0", alpha=0.25, lw=0)
            ax.axvline(b.mean_z, color="C0", ls="--", lw=0.8)
            if truth is not None:
                zf = truth["step4_zmode"].to_numpy()
                sel = (zf >= b.zphoto_lo) & (zf < b.zphoto_hi)
                h, _ = np.histogram(truth["z_spec"].to_numpy()[sel], bins=e)
                if h.sum():
                    ax.stairs(h / h.sum() / np.diff(e), e, color="0.4", label="true z_spec")
                    ax.axvline(truth["z_spec"].to_numpy()[sel].mean(), color="0.4", ls=":", lw=0.8)
            ax.set_title(f"{b.zphoto_lo:g} <= z_photo < {b.zphoto_hi:g} ({b.n_galaxies})")
            ax.set_xlabel("z")
            lo = max(e[0], b.zphoto_lo - 0.1 * (e[-1] - e[0]))
            hi = min(e[-1], b.zphoto_hi + 0.1 * (e[-1] - e[0]))
            ax.set_xlim(lo, hi)
        for ax in axes[n_b:]:
            ax.set_visible(False)
        axes[0].set_ylabel("n(z)")
        axes[0].legend(loc="upper right")
        if title:
            fig.suptitle(title)
        return save_figure(fig, out, style)
