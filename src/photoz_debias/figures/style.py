"""Shared look, input checks and atomic saving for the paper's figures (Lin et al. 2022).

Every figure function takes tidy DataFrames (``docs/architecture.md``), a ``style`` dict
(the config's ``figures:`` section, merged over :data:`DEFAULT_STYLE` by
:func:`merge_style`) and an output stem ``out``; it writes ``out.<fmt>`` for each format of
``style["formats"]`` atomically and returns the written paths.  Figures are built on a
bare :class:`matplotlib.figure.Figure` inside :func:`style_context`, so nothing touches
pyplot's global state or the global rcParams.

Metrics the figures read (``metrics.parquet``: ``method, estimate, metric, bin_lo, bin_hi,
value, error``; ``estimate`` is ``zmode`` / ``zmean`` / ``zmedian``; peers ``knn`` and
``survey`` may carry any single estimate label):

per-bin curves (``bin_lo``/``bin_hi`` set)
    ``mean_residual_zspec``   weighted <dz> per z_spec bin, error from Eq. 6 (Figs. 6, 7, 9,
                                 10, 12, B.1, D)
    ``mean_residual_zphoto``  plain <dz> per z_photo bin, error = RMS (Figs. 9, 10, 12, B.1)
    ``sigma_mad_rmag``           Eq. 11 per r bin (Figs. 6, 7)
    ``delta_mean_z_zphoto``   Eq. 12 per z_photo tomographic bin (Fig. 11)
    ``delta_mean_z_rmag``        Eq. 12 per r bin (Fig. 11)
    ``wasserstein1_rmag``                  Eq. 13 per r bin (Fig. 11)
scalars (``bin_lo``/``bin_hi`` NaN)
    ``sigma_mad``, ``outlier_fraction`` (Figs. B.1, D), ``slope_low``, ``intercept_low``,
    ``slope_high``, ``intercept_high`` (Eq. 9 A, B, C, D; Figs. 6, 7, D),
    ``total_variation`` (Eq. 10), ``tv_floor`` (simulated, value = mean,
    error = 1 sigma; Figs. 6, 7, D).  ``mean_residual`` is not plotted.

Methods (``method`` column; the catalogue's column prefixes): ``baseline step1 step2 step3
step3_no_step2 step3a step3b step4 knn rail_flexzboost rail_knn survey``; ``pasquet_zmean`` is the key for Baseline's
``zmean`` curve drawn as Pasquet et al. (2019)'s estimate (Fig. 12).
"""

from __future__ import annotations

import contextlib
import copy
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from photoz_debias.atomic import atomic_path
from photoz_debias.methods import LABELS, method_key

#: Order in which methods appear in legends.
METHOD_ORDER = (
    "baseline", "step1", "step2", "step3", "step3_no_step2", "step3a", "step3b", "step4",
    "knn", "rail_flexzboost", "rail_knn", "pasquet_zmean", "survey",
)

#: Defaults for the config's ``figures:`` section; a user style is merged over them.
DEFAULT_STYLE: dict = {
    "dpi": 150,  # PNG resolution, dots per inch
    "font_size": 9,  # base font size, pt
    "width": 7.0,  # full figure width, inches (A4 text width)
    "formats": ["png", "pdf"],
    "colormap": "viridis",  # 2-D densities and swept-value colours
    "line_width": 1.2,  # pt
    "n_example_stamps": 12,  # used by example_stamps.py
    "colors": {
        "baseline": "#000000",
        "step1": "#1f77b4",
        "step2": "#2ca02c",
        "step3": "#d62728",
        "step3_no_step2": "#ff7f0e",
        "step3a": "#8c564b",
        "step3b": "#e377c2",
        "step4": "#9467bd",
        "knn": "#17becf",
        "rail_flexzboost": "#393b79",
        "rail_knn": "#637939",
        "pasquet_zmean": "#7f7f7f",
        "survey": "#bcbd22",
        "z_spec": "#b0b0b0",
        "zmode": "#d62728",
        "zmean": "#1f77b4",
        "zmedian": "#2ca02c",
    },
    "labels": {
        **LABELS,
        "pasquet_zmean": "Baseline $z_\\mathrm{mean}$ (Pasquet et al. 2019)",
        "z_spec": "$z_\\mathrm{spec}$",
        "zmode": "$z_\\mathrm{mode}$",
        "zmean": "$z_\\mathrm{mean}$",
        "zmedian": "$z_\\mathrm{median}$",
    },
}

