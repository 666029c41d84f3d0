"""Draw one of the paper's figures from catalogues, metrics and fit artefacts.

Each rule passes ``params.figure``; the drawing itself is in ``photoz_debias.figures``.
"""

from pathlib import Path

import pandas as pd
from _common import start

from photoz_debias.figures.style import merge_style
from photoz_debias.grid import MagnitudeRows, RedshiftGrid
from photoz_debias.io import part_mask, read_labels

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
style = merge_style(p.style)
out = str(Path(sm.output[0]).with_suffix(""))


def extension(g):
    return (g["extend_left"], g["extend_right"])


def fig03():
    from photoz_debias.figures.fig03_grid import plot_fig03_grid

    plot_fig03_grid(RedshiftGrid.from_config(p.grid), MagnitudeRows(**p.rows), style, out, extension(p.grid))


def fig04():
    from photoz_debias.figures.fig04_balancing import plot_fig04_balancing

    labels = read_labels(sm.input.stamps)
    train = labels[(labels["split"] == 0) & part_mask(labels, p.part)]
    subset = pd.read_parquet(sm.input.subset)
    plot_fig04_balancing(
        train, subset, RedshiftGrid.from_config(p.grid), MagnitudeRows(**p.rows), style, out, p.part["threshold"]
    )


def fig05():
    from photoz_debias.figures.fig05_soft_label import pick_examples, plot_fig05_soft_label

    labels = pd.read_parquet(sm.input.soft_labels)
    subset = pd.read_parquet(sm.input.predictions)
    plot_fig05_soft_label(
        pick_examples(labels), subset, RedshiftGrid.from_config(p.grid), extension(p.grid), style, out
    )


def fig06():
    from photoz_debias.figures.fig06_residuals import plot_fig06_residuals

    plot_fig06_residuals(
        pd.read_parquet(sm.input.metrics),
        pd.read_parquet(sm.input.catalogue),
        p.part["z_break"],
        style,
        out,
        # the grid's own bins: zmode takes grid centres only, other edges would stripe n(z)
        z_edges=RedshiftGrid.from_config(p.grid).edges,
        title=f"{sm.wildcards.dataset} / {sm.wildcards.part}",
    )


def fig08():
    from photoz_debias.figures.fig08_zphot_zspec import plot_fig08_zphot_zspec

    g = p.grid
    plot_fig08_zphot_zspec(
        pd.read_parquet(sm.input.catalogue),
        style,
        out,
        outlier_threshold=p.part["outlier_threshold"],
        z_range=(g["z_min"], g["z_max"]),
        n_pix=g["n_bins"],  # one pixel per grid bin: zmode takes grid centres only
    )


def fig09():
    from photoz_debias.figures.fig09_calibration import plot_fig09_calibration

    experiments = {name: pd.read_parquet(f) for name, f in zip(p.samples, sm.input.metrics)}
    plot_fig09_calibration(experiments, style, out)


def figB1():
    from photoz_debias.figures.figB1_estimates import plot_figB1_estimates

    plot_figB1_estimates(
        pd.read_parquet(sm.input.metrics),
        style,
        out,
        catalogue=pd.read_parquet(sm.input.catalogue),
        outlier_threshold=p.part["outlier_threshold"],
    )


def figC1():
    from photoz_debias.figures.figC1_expected_residuals import (
        C1Part,
        plot_figC1_expected_residuals,
    )

    part = C1Part(
        pd.read_parquet(sm.input.predictions),
        pd.read_parquet(sm.input.error_curves),
        RedshiftGrid.from_config(p.grid),
        extension(p.grid),
    )
    label = f"{sm.wildcards.dataset} / {sm.wildcards.part}"
    plot_figC1_expected_residuals({label: part}, style, out)


def fig11():
    from photoz_debias.figures.fig11_tomography import plot_fig11_tomography

    parts = {lab: pd.read_parquet(f) for lab, f in zip(p.labels, sm.input.metrics)}
    plot_fig11_tomography(parts, style, out)


def fig12():
    from photoz_debias.figures.fig12_peers import plot_fig12_peers

    parts = {lab: pd.read_parquet(f) for lab, f in zip(p.labels, sm.input.metrics)}
    plot_fig12_peers(parts, style, out)


FIGURES = {f.__name__: f for f in (fig03, fig04, fig05, fig06, fig08, fig09, figB1, figC1, fig11, fig12)}
FIGURES[p.figure]()
log.info("wrote %s", sm.output[0])
