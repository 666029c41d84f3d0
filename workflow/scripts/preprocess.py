"""Raw stamps (synthetic or real) -> the preprocessed stamps HDF5 (Eq. 1, labels, split)."""

from _common import start

from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import write_preprocessed

log = start(snakemake)  # noqa: F821
p = snakemake.params.prep  # noqa: F821
synthetic = p["source"]["layout"] == "synthetic"
raw_dir = snakemake.input[0] if synthetic else None  # noqa: F821
applied = p.get("applied", False)  # apply mode: no z_spec needed, no split
source = open_source(p["source"], base_dir=raw_dir, labelled=not applied)
n_test = (p["split"] or {}).get("n_test")
if source.split is not None and isinstance(n_test, int):
    # A source that fixes the split (index arrays, train/test catalogues) overrides the
    # config's; a stated n_test that disagrees means the config describes other files.
    have = int((source.split == 1).sum())
    if have != n_test:
        raise InputError(
            f"the source's test sample holds {have} galaxies",
            file=source.table_file,
            field="split.n_test",
            expected=f"split.n_test = {have}, or no n_test when the source fixes the split",
        )
info = write_preprocessed(
    source,
    snakemake.output[0],  # noqa: F821
    rows=MagnitudeRows(**p["rows"]),
    split=p["split"],
    pixel_divisor=p["pixel_divisor"],
    z_range=tuple(p["valid_range"]["z"]),
    r_range=tuple(p["valid_range"]["r"]),
    provenance={"config_hash": p["config_hash"], "config": p},
    applied=applied,
)
log.info("wrote %s: %s", snakemake.output[0], info)  # noqa: F821
