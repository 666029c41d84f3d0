"""The results path scheme: where a run keeps each file, relative to its directory.

``results/<dataset>/stamps.h5`` is the preprocessed input; ``results/<dataset>/<net>/seed<s>/``
holds one ensemble seed's trunk files (checkpoints, Baseline densities, representations) and
``.../seed<s>/<part>/`` that seed's files of a debiasing part (balanced subset, heads, label
fits); ``results/<dataset>/<net>/<part>/`` holds the part's ensemble (estimates, catalogue,
metrics, Step 4); ``results/<dataset>/figures/`` and ``results/<dataset>/studies/`` a
dataset's figures and Appendix D tables, ``results/figures/`` the figures of every dataset
and ``results/scaling/`` the scaling experiment's tables.

This is the one place that spells these paths.  The workflow's rules
(``workflow/rules/*.smk``) name their files with these functions, its target and input
functions (``workflow/rules/common.smk``) fill them, and the diagnostics read a finished run
by them.  Every argument left out stays a Snakemake wildcard: ``seed_file("step1.pt")`` is
the rule pattern ``results/{dataset}/{net}/seed{seed}/step1.pt``, ``seed_file("step1.pt",
"sdss", "netcpu", 0)`` one file of it.  Paths are strings relative to the run's directory
(what Snakemake matches); join them to another directory with :class:`pathlib.Path`.
"""

from __future__ import annotations

RESULTS = "results"


def dataset_dir(dataset="{dataset}") -> str:
    return f"{RESULTS}/{dataset}"


def dataset_file(name: str, dataset="{dataset}") -> str:
    """A file of a whole dataset (e.g. an applied sample's withheld redshifts)."""
    return f"{dataset_dir(dataset)}/{name}"


def stamps_path(dataset="{dataset}") -> str:
    """The preprocessed stamps of a dataset (``data.preprocess``)."""
    return f"{dataset_dir(dataset)}/stamps.h5"


def raw_dir(dataset="{dataset}") -> str:
    """The raw files of a generated (synthetic) survey."""
    return f"{dataset_dir(dataset)}/raw"


def seed_dir(dataset="{dataset}", net="{net}", seed="{seed}") -> str:
    """One ensemble seed's trunk files: Baseline and Step 1 models, densities, representations."""
    return f"{dataset_dir(dataset)}/{net}/seed{seed}"


def seed_file(name: str, dataset="{dataset}", net="{net}", seed="{seed}") -> str:
    return f"{seed_dir(dataset, net, seed)}/{name}"


def seed_part_dir(dataset="{dataset}", net="{net}", seed="{seed}", part="{part}") -> str:
    """One seed's files of a debiasing part: balanced subset, Steps 2-3 heads, label fits."""
    return f"{seed_dir(dataset, net, seed)}/{part}"


def seed_part_file(
    name: str, dataset="{dataset}", net="{net}", seed="{seed}", part="{part}"
) -> str:
    return f"{seed_part_dir(dataset, net, seed, part)}/{name}"


def part_dir(dataset="{dataset}", net="{net}", part="{part}") -> str:
    """A part's ensemble: densities, estimates, Step 4, catalogue, metrics, tables."""
    return f"{dataset_dir(dataset)}/{net}/{part}"


def part_file(name: str, dataset="{dataset}", net="{net}", part="{part}") -> str:
    return f"{part_dir(dataset, net, part)}/{name}"


def figure(name: str, dataset="{dataset}") -> str:
    """A figure of one dataset, ``name`` without its suffix (PNG; the PDF lies beside it)."""
    return f"{dataset_dir(dataset)}/figures/{name}.png"


def part_figure(stem: str, dataset="{dataset}", net="{net}", part="{part}") -> str:
    """A figure of one part: ``<stem>_<net>_<part>.png`` among its dataset's figures."""
    return figure(f"{stem}_{net}_{part}", dataset)


def shared_figure(name: str, fmt="png") -> str:
    """A figure of every run dataset together (Figs. 11, 12, the scaling experiment's)."""
    return f"{RESULTS}/figures/{name}.{fmt}"


def scaling_file(name: str) -> str:
    """A table of the scaling experiment (``config/scaling.yaml``), over all its datasets."""
    return f"{RESULTS}/scaling/{name}"


def study_table(dataset="{dataset}", study="{study}") -> str:
    """The gathered metrics of one Appendix D study (``studies``) on a dataset."""
    return f"{dataset_dir(dataset)}/studies/{study}.parquet"
