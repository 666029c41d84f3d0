"""The workstation and SLURM profiles and the paper-scale configurations, by dry runs."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "config" / "config.yaml"
# apply_infer runs the trained trunks on an applied sample: a GPU job like predict_baseline
GPU_RULES = {"train_baseline", "train_step1", "predict_baseline", "represent", "apply_infer"}


def dry_run(*args, cwd):
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(cwd), *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    return res.stdout + res.stderr


def job_resources(out):
    """(rule, resources line) of every job a dry run prints."""
    jobs = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", out):
        m = re.match(r"(?:local)?rule (\w+):", block)
        if m:
            res = re.search(r"resources: (.*)", block)
            jobs.append((m.group(1), res.group(1) if res else ""))
    return jobs


def test_slurm_profile_requests_gpus_only_for_trunk_rules(tmp_path):
    out = dry_run("--workflow-profile", str(ROOT / "profiles" / "slurm"),
                  "--configfile", str(TINY), cwd=tmp_path)
    jobs = job_resources(out)
    assert {r for r, _ in jobs} >= (GPU_RULES - {"apply_infer"}) | {"train_step2", "train_step3", "metrics"}
    for rule, res in jobs:
        asks_gpu = re.search(r"\bgpu=1\b", res) is not None
        assert asks_gpu == (rule in GPU_RULES), (rule, res)


@pytest.mark.parametrize("profile, gpu", [("slurm", "1"), ("slurm-cpu", "0")])
def test_slurm_profiles_take_memory_threads_and_runtime_from_the_config(tmp_path, profile, gpu):
    # the tiny config must not ask a cluster for the paper's 64 GB: a rule's memory, threads and
    # runtime are its config's resources block, whatever the profile
    overlay = tmp_path / "resources.yaml"
    overlay.write_text(
        "resources:\n"
        "  train: {gpu: auto, threads: 3, mem_mb: 1234, runtime: 17}\n"
        "  represent: {gpu: auto, threads: 1, mem_mb: 999, runtime: 7}\n"
    )
    out = dry_run("--workflow-profile", str(ROOT / "profiles" / profile),
                  "--configfile", str(TINY), str(overlay), cwd=tmp_path)
    jobs = job_resources(out)
    train = [res for r, res in jobs if r == "train_step1"][0]
    assert re.search(r"\bmem_mb=1234\b", train) and re.search(r"\bruntime=17\b", train), train
    assert re.search(rf"\bgpu={gpu}\b", train), train
    assert "cpus_per_gpu" not in train and "cpus_per_task" not in train  # threads decide the CPUs
    represent = [res for r, res in jobs if r == "represent"][0]
    assert re.search(r"\bmem_mb=999\b", represent) and re.search(rf"\bgpu={gpu}\b", represent)
    # the CPU-only profile asks for no GPU anywhere
    if profile == "slurm-cpu":
        assert not any(re.search(r"\bgpu=[1-9]", res) for _, res in jobs)


@pytest.mark.parametrize("profile", ["slurm", "slurm-cpu"])
def test_slurm_profiles_poll_squeue_and_leave_threads_to_the_config(profile):
    # sacct (the plugin's default) needs job accounting; without it a run never ends
    settings = yaml.safe_load((ROOT / "profiles" / profile / "config.yaml").read_text())
    assert settings["executor"] == "slurm"
    assert settings["slurm-status-command"] == "squeue"
    # threads (-> --cpus-per-task) come from the config's resources block, not the profile
    assert "set-threads" not in settings


def test_workstation_profile_limits_gpu_jobs(tmp_path):
    out = dry_run("--workflow-profile", str(ROOT / "profiles" / "default"),
                  "--configfile", str(TINY), "--cores", "4", cwd=tmp_path)
    assert "train_step1" in out


@pytest.mark.parametrize(
    "name, data",
    [
        ("paper-sdss", ["data/sdss/sdss.npz"]),
        ("paper-cfhtls", ["data/cfhtls/labels.parquet", "data/cfhtls/train_index.npy",
                          "data/cfhtls/test_index.npy", "data/cfhtls/stamps/"]),
    ],
)
def test_paper_configs_dry_run(tmp_path, name, data):
    # the dry run only needs the input paths to exist; the real data are not here
    for d in data:
        p = tmp_path / d
        if d.endswith("/"):
            p.mkdir(parents=True)
        else:
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch()
    # relative data paths resolve against the repository: point them at the stand-ins
    cfg = yaml.safe_load((ROOT / "config" / f"{name}.yaml").read_text())
    for ds in cfg["datasets"].values():
        for k, v in ds["source"].items():
            if isinstance(v, str) and (v in data or v + "/" in data):
                ds["source"][k] = str(tmp_path / v)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = dry_run("--workflow-profile", "none", "--cores", "2", "--configfile",
                  str(tmp_path / "config.yaml"), "--replace-workflow-config", cwd=tmp_path)
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", out, flags=re.M))
    # five seeds per trained dataset (SDSS: + the depleted-training variant), plus, for SDSS,
    # one model per retraining point of Appendix D (studies.seeds = [0]; the points at the base
    # setting are not retrained): 4 bin numbers + 4 sizes + 5 label errors + 4 networks
    expected = 5 * 2 + (4 + 4 + 5 + 4) if name == "paper-sdss" else 5
    assert int(counts["train_step1"]) == expected
    assert int(counts["train_baseline"]) == int(counts["train_step1"])


@pytest.mark.parametrize("device, gpu", [("cpu", "0"), ("cuda", "1")])
def test_default_config_trunk_jobs_hold_a_gpu_only_where_there_is_one(tmp_path, monkeypatch, device, gpu):
    # resources.train.gpu: auto -> the workstation profile's gpu: 1 serialises the trunk jobs
    # on a GPU machine, and lets them run side by side on a CPU-only one
    monkeypatch.setenv("PHOTOZ_DEVICE", device)
    out = dry_run("--workflow-profile", str(ROOT / "profiles" / "default"), "--cores", "2",
                  "--configfile", str(ROOT / "config" / "config.yaml"), cwd=tmp_path)
    jobs = job_resources(out)
    trunk = [res for rule, res in jobs if rule in GPU_RULES]
    assert trunk and all(re.search(rf"\bgpu={gpu}\b", res) for res in trunk)
    # the head trainings of Steps 2-3 hold no GPU by default (resources.heads.gpu: 0)
    assert not any(re.search(r"\bgpu=[1-9]", res) for rule, res in jobs if rule not in GPU_RULES)


HEAD_RULES = {"train_step2", "train_step3", "train_step3b", "train_step3_no_step2", "train_step3b_no_step2"}


def test_head_trainings_hold_a_gpu_on_request(tmp_path):
    # resources.heads.gpu: 1 -> Steps 2-3 run on the GPU (the scripts ask the job's resources)
    overlay = tmp_path / "heads_gpu.yaml"
    overlay.write_text("resources:\n  heads: {gpu: 1, threads: 1, mem_mb: 8000, runtime: 60}\n")
    out = dry_run("--workflow-profile", "none", "--cores", "2", "--configfile", str(TINY),
                  str(overlay), cwd=tmp_path)
    jobs = job_resources(out)
    heads = [res for rule, res in jobs if rule in HEAD_RULES]
    assert {r for r, _ in jobs} >= {"train_step2", "train_step3", "train_step3b"}
    assert heads and all(re.search(r"\bgpu=1\b", res) for res in heads)
    others = [res for rule, res in jobs if rule not in HEAD_RULES | GPU_RULES]
    assert others and not any(re.search(r"\bgpu=[1-9]", res) for res in others)
