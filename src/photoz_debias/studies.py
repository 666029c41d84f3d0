"""Appendix D of Lin et al. 2022: the studies as families of runs that change one setting.

Two kinds of study point:

* points that reuse the trained trunks: the balancing threshold (App. D.1, Figs. D.1-D.2),
  run as extra debiasing *parts* named ``<part>__th<value>``; and the number of training
  iterations (App. D.3, Figs. D.4-D.6), whose Baseline and Step 1 models are the saved
  checkpoints of the dataset's own training (derived dataset ``<dataset>__iter<N>``);
* points that retrain the trunk: the number of redshift bins (D.2, Fig. D.3), the training
  sample size (D.4, Fig. D.7), Gaussian label errors (D.5, Fig. D.8) and the network
  (D.6, Fig. D.9), each a *derived dataset* ``<dataset>__<tag><value>`` whose configuration
  is the base dataset's deep-merged with the point's override (:func:`derived_config`).

A point equal to the base setting is not rerun: it is the base dataset's own chain with the
study seeds (the part ``<part>__th<threshold>``).

The training-set changes (:func:`subsample_training`, :func:`perturb_labels`, applied together
by :func:`study_training_set`) touch only what Baseline and Step 1 train on; Steps 2 and 3 keep
reading the full training set and its clean labels from the stamps file (App. D.4, D.5).
"""

from __future__ import annotations

import copy
import math
import re
from typing import NamedTuple

import numpy as np

from photoz_debias.errors import InputError

SEP = "__"
#: study -> tag in the names of its derived datasets (the threshold study adds parts instead)
TAGS = {
    "n_bins": "nbins",
    "iterations": "iter",
    "train_size": "frac",
    "label_error": "sigz",
    "net": "net",
}
#: every study, in the order of the paper's Appendix D
STUDIES = ("threshold", "n_bins", "iterations", "train_size", "label_error", "net")
#: studies that train new Baseline and Step 1 models for each point
RETRAINING = ("n_bins", "train_size", "label_error", "net")
_NAME = re.compile(
    r"^(?P<base>.+?)" + SEP + r"(?P<tag>" + "|".join(TAGS.values()) + r")(?P<value>[A-Za-z0-9.]+)$"
)
_PART = re.compile(r"^(?P<part>.+?)" + SEP + r"th(?P<value>\d+)$")
# derived_seed streams of training.derived_seed: 0 and 1 are the batch draws and the
# augmentation; the study draws use their own streams
SUBSAMPLE_STREAM = 10
LABEL_ERROR_STREAM = 11


# ---------------------------------------------------------------------------------------
# Training-set changes (Baseline and Step 1 only)
# ---------------------------------------------------------------------------------------


def _stream_rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream)]))


def n_subsample(n: int, fraction: float) -> int:
    """Galaxies kept of ``n`` for ``fraction`` (rounded, at least one)."""
    if not 0 < fraction <= 1:
        raise InputError(f"train_fraction={fraction}", field="train_fraction", expected="0 < fraction <= 1")
    return max(1, int(round(fraction * n)))


def subsample_training(n: int, fraction: float, seed: int) -> np.ndarray:
    """Sorted row indices of a seeded random ``fraction`` of ``n`` training galaxies (App. D.4).

    The rows are the first ``n_subsample(n, fraction)`` of one seeded permutation, so for a
    given seed a smaller fraction is a subset of a larger one (nested samples), and
    ``fraction = 1`` returns every row.
    """
    k = n_subsample(n, fraction)
    if k >= n:
        return np.arange(n)
    perm = _stream_rng(seed, SUBSAMPLE_STREAM).permutation(n)
    return np.sort(perm[:k])


