"""Example stamps of a dataset as colour composites with their labels."""

from pathlib import Path

from _common import start

from photoz_debias.figures.example_stamps import plot_example_stamps
from photoz_debias.figures.style import merge_style

sm = snakemake  # noqa: F821
log = start(sm)
style = merge_style(sm.params.style)
png = sm.output[0]
pdf = str(Path(png).with_suffix(".pdf")) if "pdf" in style["formats"] else None
plot_example_stamps(sm.input[0], png, pdf, n=style["n_example_stamps"], style=style)
