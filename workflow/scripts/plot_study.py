"""Figs. D.1-D.9: one Appendix D study of one part, from the study table (or, Fig. D.5, from
the points' catalogues)."""

from pathlib import Path

import pandas as pd
from _common import start

from photoz_debias.figures.style import merge_style

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
style = merge_style(p.style)
out = str(Path(sm.output[0]).with_suffix(""))
wc = sm.wildcards
title = f"{wc.dataset} / {wc.part}"

if p.figure == "zphot_zspec":  # Fig. D.5: Baseline z_photo vs z_spec per point
    from photoz_debias.figures.fig08_zphot_zspec import plot_zphot_zspec_panels

    panels = {}
    for value, path in zip(p.values, sm.input):
        cat = pd.read_parquet(path)
        panels[f"Baseline, {p.study} = {value:,}"] = (cat["z_spec"], cat["baseline_zmode"])
    g = p.grid
    plot_zphot_zspec_panels(
        panels,
        style,
        out,
        outlier_threshold=p.part["outlier_threshold"],
        z_range=(g["z_min"], g["z_max"]),
        ncols=2,  # three columns leave no room for the panel titles at the page width
    )
else:
    from photoz_debias.figures.figD_sweeps import plot_figD_curves, plot_figD_sweep

    table = pd.read_parquet(sm.input[0])
    table = table[table["part"] == wc.part]
    scalars = table[table["bin_lo"].isna()]
    curves = table[table["bin_lo"].notna()]
    if p.figure == "curves":  # Fig. D.6
        plot_figD_curves(curves, p.study, style, out, methods=p.curve_methods, title=title)
    else:
        plot_figD_sweep(
            scalars,
            p.study,
            style,
            out,
            curves=curves,
            curve_methods=p.curve_methods,
            title=title,
        )
log.info("wrote %s", sm.output[0])
