"""Where the files a configuration names are: relative paths are relative to the repository.

A configuration names input files (a dataset's raw survey files, the realism check's reference
catalogue) by paths.  A relative path is taken relative to the repository folder (the folder of
the Snakefile, Snakemake's ``workflow.basedir``), never to the working directory, so the shipped
configurations find ``resources/`` from any ``snakemake --directory``; absolute paths are kept.
"""

from __future__ import annotations

import copy
from pathlib import Path

#: Keys of a dataset's ``source`` block that name input files (a path or a list of paths).
SOURCE_PATH_KEYS = (
    "path",
    "images",
    "catalogue",
    "catalogue_train",
    "catalogue_test",
    "table",
    "stamp_dir",
    "train_index",
    "test_index",
)


def repo_path(path, repo) -> str:
    """``path`` if absolute, else ``repo / path``, as a string."""
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else Path(repo) / p)


def resolve_config_paths(config: dict, repo) -> dict:
    """A copy of ``config`` whose input-file paths are absolute.

    Parameters
    ----------
    config : dict
        The workflow configuration (``datasets`` with their ``source`` blocks; ``realism``).
    repo : str or path-like
        The repository folder that relative paths are relative to.

    Returns
    -------
    dict
        A deep copy; the files named by :data:`SOURCE_PATH_KEYS` of every dataset's source and
        ``realism.reference`` are absolute paths.  Nothing else changes.
    """
    out = copy.deepcopy(config)
    for ds in out.get("datasets", {}).values():
        src = ds.get("source", {})
        for key in SOURCE_PATH_KEYS:
            v = src.get(key)
            if isinstance(v, str):
                src[key] = repo_path(v, repo)
            elif isinstance(v, list):
                src[key] = [repo_path(f, repo) if isinstance(f, str) else f for f in v]
    real = out.get("realism")
    if isinstance(real, dict) and isinstance(real.get("reference"), str):
        real["reference"] = repo_path(real["reference"], repo)
    return out
