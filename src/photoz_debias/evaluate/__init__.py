"""Stage 4, the evaluation: from point estimates to the paper's numbers.

``estimates`` gives the point estimates of a density (App. B); ``metrics`` the residual,
dispersion and bias metrics (Eqs. 9-13, App. E); ``evaluation`` the Eq. 6 test-data weights
and a part's evaluation settings; ``catalogue`` the documented Parquet writers of the
catalogue and the metrics table; ``claims`` checks the paper's qualitative claims on a
metrics table; ``peers`` is the kNN photometric peer (Sect. 6); ``report_tables`` prints the
README's Markdown tables.  Figures draw what this stage measured; they compute nothing.
"""
