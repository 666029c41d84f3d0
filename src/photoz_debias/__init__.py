"""photoz_debias: the reference implementation of Lin et al. 2022 (A&A 662, A36).

Photometric redshifts from galaxy images with CNNs, and the four steps that remove the
redshift-dependent residuals and mode collapse of data-driven photo-z estimation.
"""

__version__ = "0.1.0"
