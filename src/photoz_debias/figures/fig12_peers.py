"""Fig. 12 of Lin et al. 2022: our Steps 3 and 4 against peer estimates (Sect. 6).

One column per dataset.  Upper: <dz> vs z_spec for the peers and Step 3 (Step 4 faint);
lower: <dz> vs z_photo for the peers and Step 4 (Step 3 faint).  Peers: kNN on photometry
(Beck et al. 2016's idea, ``knn``), RAIL's FlexZBoost and KNN (their modes on our grid,
``rail_flexzboost``, ``rail_knn``) when the metrics have them, the Baseline's ``zmean`` standing in for Pasquet et al.
(2019)'s estimate (``pasquet_zmean``), and the survey's own photo-z (``survey``) when the
metrics have it.
"""

from __future__ import annotations

from photoz_debias.evaluate.table import check_metrics, get_curve
from photoz_debias.figures.style import LABEL_ZPHOTO, LABEL_ZSPEC, finish_residual_panel, method_color, method_label, new_figure, plot_curve, save_figure, style_context

#: (style key, metrics method, metrics estimate); estimate None = the peer's own label.
PEERS = (("knn", "knn", None), ("rail_flexzboost", "rail_flexzboost", "zmode"),
         ("rail_knn", "rail_knn", "zmode"), ("pasquet_zmean", "baseline", "zmean"),
         ("survey", "survey", None))


def plot_fig12_peers(parts: dict, style: dict, out, peers=PEERS, estimate: str = "zmode") -> list:
    """Mean residuals vs z_spec and vs z_photo, Steps 3/4 against peers (Fig. 12).

    Parameters
    ----------
    parts : ordered mapping dataset label (e.g. "SDSS", "CFHTLS-WIDE") -> tidy metrics with
        ``mean_residual_zspec`` and ``mean_residual_zphoto``.
    style, out : merged figure style and output path stem.
    peers : ``(style key, method, estimate)`` triples; absent ones are skipped.
    estimate : our point estimate (``zmode``).

    Returns
    -------
    list of pathlib.Path : the written files.
    """
    if not parts:
        raise ValueError("plot_fig12_peers needs at least one dataset")
    for name, met in parts.items():
        check_metrics(met, f"metrics of {name!r}", need=["mean_residual_zspec", "mean_residual_zphoto"])
    ncol = len(parts)
    with style_context(style):
        fig = new_figure(style, height=0.62 * style["width"] if ncol > 1 else 0.9 * style["width"])
        axes = fig.subplots(2, ncol, squeeze=False)
        handles = {}
        rows = (("mean_residual_zspec", "step3", "step4", LABEL_ZSPEC),
                ("mean_residual_zphoto", "step4", "step3", LABEL_ZPHOTO))
        for j, (name, met) in enumerate(parts.items()):
            for i, (metric, ours, faint, xlabel) in enumerate(rows):
                ax = axes[i, j]
                curves = []
                for key, m, est in peers:
                    c = get_curve(met, m, metric, est)
                    if c is not None:
                        curves.append(c)
                        plot_curve(ax, c, method_color(key, style), method_label(key, style), errors=False)
                        handles[method_label(key, style)] = ax.lines[-1]
                for m, light in ((ours, False), (faint, True)):
                    c = get_curve(met, m, metric, estimate)
                    if c is not None:
                        curves.append(c)
                        plot_curve(ax, c, method_color(m, style), method_label(m, style), light=light)
                        # The legend shows each of our steps as drawn where it is the main curve.
                        if light:
                            handles.setdefault(method_label(m, style), ax.lines[-1])
                        else:
                            handles[method_label(m, style)] = ax.lines[-1]
                finish_residual_panel(ax, curves, xlabel, first_column=j == 0)
                if i == 0:
                    ax.set_title(str(name))
        fig.legend(list(handles.values()), list(handles.keys()), loc="outside upper center",
                   ncol=min(len(handles), 5))
        paths = save_figure(fig, out, style)
    return paths