def perturb_labels(z, sigma: float, seed: int, z_range: tuple[float, float]):
    """Gaussian label errors (App. D.5): ``z + N(0, sigma)``, fixed by ``seed``.

    Parameters
    ----------
    z : (N,) spectroscopic redshifts of the training galaxies.
    sigma : the dispersion sigma_z of the errors (redshift units, not scaled by 1 + z).
    seed : the ensemble seed; the same seed gives the same errors.
    z_range : (z_min, z_max) of the redshift grid; a galaxy whose noisy redshift falls
        outside ``[z_min, z_max]`` is dropped, as in the paper.

    Returns
    -------
    (z_noisy, keep) : (N,) float64 noisy redshifts and the (N,) bool mask of galaxies kept.
    """
    z = np.asarray(z, dtype=np.float64)
    if not sigma >= 0:
        raise InputError(f"label_error={sigma}", field="label_error", expected="sigma_z >= 0")
    if sigma == 0:
        return z.copy(), np.ones(len(z), dtype=bool)
    noisy = z + sigma * _stream_rng(seed, LABEL_ERROR_STREAM).standard_normal(len(z))
    keep = (noisy >= z_range[0]) & (noisy <= z_range[1])
    return noisy, keep


def study_training_set(
    data: dict,
    train_fraction: float = 1.0,
    label_error: float = 0.0,
    seed: int = 0,
    z_range: tuple[float, float] = (0.0, 0.4),
) -> tuple[dict, dict]:
    """Apply the study changes to the Baseline / Step 1 training arrays.

    ``data`` is :func:`photoz_debias.io.load_training_arrays`'s dict (``x``, ``ebv``,
    ``z_spec``, ``mag_row``, ``id``).  First the seeded subsample (``train_fraction``), then
    the seeded label errors (``label_error``) with out-of-range galaxies dropped.  With the
    defaults the same dict is returned untouched.

    Returns
    -------
    (data, info) : the arrays to train on, and ``n_in``, ``n_subsample``, ``n_dropped``,
    ``n_out`` (galaxies before, after the subsample, dropped by the label errors, left).
    """
    n = len(data["z_spec"])
    info = {"n_in": n, "n_subsample": n, "n_dropped": 0, "n_out": n}
    if train_fraction == 1.0 and label_error == 0.0:
        return data, info
    rows = subsample_training(n, train_fraction, seed)
    info["n_subsample"] = len(rows)
    out = {k: np.asarray(v)[rows] for k, v in data.items()}
    if label_error > 0:
        noisy, keep = perturb_labels(out["z_spec"], label_error, seed, z_range)
        out["z_spec"] = noisy
        out = {k: v[keep] for k, v in out.items()}
        info["n_dropped"] = int((~keep).sum())
    info["n_out"] = len(out["z_spec"])
    if info["n_out"] == 0:
        raise InputError("no training galaxy left", field="training", expected="a larger train_fraction or smaller label_error")
    return out, info


# ---------------------------------------------------------------------------------------
# Configuration of the derived runs
# ---------------------------------------------------------------------------------------


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: ``base`` with ``override`` merged in key by key (mappings recursively,
    anything else replaced).  Neither argument is modified."""
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def merged_config(paths) -> dict:
    """config/config.yaml and its overlays (YAML files), merged in order as Snakemake merges
    ``--configfile``, with the datasets' ``base:`` resolved as the Snakefile resolves them."""
    import yaml

    from .config_checks import resolve_bases

    config = {}
    for path in paths:
        with open(path) as f:
            config = deep_merge(config, yaml.safe_load(f) or {})
    return resolve_bases(config)


def study_grid(grid: dict, n_bins: int) -> dict:
    """The redshift grid of the bin-number study (App. D.2): ``n_bins`` bins over the same
    range; Step 3 appends the base grid's share of bins on each side (n/2 for the paper's
    SDSS grid), except that 20 bins are appended to each side when n = 20, as in the paper."""
    n_bins = int(n_bins)
    out = dict(grid)
    out["n_bins"] = n_bins
    for side in ("extend_left", "extend_right"):
        out[side] = 20 if n_bins == 20 else int(round(n_bins * grid[side] / grid["n_bins"]))
    return out


