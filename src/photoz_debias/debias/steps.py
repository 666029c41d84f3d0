"""Steps 2 and 3 for one ensemble seed, one function per workflow rule (Lin et al. 2022,
Sects. 3.2.2-3.2.3).

The rules read files, call these functions with arrays and the config settings, and write
what they return.  No file I/O happens here.

Pipeline for one seed and one debiasing part (SDSS ``all``; CFHTLS ``deep``/``wide``):

1. ``select_subset``: the near-balanced subset of the part's eligible training galaxies
   (``balance.balanced_subset``), then down-sampled to ``subset_size`` (SDSS: 60,000).
   The down-sampled galaxies (``in_fit``) are the ones Step 2 and Step 3 train on and the
   ones the soft labels are fitted on ("In Steps 2 and 3, the constructed near-balanced
   training subset is downsampled to 60,000 instances", Sect. 4.1); without down-sampling
   ``in_fit`` is the whole subset.  With ``threshold=None`` no balancing is done (the
   training set of Step 3\\2).
2. ``step2``: Step 1's redshift heads fine-tuned on the ``in_fit`` galaxies with hard
   one-hot labels on the original grid (trunk, FC layers and magnitude head frozen).
3. ``predict_zphoto`` + ``fit_soft_labels``: zmode of the Step 2 model (Eq. 2 with Step 1's
   magnitude head; identity view of the cached training representations) on the same
   galaxies, then Eqs. 4-8 (``soft_labels.fit_soft_labels``).
4. ``step3``: fresh heads on the extended grid trained on the same galaxies with the
   labels of the chosen variant:

   * ``step3``: soft Gaussian labels at ``z*`` (Eq. 8), width ``sigma_1(k)`` (Eq. 4);
   * ``step3a``: hard one-hot labels at ``z*``;
   * ``step3b``: soft labels at ``z0`` (no mean shift);
   * ``step3_no_step2`` (Step 3\\2): the soft-label table is fitted on Step 1's
     predictions over the part's full eligible training set (``select_subset`` with
     ``threshold=None``, down-sampled to ``subset_size`` if set), and the heads are
     trained on those galaxies.

5. ``densities_from_heads``: test densities by Eq. 2 (Step 1's magnitude head).

Seeds: ``select_subset`` draws from ``numpy.random.default_rng(seed)``; head training and
Step 3's re-initialisation use ``HeadSettings.seed``.  The same seed gives the same numbers.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from photoz_debias.model.augment import DIHEDRAL_VIEW_PROBS
from photoz_debias.debias.balance import balanced_subset, downsample
from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows, RedshiftGrid, activated_outputs
from photoz_debias.debias.heads import HeadSettings, head_densities, init_heads, train_heads
from photoz_debias.debias import soft_labels as sl

#: the identity view of the cached training representations (augment.DIHEDRAL_VIEWS[0])
IDENTITY_VIEW = 0

SUBSET_COLUMNS = ["id", "z_bin", "mag_row", "cell", "in_fit"]


def _view_probs(reps, view_probs):
    """The views' probabilities, or None for (N, D) representations: catalogue features
    have no dihedral views, so there is one view and no augmentation."""
    return None if np.ndim(reps) == 2 else view_probs


def rows_of_ids(id_all: np.ndarray, ids: np.ndarray, file: str | None = None) -> np.ndarray:
    """Positions of ``ids`` in ``id_all`` (e.g. ``representations.h5`` ``id_train``)."""
    id_all = np.asarray(id_all)
    ids = np.asarray(ids)
    if id_all.size == 0:
        if ids.size:
            raise InputError("no galaxies to look ids up in", file=file, field="id")
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(id_all, kind="stable")
    pos = np.clip(np.searchsorted(id_all[order], ids), 0, id_all.size - 1)
    missing = id_all[order][pos] != ids
    if missing.any():
        bad = int(np.flatnonzero(missing)[0])
        raise InputError("galaxy id not found", file=file, row=bad, gal_id=ids[bad], field="id",
                         expected="ids present in the training set")
    return order[pos]


def training_galaxies(stamps, representations, ids) -> tuple[pd.DataFrame, np.ndarray]:
    """Labels (DataFrame in the order of ``ids``) and (N, 8, D) cached representations of
    the training galaxies ``ids`` (what Steps 2 and 3 train on)."""
    from photoz_debias.io import read_labels, read_representations

    labels = read_labels(stamps)
    train = labels[labels["split"] == 0].reset_index(drop=True)
    rows = rows_of_ids(train["id"].to_numpy(), ids, file=str(stamps))
    reps = read_representations(representations, "train", rows)
    return train.iloc[rows].reset_index(drop=True), reps


def fit_ids(subset: pd.DataFrame) -> np.ndarray:
    """Ids of a balanced subset's down-sampled galaxies (``in_fit``), which Steps 2-3 train on."""
    return subset.loc[subset["in_fit"], "id"].to_numpy()


