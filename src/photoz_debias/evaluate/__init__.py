"""Stage 4, the evaluation: from the ensembles' point estimates to the paper's numbers.

``metrics`` gives the residual, dispersion and bias metrics of one sample (Eqs. 9-13);
``evaluation`` applies them to every method of a part's catalogue with the part's
evaluation settings and the Eq. 6 test-data weights, into the tidy metrics table and the
Appendix E tables; ``table`` is the one way to read that table; ``catalogue`` writes the
documented Parquet files; ``claims`` checks the paper's qualitative claims on a metrics
table; ``peers`` is the kNN photometric peer (Sect. 6); ``report_tables`` prints the README's
Markdown tables.  Figures draw what this stage measured; they compute nothing.
"""
