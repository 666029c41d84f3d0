"""Stage 1, the data: raw survey layouts in, one preprocessed stamps file out.

``ingest`` reads every supported raw layout (FITS cubes, catalogue plus cut-outs, the
synthetic surveys' files) in chunks and validates it; ``preprocess`` turns a source into the
stamps HDF5 that every later stage reads (Sect. 2.3 of Lin et al. 2022: labels, train/test
split, stamp scaling); ``synth`` draws and renders the synthetic SDSS-like and CFHTLS-like
surveys that stand in for the paper's data.  Nothing here knows about networks or debiasing.
"""
