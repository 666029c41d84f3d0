"""The repository runs as a user clones it: in a folder with nothing beside it.

The tracked files are copied to an empty temporary folder (nothing beside it, no results); the
quick look's survey is generated there (fewer galaxies, to keep CI short), ingested into the
preprocessed HDF5 and checked against the shipped real MGS catalogue (the realism figure);
the catalogue-mode configuration's inputs resolve (dry run), also from another working
directory.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import h5py
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _bare_copy(dest: Path) -> Path:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    repo = dest / "photoz-debias"
    for name in filter(None, files.decode().split("\0")):
        src = ROOT / name
        if src.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, repo / name)
    return repo


def _snakemake(repo, *args, cwd=None):
    # the copy's own package, not the checkout it was copied from
    env = {**os.environ, "PYTHONPATH": str(repo / "src")}
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(repo / "Snakefile"), *args],
        cwd=cwd or repo, capture_output=True, text=True, check=False, env=env,
    )


@pytest.mark.slow
def test_a_bare_clone_builds_the_quick_looks_data_and_resolves_catalogue_mode(tmp_path):
    repo = _bare_copy(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photoz-debias"]  # nothing beside it
    small = repo / "small.yaml"
    small.write_text(yaml.safe_dump({"datasets": {"sdss": {"source": {"n_galaxies": 3000}}}}))
    res = _snakemake(repo, "results/sdss/figures/realism.png", "--cores", "2",
                     "--configfile", "config/quick.yaml", "small.yaml")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
    with h5py.File(repo / "results" / "sdss" / "stamps.h5") as f:
        assert f["images"].shape[1:] == (5, 64, 64) and f["images"].shape[0] == len(f["z_spec"])
        assert f["images"].shape[0] > 2000
    assert (repo / "results" / "sdss" / "figures" / "realism.png").stat().st_size > 10_000

    # catalogue mode on the shipped MGS files: its inputs resolve, from the repository and
    # from another working directory (relative paths are relative to the repository)
    for cwd in (repo, tmp_path / "elsewhere"):
        cwd.mkdir(exist_ok=True)
        res = _snakemake(repo, "-n", "--cores", "2", "--configfile", str(repo / "config" / "mgs-catalogue.yaml"),
                         "--replace-workflow-config", "--directory", str(cwd), cwd=cwd)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
        assert "preprocess" in res.stdout and "MissingInput" not in res.stdout + res.stderr
