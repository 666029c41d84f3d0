"""Diagnostics: one module per question about a finished run, and a thin command line
(``python -m photoz_debias.diagnostics <question> ...``, see ``__main__``).

``trunk``: is a trained trunk good enough?  ``labels``: how far do Step 3's labels move?
``seeds``: do the claims hold for each model alone?  ``scattering``: does Eq. 8's model
explain Step 2's residuals?  ``photometry``: is the synthetic photometry realistic?
``runs``: what they read of a finished run.
"""
