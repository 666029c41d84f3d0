"""The results path scheme (photoz_debias.paths) and its being the workflow's only one."""

import re
from pathlib import Path

import pytest

from photoz_debias import paths

ROOT = Path(__file__).resolve().parents[1]

# (function, arguments after a file name if it takes one, the pattern it must give, the
# values to fill in); the patterns are the scheme docs/architecture.md describes
SCHEME = [
    (paths.stamps_path, (), "results/{dataset}/stamps.h5", {"dataset": "sdss"}),
    (paths.raw_dir, (), "results/{dataset}/raw", {"dataset": "sdss"}),
    (
        paths.seed_file,
        ("step1.pt",),
        "results/{dataset}/{net}/seed{seed}/step1.pt",
        {"dataset": "sdss", "net": "netcpu", "seed": 3},
    ),
    (
        paths.seed_part_file,
        ("step2.pt",),
        "results/{dataset}/{net}/seed{seed}/{part}/step2.pt",
        {"dataset": "cfhtls", "net": "netcpu", "seed": 0, "part": "deep"},
    ),
    (
        paths.part_file,
        ("step4/metrics_{sample}.parquet",),
        "results/{dataset}/{net}/{part}/step4/metrics_{sample}.parquet",
        {"dataset": "sdss", "net": "netp", "part": "all"},
    ),
    (paths.figure, ("fig03_grid",), "results/{dataset}/figures/fig03_grid.png", {"dataset": "sdss"}),
    (
        paths.part_figure,
        ("fig06_residuals",),
        "results/{dataset}/figures/fig06_residuals_{net}_{part}.png",
        {"dataset": "cfhtls", "net": "netcpu", "part": "wide"},
    ),
    (paths.shared_figure, ("fig11_tomography",), "results/figures/fig11_tomography.png", {}),
    (paths.shared_figure, ("scaling", "{fmt}"), "results/figures/scaling.{fmt}", {}),
    (paths.scaling_file, ("seeds.parquet",), "results/scaling/seeds.parquet", {}),
    (
        paths.study_table,
        (),
        "results/{dataset}/studies/{study}.parquet",
        {"dataset": "sdss", "study": "n_bins"},
    ),
]


@pytest.mark.parametrize("func, name, pattern, values", SCHEME, ids=[s[0].__name__ for s in SCHEME])
def test_wildcards_left_out_give_the_rule_pattern_and_values_fill_it(func, name, pattern, values):
    assert func(*name) == pattern
    # the file of given values is the pattern with them filled in (what Snakemake matches);
    # wildcards not given (here {sample}, {fmt}) stay wildcards
    filled = pattern.format_map({**{k: "{" + k + "}" for k in ("sample", "fmt")}, **values})
    assert func(*name, **values) == filled


def test_a_derived_dataset_name_goes_where_the_dataset_goes():
    # the iterations study's copied checkpoints: results/<dataset>__iter<N>/<net>/seed<s>/
    assert (
        paths.seed_file("{model}.pt", dataset="{dataset}__iter{iters}")
        == "results/{dataset}__iter{iters}/{net}/seed{seed}/{model}.pt"
    )
    assert paths.stamps_path("sdss_depleted") == "results/sdss_depleted/stamps.h5"


def test_directories_hold_their_files():
    assert paths.seed_part_dir("sdss", "netcpu", 1, "all") == str(
        Path(paths.seed_dir("sdss", "netcpu", 1)) / "all"
    )
    assert paths.part_file("catalogue.parquet", "sdss", "netcpu", "all") == (
        paths.part_dir("sdss", "netcpu", "all") + "/catalogue.parquet"
    )


def test_the_workflow_spells_no_results_path_of_its_own():
    # a quoted string (or f-string) starting with results/ in a rule file or script would be
    # a second spelling of the scheme, free to drift from this one
    literal = re.compile(r"""["']results/""")
    files = sorted((ROOT / "workflow" / "rules").glob("*.smk")) + sorted(
        (ROOT / "workflow" / "scripts").glob("*.py")
    )
    found = [
        f"{f.relative_to(ROOT)}:{i}: {line.strip()}"
        for f in files
        for i, line in enumerate(f.read_text().splitlines(), 1)
        if literal.search(line)
    ]
    assert files and not found, "results paths spelled outside photoz_debias.paths:\n" + "\n".join(found)
