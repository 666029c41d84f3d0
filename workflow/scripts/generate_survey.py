"""Generate a synthetic survey in the raw layout real data comes in."""

from _common import start

from photoz_debias.data.synth import generate_survey

log = start(snakemake)  # noqa: F821
src = snakemake.params.source  # noqa: F821
info = generate_survey(
    src["survey"],
    snakemake.output[0],  # noqa: F821
    n_galaxies=src["n_galaxies"],
    seed=src["seed"],
    n_jobs=snakemake.threads,  # noqa: F821
    **src.get("params", {}),
)
log.info("generated %s", info)
