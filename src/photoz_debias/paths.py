"""The results path scheme: where a run keeps each file, relative to its directory.

``results/<dataset>/stamps.h5`` is the preprocessed input; ``results/<dataset>/<net>/seed<s>/``
holds one ensemble seed's trunk files (checkpoints, Baseline densities, representations) and
``.../seed<s>/<part>/`` that seed's files of a debiasing part (balanced subset, heads, label
fits); ``results/<dataset>/<net>/<part>/`` holds the part's ensemble (estimates, catalogue,
metrics, Step 4).  The workflow's rules (``workflow/rules/common.smk``) and the diagnostics
both build paths here.
"""

from __future__ import annotations

from pathlib import Path


def dataset_dir(dataset: str, root=".") -> Path:
    return Path(root) / "results" / dataset


def stamps_path(dataset: str, root=".") -> Path:
    return dataset_dir(dataset, root) / "stamps.h5"


def seed_dir(dataset: str, net: str, seed, root=".") -> Path:
    return dataset_dir(dataset, root) / net / f"seed{seed}"


def part_dir(dataset: str, net: str, part: str, root=".") -> Path:
    return dataset_dir(dataset, root) / net / part
