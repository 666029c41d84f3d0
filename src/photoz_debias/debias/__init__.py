"""Stage 3, the debiasing: Steps 2-4 on the cached representations, and the ensembles.

``balance`` draws Step 2's near-balanced subset (Sect. 3.2.2, Fig. 4); ``soft_labels`` fits
Step 3's soft Gaussian labels (Eqs. 4-8, Fig. 5) and ``scattering`` Appendix C's expected
residuals (Eq. C.1); ``heads`` trains the redshift heads; ``steps`` is Steps 2 and 3 for one
seed, one function per workflow rule; ``calibrate`` is Step 4 (Sect. 3.2.4); ``ensemble``
averages the seeds' densities and ``estimates`` takes their point estimates (Sect. 4.1,
App. B).  It reads the model stage's files; the evaluation reads its outputs.
"""
