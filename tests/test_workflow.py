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


def test_dry_run_five_template_photometry_overlay(tmp_path):
    # the overlay as the README runs it, on top of the default and the quick look
    cfg = ROOT / "config"
    res = snakemake(
        "-n", "--cores", "2", "--workflow-profile", "none", "--snakefile", str(ROOT / "Snakefile"),
        "--configfile", str(cfg / "config.yaml"), str(cfg / "quick.yaml"),
        str(cfg / "five-template-photometry.yaml"), "--directory", str(tmp_path),
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "generate_synthetic_survey" in res.stdout and "train_step3" in res.stdout


def test_dry_run_tiny_config(tmp_path):
    res = snakemake(
        "-n", "--cores", "2", "--workflow-profile", "none", "--configfile", str(TINY),
        "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
    )
    assert res.returncode == 0, res.stdout + res.stderr


def _dry_run_config(tmp_path, cfg):
    """Dry run of the configuration ``cfg`` (a dict) alone, in a fresh directory."""
    f = tmp_path / "cfg.yaml"
    f.write_text(yaml.safe_dump(cfg))
    return snakemake(
        "-n", "--cores", "2", "--workflow-profile", "none", "--configfile", str(f),
        "--replace-workflow-config", "--snakefile", str(ROOT / "Snakefile"),
        "--directory", str(tmp_path),
    )


def test_schema_rejects_bad_config_value(tmp_path):
    cfg = yaml.safe_load(TINY.read_text())
    cfg["datasets"]["sdss"]["training"]["iterations"] = "many"
    res = _dry_run_config(tmp_path, cfg)
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "iterations" in out and "many" in out


def _step3_inputs(tmp_path, label_variance):
    cfg = yaml.safe_load(TINY.read_text())
    for ds in cfg["datasets"].values():
        if label_variance is None:
            ds["heads"].pop("label_variance", None)
        else:
            ds["heads"]["label_variance"] = label_variance
    res = _dry_run_config(tmp_path, cfg)
    assert res.returncode == 0, res.stdout + res.stderr
    blocks = res.stdout.split("\nrule ")
    inputs = {}
    for b in blocks:
        name = b.split(":", 1)[0].strip()
        line = next((ln for ln in b.splitlines() if ln.strip().startswith("input:")), "")
        inputs.setdefault(name, []).append(line)
    return inputs


@pytest.mark.parametrize("label_variance", [None, "measured", "eq7"])
def test_step3_trains_on_the_label_table_of_label_variance(tmp_path, label_variance):
    inputs = _step3_inputs(tmp_path, label_variance)
    step3 = inputs["train_step3"] + inputs["train_step3_no_step2"]
    measured = label_variance == "measured"  # Eq. 7 is the default (the paper's)
    for line in step3:
        assert ("_measured.parquet" in line) == measured, line
    assert ("measure_label_variance" in inputs) == measured
    assert ("train_step3b_no_step2" in inputs) == measured
    assert "train_step3b" in inputs  # Step 3b is a reported method either way
