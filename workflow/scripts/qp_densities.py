"""A part's densities file as qp files (RAIL's PDF format), one per method."""

from _common import start

from photoz_debias.qp_export import export_densities

sm = snakemake  # noqa: F821
log = start(sm)
methods = sm.params.methods
export_densities(sm.input[0], dict(zip(methods, sm.output)))
log.info("qp ensembles of %s written", ", ".join(methods))
