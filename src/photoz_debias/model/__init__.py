"""Stage 2, the model: the CNNs and their training, Baseline and Step 1 (Sects. 3.1-3.2.1).

``networks`` builds the trunks and output units (Fig. 2, App. D.6); ``labels`` holds the
output units' labels and losses (Eq. 3); ``augment`` the dihedral augmentation; ``training``
the one training loop of Baseline and Step 1 and the stamps loader it reads; ``inference``
the densities and the cached representations that Steps 2-3 train on; ``checkpoint`` the
atomic, resumable model files.  It reads the stamps file of ``photoz_debias.data``.
"""
