"""Synthetic SDSS-like and CFHTLS-like surveys (the workflow's embedded default data).

SkyPy populations (luminosity functions, kcorrect spectra, speclite filters) rendered with
GalSim (bulge + disk, per-band PSF, sky noise, Galactic reddening, neighbours), written in
the raw layouts that :mod:`photoz_debias.data.ingest` reads.  ``parameters.py`` holds the
surveys' parameters, ``population.py`` the galaxies, ``render.py`` the stamps,
``survey.py`` the measured catalogue and ``writers.py`` the raw layouts.
"""

from photoz_debias.data.synth.parameters import CFHTLSLikeSurvey, SDSSLikeSurvey, survey_parameters
from photoz_debias.data.synth.survey import generate_population, generate_survey

__all__ = [
    "CFHTLSLikeSurvey",
    "SDSSLikeSurvey",
    "generate_population",
    "generate_survey",
    "survey_parameters",
]
