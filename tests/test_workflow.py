"""The workflow as a whole: lint, format, schema, dry runs and a tiny end-to-end run."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "config" / "config.yaml"


def snakemake(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_lint_is_clean():
    res = snakemake("--lint", "--workflow-profile", "none")
    assert res.returncode == 0, res.stdout + res.stderr


def test_snakefmt_is_clean():
    res = subprocess.run(
        [sys.executable, "-m", "snakefmt", "--check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_dry_run_default_config(tmp_path):
    # in a fresh directory, so that the state of a run in the checkout does not matter
    res = snakemake(
        "-n", "--cores", "2", "--workflow-profile", "none", "--snakefile", str(ROOT / "Snakefile"),
        "--configfile", str(ROOT / "config" / "config.yaml"), "--directory", str(tmp_path),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "train_step1" in res.stdout and "calibrate_step4" in res.stdout


def test_dry_run_tiny_config(tmp_path):
    res = snakemake(
        "-n", "--cores", "2", "--workflow-profile", "none", "--configfile", str(TINY),
        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
    )
    assert res.returncode == 0, res.stdout + res.stderr


def test_schema_rejects_bad_config_value(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"]["sdss"]["training"]["iterations"] = "many"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    res = snakemake(
        "-n", "--cores", "1", "--workflow-profile", "none", "--configfile", str(bad),
        "--replace-workflow-config", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(tmp_path),
    )
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "iterations" in out and "many" in out