_FORMATS = ("png", "pdf", "svg")

# Axis labels shared by all figures; redshifts are dimensionless.
LABEL_ZSPEC = "$z_\\mathrm{spec}$"
LABEL_ZPHOTO = "$z_\\mathrm{photo}$"
LABEL_R = "$r$ [mag]"
LABEL_DZ = "$\\langle\\Delta z\\rangle$"


def merge_style(user: dict | None = None) -> dict:
    """Merge a user ``figures:`` section over :data:`DEFAULT_STYLE` and validate it.

    ``colors`` and ``labels`` are merged key by key, so a user may recolour one method.

    Raises
    ------
    ValueError
        On an unknown key (named in the message) or an invalid value.
    """
    style = copy.deepcopy(DEFAULT_STYLE)
    for key, value in (user or {}).items():
        if key not in DEFAULT_STYLE:
            raise ValueError(
                f"unknown figure style key {key!r}; expected one of {sorted(DEFAULT_STYLE)}"
            )
        if key in ("colors", "labels"):
            if not isinstance(value, dict):
                raise ValueError(f"figure style {key!r} must be a mapping, got {value!r}")
            style[key].update({method_key(k): v for k, v in value.items()})
        else:
            style[key] = value
    if not (isinstance(style["dpi"], (int, np.integer)) and 30 <= style["dpi"] <= 1200):
        raise ValueError(f"figure style 'dpi' must be an integer in [30, 1200], got {style['dpi']!r}")
    if not (isinstance(style["width"], (int, float)) and style["width"] > 0):
        raise ValueError(f"figure style 'width' must be positive inches, got {style['width']!r}")
    if not (isinstance(style["font_size"], (int, float)) and 4 <= style["font_size"] <= 30):
        raise ValueError(f"figure style 'font_size' must be in [4, 30] pt, got {style['font_size']!r}")
    fmts = style["formats"]
    if isinstance(fmts, str) or not fmts or any(f not in _FORMATS for f in fmts):
        raise ValueError(f"figure style 'formats' must be a non-empty list from {_FORMATS}, got {fmts!r}")
    if style["colormap"] not in matplotlib.colormaps:
        raise ValueError(f"figure style 'colormap': unknown matplotlib colormap {style['colormap']!r}")
    return style


def _rc(style: dict) -> dict:
    fs = float(style["font_size"])
    return {
        "font.size": fs,
        "axes.titlesize": fs,
        "axes.labelsize": fs,
        "xtick.labelsize": fs - 1,
        "ytick.labelsize": fs - 1,
        "legend.fontsize": fs - 1.5,
        "legend.frameon": False,
        "lines.linewidth": style["line_width"],
        "lines.markersize": 3.0,
        "errorbar.capsize": 0,
        "axes.linewidth": 0.6,
        "xtick.direction": "in",
        "ytick.direction": "in",
        "xtick.top": True,
        "ytick.right": True,
        "image.cmap": style["colormap"],
        "savefig.dpi": style["dpi"],
        "figure.dpi": style["dpi"],
        "pdf.fonttype": 42,  # embed TrueType so the PDF text stays editable
        "mathtext.default": "regular",
    }


@contextlib.contextmanager
def style_context(style: dict):
    """rcParams of ``style`` for the duration of the block; restored afterwards."""
    with matplotlib.rc_context(_rc(style)):
        yield


