"""The synthetic SDSS-like survey against the real SDSS Main Galaxy Sample (MLZ catalogue):
n(z), n(r) and median colours vs redshift, as written into the preprocessed labels."""

from pathlib import Path

from _common import start

from photoz_debias.io import read_labels
from photoz_debias.data.synth.realism import load_mgs, plot_realism, realism_summary

sm = snakemake  # noqa: F821
log = start(sm)
labels = read_labels(sm.input[0]).rename(columns={"z_spec": "z"})
mgs = load_mgs(sm.params.reference)
png = sm.output[0]
pdf = str(Path(png).with_suffix(".pdf")) if "pdf" in sm.params.style["formats"] else None
# the catalogue carries dereddened Petrosian magnitudes (the SDSS selection band), up to
# 0.24 mag fainter than the model/total magnitudes of the MGS file
plot_realism(labels, mgs, png, pdf, r_kind="Petrosian r")
log.info("realism summary:\n%s", realism_summary(labels, mgs).to_string())
