"""What the Step 2/3 scripts read: labels of the training galaxies and their cached
representations, aligned by id."""

import pandas as pd

from photoz_debias.debias import rows_of_ids
from photoz_debias.heads import HeadSettings
from photoz_debias.io import read_labels, read_representations


def training_galaxies(stamps, representations, ids):
    """Labels (DataFrame in the order of ``ids``) and (N, 8, D) representations."""
    labels = read_labels(stamps)
    train = labels[labels["split"] == 0].reset_index(drop=True)
    rows = rows_of_ids(train["id"].to_numpy(), ids, file=str(stamps))
    reps = read_representations(representations, "train", rows)
    return train.iloc[rows].reset_index(drop=True), reps


def head_settings(heads: dict, seed: int, log_every: int | None = None) -> HeadSettings:
    it = heads["iterations"]
    return HeadSettings(
        iterations=it,
        batch_size=heads["batch_size"],
        lr=heads["lr"],
        seed=seed,
        log_every=log_every or max(1, it // 10),
    )


def fit_ids(subset: pd.DataFrame):
    return subset.loc[subset["in_fit"], "id"].to_numpy()