def select_subset(
    ids: np.ndarray,
    z_spec: np.ndarray,
    mag_row: np.ndarray,
    eligible: np.ndarray | None,
    grid: RedshiftGrid,
    rows: MagnitudeRows,
    threshold: int | None,
    subset_size: int | None,
    seed: int,
) -> pd.DataFrame:
    """The Step 2 near-balanced subset of one part (Sect. 3.2.2, Fig. 4), as a table.

    Parameters
    ----------
    ids, z_spec, mag_row : (N,) the training galaxies (all of them; ``eligible`` selects).
    eligible : (N,) bool or None
        Galaxies of this part that may be used (CFHTLS: HQ spec-z of one field).
    grid, rows : the original redshift grid and the magnitude rows (cells = bins x rows).
    threshold : balancing threshold ``th`` (SDSS 200, WIDE 100, DEEP 5); None = no
        balancing (Step 3\\2's training set).
    subset_size : down-sampling target (SDSS 60,000); None keeps the whole subset.
    seed : the ensemble seed; each seed draws its own subset.

    Returns
    -------
    DataFrame ``id, z_bin, mag_row, cell, in_fit``, one row per subset galaxy in training
    order; ``cell = z_bin * n_rows + mag_row``; ``in_fit`` marks the down-sampled galaxies.
    """
    ids = np.asarray(ids)
    z_spec = np.asarray(z_spec, dtype=np.float64)
    mag_row = np.asarray(mag_row, dtype=np.int64)
    for name, a in (("z_spec", z_spec), ("mag_row", mag_row)):
        if a.shape != ids.shape:
            raise InputError(f"{a.size} entries for {ids.size} ids", field=name,
                             expected="one entry per training galaxy")
    bad = ~np.isfinite(z_spec)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("not finite", row=i, gal_id=ids[i], field="z_spec", expected="finite")
    if mag_row.size and (mag_row.min() < 0 or mag_row.max() >= rows.n_rows):
        i = int(np.flatnonzero((mag_row < 0) | (mag_row >= rows.n_rows))[0])
        raise InputError(f"row {mag_row[i]}", row=i, gal_id=ids[i], field="mag_row",
                         expected=f"0..{rows.n_rows - 1}")
    z_bin = grid.bin_index(z_spec)
    rng = np.random.default_rng(int(seed))
    if threshold is None:
        subset = np.arange(ids.size) if eligible is None else np.flatnonzero(eligible)
    else:
        subset = balanced_subset(z_bin, mag_row, threshold, rng, eligible)
    fit = downsample(subset, subset_size, rng)
    return pd.DataFrame({
        "id": ids[subset],
        "z_bin": z_bin[subset].astype(np.int32),
        "mag_row": mag_row[subset].astype(np.int16),
        "cell": (z_bin[subset] * rows.n_rows + mag_row[subset]).astype(np.int64),
        "in_fit": np.isin(subset, fit),
    })


