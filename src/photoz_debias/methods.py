"""The methods of Lin et al. 2022 and their names: the one registry that the workflow, the
catalogue, the tables and the figures read.

A method is a way of getting a redshift density per test galaxy: the Baseline network, the
multi-channel output unit (Step 1), the heads retrained on the balanced subset (Step 2),
Step 3 with its variants 3a, 3b and 3\\2 (Sect. 3.2.3, Table 3), Step 4's calibration
(Sect. 3.2.4) and the photometric peers (Sect. 6).
"""

from __future__ import annotations

#: every method of the Steps 1-3 chain, in the paper's order (Figs. 6-7, Tables E.1-E.3):
#: the ensemble gives each of them a density and the catalogue its point estimates
METHODS = ("baseline", "step1", "step2", "step3", "step3a", "step3b", "step3_no_step2")

#: the methods whose Step 1 representations go through separately trained heads
#: (every method after Step 1; Baseline and Step 1 are whole networks)
HEAD_METHODS = METHODS[2:]

#: the methods an applied sample (apply mode) gets densities of: the Baseline, and Step 3,
#: which Step 4 calibrates
APPLIED_METHODS = ("baseline", "step3")

#: the photometric peers (Sect. 6), as the catalogue names them: our kNN (``knn_z``), RAIL's
#: FlexZBoost and KNN (``rail_*_zmode`` ...; :mod:`photoz_debias.evaluate.rail_peers`) and the
#: survey's own photo-z
PEERS = ("knn", "rail_flexzboost", "rail_knn", "survey_photoz")

#: short names, for legends and table rows
LABELS = {
    "baseline": "Baseline",
    "step1": "Step 1",
    "step2": "Step 2",
    "step3": "Step 3",
    "step3a": "Step 3a",
    "step3b": "Step 3b",
    "step3_no_step2": "Step 3\\2",
    "step4": "Step 4",
    "knn": "kNN peer",
    "rail_flexzboost": "RAIL FlexZBoost",
    "rail_knn": "RAIL KNN",
    "survey": "Survey photo-z",
}

#: what each method is, for the catalogue's column documentation
DESCRIPTIONS = {
    "baseline": "Baseline (single-channel softmax, 5-model ensemble)",
    "step1": "Step 1 (multi-channel output unit)",
    "step2": "Step 2 (heads retrained on the near-balanced subset)",
    "step3": "Step 3 (soft Gaussian labels with adjusted means, extended grid)",
    "step3a": "Step 3a (hard labels at the adjusted means)",
    "step3b": "Step 3b (soft labels, means not adjusted)",
    "step3_no_step2": "Step 3\\2 (Step 3 on Step 1's predictions, no balancing)",
    "step4": "Step 4 (calibration of z_photo-dependent residuals)",
    "knn": "kNN (peer)",
    "rail_flexzboost": "RAIL FlexZBoost (peer)",
    "rail_knn": "RAIL KNN (peer)",
    "survey_photoz": "Survey photo-z (peer)",
}

#: other spellings of a method: the catalogue's column prefix of the survey's own photo-z,
#: and the paper's name of Step 3 without Step 2
ALIASES = {"survey_photoz": "survey", "step3\\2": "step3_no_step2"}


def method_key(method: str) -> str:
    """The registry's name of ``method`` (an alias resolved; unknown names unchanged)."""
    return ALIASES.get(method, method)