def format_value(value) -> str:
    """A study value as it appears in run names: ``40``, ``0.5``, ``0.05``, ``nets1``."""
    if isinstance(value, bool):
        raise InputError(f"{value!r}", field="studies", expected="a number or a network name")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        text = repr(value)
        if "e" in text or "-" in text:
            raise InputError(f"{value!r}", field="studies", expected="a plain decimal number")
        return text
    text = str(value)
    if not re.fullmatch(r"[A-Za-z0-9.]+", text):
        raise InputError(f"{value!r}", field="studies", expected="letters, digits and dots only")
    return text


def parse_value(study: str, text: str):
    """Inverse of :func:`format_value` for the study's value type."""
    if study in ("n_bins", "iterations", "threshold"):
        return int(text)
    if study in ("train_size", "label_error"):
        return float(text)
    return text


class Derived(NamedTuple):
    base: str
    study: str
    value: object


def derived_name(base: str, study: str, value) -> str:
    """``<base>__<tag><value>``, e.g. ``sdss__nbins40``, ``sdss__frac0.5``, ``sdss__sigz0.05``,
    ``sdss__netnets1``, ``sdss__iter1200``."""
    if study not in TAGS:
        raise InputError(f"study {study!r}", field="studies", expected=f"one of {sorted(TAGS)}")
    return f"{base}{SEP}{TAGS[study]}{format_value(value)}"


def parse_derived(name: str) -> Derived | None:
    """``Derived(base, study, value)`` of a derived dataset name, None for any other name."""
    m = _NAME.match(name)
    if m is None:
        return None
    study = {t: s for s, t in TAGS.items()}[m["tag"]]
    try:
        value = parse_value(study, m["value"])
    except ValueError:
        return None
    return Derived(m["base"], study, value)


def study_part(part: str, threshold: int) -> str:
    """The threshold-study part ``<part>__th<threshold>``."""
    return f"{part}{SEP}th{int(threshold)}"


def parse_study_part(name: str) -> tuple[str, int] | None:
    """``(part, threshold)`` of a threshold-study part name, None for a configured part."""
    m = _PART.match(name)
    return None if m is None else (m["part"], int(m["value"]))


def derived_override(study: str, value, base_cfg: dict) -> dict:
    """What a derived dataset changes in its base dataset's configuration."""
    if study == "n_bins":
        return {"grid": study_grid(base_cfg["grid"], value)}
    if study == "train_size":
        return {"training": {"train_fraction": float(value)}}
    if study == "label_error":
        return {"training": {"label_error": float(value)}}
    if study == "net":
        return {"net": str(value)}
    if study == "iterations":
        # Baseline and Step 1 are the checkpoints after `value` iterations: nothing else changes
        return {}
    raise InputError(f"study {study!r}", field="studies", expected=f"one of {sorted(TAGS)}")


def derived_config(base_cfg: dict, study: str, value) -> dict:
    """The configuration of a derived dataset: the base's deep-merged with the override."""
    return deep_merge(base_cfg, derived_override(study, value, base_cfg))


def is_base_setting(study: str, value, base_cfg: dict) -> bool:
    """True when a point repeats the base configuration (it is then not rerun)."""
    if study == "n_bins":
        return int(value) == int(base_cfg["grid"]["n_bins"])
    if study == "iterations":
        return int(value) == int(base_cfg["training"]["iterations"])
    if study == "train_size":
        return math.isclose(float(value), base_cfg["training"].get("train_fraction", 1.0))
    if study == "label_error":
        return float(value) == base_cfg["training"].get("label_error", 0.0)
    if study == "net":
        return str(value) == base_cfg["net"]
    if study == "threshold":
        return False
    raise InputError(f"study {study!r}", field="studies", expected=f"one of {STUDIES}")