def new_figure(style: dict, height: float, width: float | None = None) -> Figure:
    """A bare constrained-layout figure ``width`` x ``height`` inches (width from style).

    Call inside :func:`style_context`.
    """
    w = float(style["width"] if width is None else width)
    return Figure(figsize=(w, float(height)), dpi=style["dpi"], layout="constrained")


def output_paths(out, style: dict) -> list[Path]:
    """``out`` with each of the style's formats as suffix (a known suffix on ``out`` is dropped)."""
    out = Path(out)
    if out.suffix.lstrip(".") in _FORMATS:
        out = out.with_suffix("")
    return [out.parent / f"{out.name}.{fmt}" for fmt in style["formats"]]


def save_figure(fig: Figure, out, style: dict) -> list[Path]:
    """Write ``fig`` as ``out.<fmt>`` for every format, each atomically.

    Each file is rendered to a temporary name in the target folder and moved into place
    with :func:`os.replace`, so a crash never leaves a half-written figure.  The canvas
    size is kept (no ``bbox_inches='tight'``): the PNG is exactly width x height x dpi.
    """
    paths = output_paths(out, style)
    for path in paths:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix[1:], dpi=style["dpi"])
        # The layout is solved by the first render; reuse it for the other formats
        # (constrained layout is most of the rendering time).
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")
    return paths


def method_color(method: str, style: dict) -> str:
    """The colour of ``method`` (same in every figure); grey for unknown methods."""
    return style["colors"].get(method_key(method), "#555555")


def method_label(method: str, style: dict) -> str:
    """The legend label of ``method``; the key itself for unknown methods."""
    return style["labels"].get(method_key(method), method)


def plot_curve(ax, curve, color, label=None, errors=True, light=False, **kw):
    """Draw a curve from :func:`get_curve`: a line with an error band (or a faint line)."""
    x, _, _, y, e = curve
    if light:
        ax.plot(x, y, color=color, lw=0.8, alpha=0.45, label=label, **kw)
        return
    ax.plot(x, y, color=color, label=label, **kw)
    if errors and np.isfinite(e).any():
        ax.fill_between(x, y - e, y + e, color=color, alpha=0.18, lw=0, step=None)


def zero_line(ax, y: float = 0.0):
    ax.axhline(y, color="k", ls="--", lw=0.7, zorder=0)


def curve_range(curves) -> tuple[float, float]:
    """The x-extent covered by the bins of several curves."""
    lo = [c[1].min() for c in curves if c is not None]
    hi = [c[2].max() for c in curves if c is not None]
    return (min(lo), max(hi)) if lo else (0.0, 1.0)


def finish_residual_panel(ax, curves, xlabel: str, first_column: bool) -> None:
    """The common end of a mean-residual panel: zero line, robust y limits, the x range the
    curves cover, the x label, and the <dz> label on the first column only."""
    zero_line(ax)
    robust_ylim(ax, curves)
    if curves:
        ax.set_xlim(*curve_range(curves))
    ax.set_xlabel(xlabel)
    if first_column:
        ax.set_ylabel(LABEL_DZ)


def robust_ylim(ax, curves, pad: float = 0.15, q: float = 0.02, include_zero: bool = True):
    """Limit the y axis to the central quantiles of the curves' values (± errors).

    Nearly empty edge bins can have huge errors; without this they would flatten
    every curve into a line.
    """
    vals = []
    for c in curves:
        if c is None:
            continue
        y, e = c[3], np.nan_to_num(c[4])
        vals.append(np.concatenate([y - e, y + e]))
    if not vals:
        return
    v = np.concatenate(vals)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return
    lo, hi = np.quantile(v, [q, 1 - q])
    if include_zero:
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    span = hi - lo if hi > lo else max(abs(hi), 1e-3)
    ax.set_ylim(lo - pad * span, hi + pad * span)


def legend_outside_top(fig, ax, ncol: int):
    """One shared legend above ``ax`` (handles from ``ax``)."""
    h, lab = ax.get_legend_handles_labels()
    if h:
        fig.legend(h, lab, loc="outside upper center", ncol=ncol)
