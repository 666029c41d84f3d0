"""The catalogue of one part: one row per test galaxy, every method's estimates, Step 4
and the kNN peer (plus RAIL's peers when they ran, and the survey's own photo-z when the
input has one)."""

import numpy as np
import pandas as pd
from _common import start

from photoz_debias.evaluate.catalogue import catalogue_columns, write_catalogue
from photoz_debias.methods import METHODS
from photoz_debias.io import file_bands, part_mask, read_labels
from photoz_debias.evaluate.peers import fill_non_detections, knn_photo_z, peer_magnitude_columns

sm = snakemake  # noqa: F821
log = start(sm)
p = sm.params
est = pd.read_parquet(sm.input.estimates)
cat = est[est["split"] == 1].drop(columns="split").reset_index(drop=True)
step4 = pd.read_parquet(sm.input.step4).drop(columns="step4_shift")
cat = cat.merge(step4, on="id", how="left", validate="one_to_one")

labels = read_labels(sm.input.stamps)
bands = file_bands(sm.input.stamps)
mags = peer_magnitude_columns(bands, labels.columns)
extra = labels.set_index("id")
if mags:
    log.info("kNN peer on %s", ", ".join(mags))
    train = labels[(labels["split"] == 0) & part_mask(labels, p.part)]
    train_mags = fill_non_detections(train[mags].to_numpy())
    test_mags = fill_non_detections(extra.loc[cat["id"], mags].to_numpy(), train_mags)
    cat["knn_z"] = knn_photo_z(train_mags, train["z_spec"].to_numpy(), test_mags, k=p.knn["k"])
else:
    log.info("fewer than two of the bands %s have magnitudes: the kNN peer is left out", bands)
for path in sm.input.rail:
    rail = pd.read_parquet(path)
    cat = cat.merge(rail, on="id", how="left", validate="one_to_one")
    log.info("RAIL peers: %s", ", ".join(c for c in rail.columns if c != "id"))
for c in ("photoz_survey", "z_true"):
    if c in labels:
        name = "survey_photoz" if c == "photoz_survey" else c
        cat[name] = extra.loc[cat["id"], c].to_numpy()
docs = catalogue_columns(METHODS)
write_catalogue(cat, sm.output[0], docs, metadata={"part": sm.wildcards.part})
log.info("catalogue: %d galaxies, %d columns", *cat.shape)
