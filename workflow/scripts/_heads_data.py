"""What the Step 2/3 scripts read: labels of the training galaxies and their cached
representations, aligned by id."""

import pandas as pd

from photoz_debias.debias import training_galaxies  # noqa: F401  (the scripts import it from here)
from photoz_debias.heads import head_settings  # noqa: F401


def fit_ids(subset: pd.DataFrame):
    return subset.loc[subset["in_fit"], "id"].to_numpy()
