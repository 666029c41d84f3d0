"""A dataset block that starts from another (``base:``): config_checks.resolve_bases, the
loader the diagnostics use, and the Snakefile resolving it before the checks (a dry run)."""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from photoz_debias.config_checks import ConfigError, check_config, check_keys, resolve_bases
from photoz_debias.studies import merged_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
TINY = yaml.safe_load((ROOT / "tests" / "config" / "config.yaml").read_text())
GENERIC = {"layout": "generic", "images": "data/legacy.npy", "catalogue": "data/legacy.csv",
           "bands": "griz", "axis_order": "NCHW", "pixel_scale_arcsec": 0.262}


def with_datasets(**extra):
    cfg = copy.deepcopy(TINY)
    cfg["datasets"].update(copy.deepcopy(extra))
    return cfg


def refused(cfg) -> str:
    with pytest.raises(ConfigError) as err:
        resolve_bases(cfg)
    return str(err.value)


def test_a_chain_resolves_and_the_base_key_goes():
    cfg = with_datasets(b={"base": "sdss", "net": "nets1", "training": {"iterations": 60}},
                        a={"base": "b", "split": {"seed": 5}})
    out = resolve_bases(cfg)["datasets"]
    sdss = TINY["datasets"]["sdss"]
    assert "base" not in out["a"] and "base" not in out["b"]
    # a <- b <- sdss: a's own key, b's keys, and everything else from sdss
    assert out["a"]["split"] == {"test_fraction": 0.2, "seed": 5}
    assert out["a"]["net"] == "nets1" and out["b"]["net"] == "nets1"
    assert out["a"]["training"] == {**sdss["training"], "iterations": 60}
    assert out["a"]["grid"] == sdss["grid"] and out["a"]["source"] == sdss["source"]
    assert out["sdss"] == sdss and out["cfhtls"] == TINY["datasets"]["cfhtls"]
    assert list(out) == ["sdss", "cfhtls", "b", "a"]  # the config's order
    # the resolved blocks pass the checks the Snakefile runs next
    resolved = resolve_bases(cfg)
    check_keys(resolved, SCHEMA)
    check_config(resolved)


def test_source_is_replaced_whole_other_dicts_merged_lists_replaced():
    cfg = with_datasets(legacy={"base": "sdss", "source": GENERIC,
                                "rows": {"n_rows": 9},
                                "parts": {"all": {"r_bins": [12.5, 18.0]}}})
    out = resolve_bases(cfg)["datasets"]["legacy"]
    sdss = TINY["datasets"]["sdss"]
    # no synthetic survey/n_galaxies/seed/params left under the generic layout
    assert out["source"] == GENERIC
    assert out["rows"] == {**sdss["rows"], "n_rows": 9}
    assert out["parts"]["all"] == {**sdss["parts"]["all"], "r_bins": [12.5, 18.0]}
    check_keys(resolve_bases(cfg), SCHEMA)  # the replaced source has only generic keys


def test_input_is_not_mutated_and_blocks_are_not_shared():
    cfg = with_datasets(a={"base": "sdss"}, b={"base": "sdss"})
    before = copy.deepcopy(cfg)
    out = resolve_bases(cfg)
    assert cfg == before
    out["datasets"]["a"]["grid"]["n_bins"] = 7
    out["datasets"]["sdss"]["split"]["seed"] = 9
    assert out["datasets"]["b"]["grid"]["n_bins"] == 180 and cfg == before


def test_no_base_is_the_identity():
    assert resolve_bases(TINY) == TINY and resolve_bases({"run": []}) == {"run": []}


def test_missing_base_names_the_key_the_value_and_a_near_miss():
    msg = refused(with_datasets(legacy={"base": "sdsss", "source": GENERIC}))
    assert msg.startswith("config key datasets.legacy.base: base 'sdsss': no such dataset "
                          "(did you mean 'sdss'?); expected one of the dataset names: "
                          "cfhtls, sdss"), msg


def test_non_string_base():
    msg = refused(with_datasets(legacy={"base": ["sdss"]}))
    assert "config key datasets.legacy.base: base ['sdss']" in msg
    assert "a dataset name (a string)" in msg


@pytest.mark.parametrize("extra, cycle", [
    ({"a": {"base": "a"}}, "a -> a"),
    ({"a": {"base": "b"}, "b": {"base": "a"}}, "a -> b -> a"),
    ({"x": {"base": "a"}, "a": {"base": "b"}, "b": {"base": "c"}, "c": {"base": "a"}},
     "a -> b -> c -> a"),
])
def test_a_cycle_is_named_once(extra, cycle):
    msg = refused(with_datasets(**extra))
    assert f"a cycle of bases {cycle};" in msg, msg
    assert msg.count("config key") == 1, msg  # x, which leads into the cycle, is not reported


def test_every_bad_base_is_reported_at_once():
    msg = refused(with_datasets(a={"base": "a"}, legacy={"base": "sdsss"}))
    assert msg.startswith("2 problems in the config")
    assert "datasets.a.base" in msg and "datasets.legacy.base" in msg


def test_the_diagnostics_loader_resolves_bases(tmp_path):
    over = tmp_path / "over.yaml"
    over.write_text(yaml.safe_dump({"datasets": {"legacy": {"base": "sdss", "net": "nets1"}}}))
    cfg = merged_config([ROOT / "tests" / "config" / "config.yaml", over])
    assert cfg["datasets"]["legacy"] == {**TINY["datasets"]["sdss"], "net": "nets1"}


def test_dry_run_accepts_a_base_and_refuses_a_bad_one_before_any_job(tmp_path):
    overlay = {"run": ["legacy"],
               "datasets": {"legacy": {"base": "sdss", "split": {"seed": 2},
                                       "source": {"layout": "synthetic", "survey": "sdss_like",
                                                  "n_galaxies": 300, "seed": 5}}}}
    over = tmp_path / "legacy.yaml"
    over.write_text(yaml.safe_dump(overlay))
    args = [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--workflow-profile",
            "none", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
            "--configfile", str(ROOT / "tests" / "config" / "config.yaml"), str(over)]
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    assert "wildcards: dataset=legacy" in out and "train_step3b" in out
    overlay["datasets"]["legacy"]["base"] = "sdsss"
    over.write_text(yaml.safe_dump(overlay))
    res = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "ConfigError" in out
    assert "config key datasets.legacy.base: base 'sdsss': no such dataset" in out
    assert "Job stats" not in out and "rule " not in out  # no DAG, no job
