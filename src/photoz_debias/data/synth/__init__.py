"""Synthetic SDSS-like and CFHTLS-like surveys (the workflow's embedded default data).

SkyPy populations (luminosity functions, kcorrect spectra, speclite filters) rendered with
GalSim (bulge + disk, per-band PSF, sky noise, Galactic reddening, neighbours), written in
the raw layouts that :mod:`photoz_debias.data.ingest` reads.  See ``survey.py`` for the layouts
and the parameters.
"""

from photoz_debias.data.synth.survey import (
    CFHTLSLikeSurvey,
    SDSSLikeSurvey,
    generate_population,
    generate_survey,
    survey_parameters,
)

__all__ = [
    "CFHTLSLikeSurvey",
    "SDSSLikeSurvey",
    "generate_population",
    "generate_survey",
    "survey_parameters",
]