def step2(
    reps: np.ndarray,
    z_spec: np.ndarray,
    mag_row: np.ndarray,
    grid: RedshiftGrid,
    heads_weight1: np.ndarray,
    heads_bias1: np.ndarray,
    settings: HeadSettings,
    view_probs=DIHEDRAL_VIEW_PROBS,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Step 2 (Sect. 3.2.2): fine-tune Step 1's redshift heads on the balanced subset.

    Parameters
    ----------
    reps : (N, 8, D) cached representations of the ``in_fit`` galaxies (8 dihedral views),
        or (N, D) in catalogue mode (one view: ``view_probs`` is then not used).
    z_spec, mag_row : (N,) their spectroscopic redshifts and magnitude rows.
    grid : the original redshift grid (hard one-hot labels at ``grid.bin_index(z_spec)``).
    heads_weight1, heads_bias1 : (m, n, D), (m, n) Step 1's redshift heads.
    settings : HeadSettings (paper: 40k iterations, batch 32, lr 2e-5).

    Returns
    -------
    heads_weight (m, n, D), heads_bias (m, n), training summary.
    """
    labels = grid.bin_index(z_spec)
    lo, hi = activated_outputs(mag_row)
    return train_heads(reps, _view_probs(reps, view_probs), labels, labels, lo, hi,
                       heads_weight1, heads_bias1, settings, log)


def densities_from_heads(reps: np.ndarray, heads_weight: np.ndarray, heads_bias: np.ndarray,
                         mag_weight: np.ndarray, mag_bias: np.ndarray) -> np.ndarray:
    """Densities (N, n) by Eq. 2 from (N, D) representations, the redshift heads of a step
    and Step 1's magnitude head (``mag_weight`` (m, D), ``mag_bias`` (m,))."""
    return head_densities(reps, heads_weight, heads_bias, mag_weight, mag_bias)


def predict_zphoto(reps: np.ndarray, heads_weight: np.ndarray, heads_bias: np.ndarray,
                   mag_weight: np.ndarray, mag_bias: np.ndarray, grid: RedshiftGrid) -> np.ndarray:
    """zmode (bin centre of the Eq. 2 density's maximum) of training galaxies.

    ``reps`` may be (N, 8, D) (the identity view is used) or (N, D).  ``grid`` is the grid
    of the heads.  Returns (N,) redshifts.
    """
    reps = np.asarray(reps)
    if reps.ndim == 3:
        reps = reps[:, IDENTITY_VIEW]
    p = head_densities(reps, heads_weight, heads_bias, mag_weight, mag_bias)
    return grid.centres[np.argmax(p, axis=1)]


def fit_soft_labels(ids: np.ndarray, z_spec: np.ndarray, mag_row: np.ndarray,
                    z_photo: np.ndarray, grid: RedshiftGrid,
                    n_outputs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eqs. 4-8 on the ``in_fit`` galaxies from the previous step's zmode.

    ``z_photo``: Step 2's zmode for Step 3 (and 3a, 3b); Step 1's zmode over the full
    eligible set for Step 3\\2.  Returns ``(soft_labels, error_curves)`` DataFrames, see
    ``soft_labels.fit_soft_labels``.
    """
    return sl.fit_soft_labels(ids=ids, z_spec=z_spec, z_photo=z_photo, mag_row=mag_row,
                              grid=grid, n_outputs=n_outputs)


def step3(
    reps: np.ndarray,
    ids: np.ndarray,
    mag_row: np.ndarray,
    soft_label_table: pd.DataFrame,
    grid: RedshiftGrid,
    extension: tuple[int, int],
    n_outputs: int,
    variant: str,
    settings: HeadSettings,
    view_probs=DIHEDRAL_VIEW_PROBS,
    log: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, dict, RedshiftGrid]:
    """Step 3 and its variants (Sect. 3.2.3): fresh heads on the extended grid.

    Parameters
    ----------
    reps : (N, 8, D) cached representations of the training galaxies (the ``in_fit``
        galaxies; for Step 3\\2 those of the unbalanced selection), or (N, D) in catalogue
        mode (one view: ``view_probs`` is then not used).
    ids, mag_row : (N,) their ids and magnitude rows.
    soft_label_table : the ``soft_labels.parquet`` table covering these galaxies.
    grid : the original grid; ``extension = (n_left, n_right)`` bins appended (Table 1:
        SDSS (90, 90), CFHTLS (500, 1000)).
    n_outputs : ``m``.
    variant : 'step3' | 'step3a' | 'step3b' | 'step3_no_step2'.
    settings : HeadSettings; its seed also seeds the re-initialisation.

    Returns
    -------
    heads_weight (m, n_ext, D), heads_bias (m, n_ext), training summary, the extended grid.
    """
    ext_grid = grid.extend(*extension)
    label_lo, label_hi = sl.labels_from_table(soft_label_table, ids, mag_row, ext_grid, variant)
    lo, hi = activated_outputs(mag_row)
    w0, b0 = init_heads(n_outputs, ext_grid.n_bins, np.asarray(reps).shape[-1], settings.seed)
    w, b, summary = train_heads(reps, _view_probs(reps, view_probs), label_lo, label_hi, lo, hi,
                                w0, b0, settings, log)
    summary["variant"] = variant
    return w, b, summary, ext_grid
