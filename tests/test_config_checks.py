"""A bad configuration is refused before any job runs (photoz_debias.config_checks): one test
per bad config, each naming the key's path and what was expected, and one dry run that stops
with the messages.  The shipped configurations pass."""

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from snakemake.utils import update_config

from photoz_debias.config_checks import SOURCE_KEYS, ConfigError, check_config, check_keys
from photoz_debias.errors import InputError
from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import write_preprocessed

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
TINY = yaml.safe_load((ROOT / "tests" / "config" / "config.yaml").read_text())
NPZ = {"layout": "npz", "path": "data/sdss.npz"}


def refused(overlay, *, base=TINY, npz=False):
    """The ConfigError message of the tiny config with ``overlay`` deep-merged into it (the
    sdss source replaced by an npz one first when ``npz``), from the checks the Snakefile
    runs before the DAG (keys, then values)."""
    cfg = copy.deepcopy(base)
    if npz:
        cfg["datasets"]["sdss"]["source"] = dict(NPZ)
    update_config(cfg, overlay)
    with pytest.raises(ConfigError) as err:
        check_keys(cfg, SCHEMA)
        check_config(cfg)
    assert isinstance(err.value, InputError)  # the project's bad-input error
    return str(err.value)


# ----------------------------------------------------------------------------- unknown keys


def test_unknown_source_key_names_the_path_and_the_near_miss():
    msg = refused({"datasets": {"sdss": {"source": {"band": "griz"}}}}, npz=True)
    assert "config key datasets.sdss.source.band: unknown key (did you mean 'bands'?)" in msg
    assert "expected one of the npz layout's source keys" in msg and "cube_key" in msg


def test_source_keys_are_per_layout():
    # bands is an npz key, not a synthetic one (the synthetic surveys are ugriz)
    msg = refused({"datasets": {"sdss": {"source": {"bands": "griz"}}}})
    assert "datasets.sdss.source.bands: unknown key for layout synthetic" in msg
    assert "n_galaxies" in msg
    # the synthetic keys left behind by an overlay that switches the layout are named as such
    msg = refused({"datasets": {"sdss": {"source": {"layout": "npz", "path": "x.npz"}}}})
    assert "datasets.sdss.source.survey" in msg and "--replace-workflow-config" in msg
    # a layout's required keys
    msg = refused({"datasets": {"sdss": {"source": {"layout": "generic", "images": "s.npy"}}}},
                  base={**TINY, "datasets": {"sdss": {**TINY["datasets"]["sdss"],
                                                      "source": {}}}})
    assert "datasets.sdss.source.catalogue: missing" in msg
    assert "datasets.sdss.source.pixel_scale_arcsec: missing" in msg


def test_every_layout_opens_with_its_keys_only():
    assert set(SOURCE_KEYS) == {"synthetic", "npz", "per_galaxy", "generic", "catalogue"}
    assert "stamp_size" not in SOURCE_KEYS["per_galaxy"]  # its reader never looks at it
    assert "catalogue_train" in SOURCE_KEYS["catalogue"]


def test_unknown_top_level_key():
    msg = refused({"peer": {"knn": {"k": 5}}})
    assert "config key peer: unknown key (did you mean 'peers'?)" in msg
    assert "expected one of the top-level keys" in msg


@pytest.mark.parametrize("overlay, path, near", [
    ({"datasets": {"sdss": {"gird": {}}}}, "datasets.sdss.gird", "grid"),
    ({"datasets": {"sdss": {"split": {"test_fractoin": 0.3}}}}, "datasets.sdss.split.test_fractoin",
     "test_fraction"),
    ({"calibrate": {"n_resampling": 3}}, "calibrate.n_resampling", "n_resamplings"),
    ({"calibrate": {"test_samples": {"biased_z": {"kind": "zspec", "centr": 0.1}}}},
     "calibrate.test_samples.biased_z.centr", "centre"),
    ({"peers": {"knn": {"kk": 5}}}, "peers.knn.kk", "k"),
    ({"peers": {"kNN": {"k": 5}}}, "peers.kNN", "knn"),
    ({"datasets": {"sdss": {"parts": {"all": {"treshold": 3}}}}},
     "datasets.sdss.parts.all.treshold", "threshold"),
    ({"datasets": {"sdss": {"source": {"columns": {"eb": "EBV"}}}}},
     "datasets.sdss.source.columns.eb", "ebv"),
])
def test_unknown_key_in_a_block(overlay, path, near):
    msg = refused(overlay)
    assert f"config key {path}: unknown key (did you mean {near!r}?)" in msg


def test_every_problem_is_reported_at_once():
    msg = refused({"bogus": 1, "calibrate": {"bogus": 2}})
    assert msg.startswith("2 problems in the config:")
    assert "config key bogus:" in msg and "config key calibrate.bogus:" in msg


# ----------------------------------------------------------------------------- values


def test_inverted_grid():
    msg = refused({"datasets": {"sdss": {"grid": {"z_min": 0.4, "z_max": 0.0}}}})
    assert ("config key datasets.sdss.grid: z_min = 0.4, z_max = 0.0; "
            "expected finite z_min < z_max") in msg


def test_grid_narrower_than_the_data():
    msg = refused({"datasets": {"sdss": {"grid": {"z_max": 0.2}}}})
    assert "config key datasets.sdss.valid_range.z" in msg
    assert "[0.0, 0.4] reaches beyond the grid [0.0, 0.2]" in msg
    assert "expected valid_range.z within [grid.z_min, grid.z_max] = [0.0, 0.2]" in msg


def test_labels_outside_the_grid_are_an_ingestion_error_with_counts(tmp_path):
    # with valid_range within the grid, a galaxy beyond the grid is refused at ingestion,
    # with the number of such galaxies, instead of being clipped into the last bin
    import pandas as pd

    n = 8
    z = np.linspace(0.02, 0.38, n)  # 6 of 8 above 0.1
    np.save(tmp_path / "stamps.npy", np.ones((n, 5, 64, 64), np.float32))
    pd.DataFrame({"id": np.arange(n), "z_spec": z, "r_mag": 16.0, "ebv": 0.03}).to_csv(
        tmp_path / "cat.csv", index=False)
    src = open_source({"layout": "generic", "images": "stamps.npy", "catalogue": "cat.csv",
                       "pixel_scale_arcsec": 0.396}, base_dir=str(tmp_path))
    with pytest.raises(InputError, match=r"6 galaxies fail this check.*\[0.0, 0.1\]"):
        write_preprocessed(src, str(tmp_path / "out.h5"), rows=MagnitudeRows(12.5, 11),
                           split={"test_fraction": 0.25, "seed": 0}, pixel_divisor=1.0,
                           z_range=(0.0, 0.1), r_range=(8.0, 18.0), provenance={"config": {}})
    assert not (tmp_path / "out.h5").exists()


def test_checkpoint_beyond_iterations():
    msg = refused({"datasets": {"sdss": {"training": {"iterations": 40,
                                                      "checkpoint_iters": [20, 40, 60]}}}})
    assert ("config key datasets.sdss.training.checkpoint_iters: "
            "checkpoints [40, 60] at or after the last iteration (40)") in msg
    assert "expected checkpoint iterations < training.iterations = 40" in msg


def test_negative_ebv_constant():
    msg = refused({"datasets": {"sdss": {"source": {"columns": {"ebv": {"constant": -1.0}}}}}},
                  npz=True)
    assert "config key datasets.sdss.source.columns.ebv.constant: E(B-V) = -1.0" in msg
    assert "expected a non-negative reddening" in msg


@pytest.mark.parametrize("overlay, path", [
    ({"datasets": {"sdss": {"valid_range": {"r": [18.0, 8.0]}}}}, "datasets.sdss.valid_range.r"),
    ({"datasets": {"sdss": {"rows": {"n_rows": 10}}}}, "datasets.sdss.rows.n_rows"),
    ({"datasets": {"sdss": {"parts": {"all": {"z_break": 0.5}}}}},
     "datasets.sdss.parts.all.z_break"),
    ({"datasets": {"sdss": {"parts": {"all": {"r_bins": [12.5, 16.0, 15.0]}}}}},
     "datasets.sdss.parts.all.r_bins"),
    ({"datasets": {"sdss": {"split": {"n_test": 50}}}}, "datasets.sdss.split"),
    ({"datasets": {"sdss": {"source": {"params": {"dirichlet_concentration": -1.0}}}}},
     "datasets.sdss.source.params.dirichlet_concentration"),
    ({"datasets": {"sdss": {"source": {"params": {"sed_scater": 0.1}}}}},
     "datasets.sdss.source.params.sed_scater"),
    ({"run": ["sdss", "sdds"]}, "run"),
    ({"calibrate": {"depleted_training": {"activate": True, "lo": 0.2, "hi": 0.1}}},
     "calibrate.depleted_training"),
])
def test_ranges_and_names(overlay, path):
    assert f"config key {path}:" in refused(overlay)


@pytest.mark.parametrize("files", [
    ["config/config.yaml"],
    ["config/config.yaml", "config/quick.yaml"],
    ["config/config.yaml", "config/quick.yaml", "config/five-template-photometry.yaml"],
    ["config/config.yaml", "config/studies.yaml"],
    ["config/paper-sdss.yaml"],  # run with --replace-workflow-config
    ["config/paper-cfhtls.yaml"],
    ["config/mgs-catalogue.yaml"],
    ["tests/config/config.yaml"],
])
def test_shipped_configs_pass(files):
    cfg = {}
    for f in files:
        update_config(cfg, yaml.safe_load((ROOT / f).read_text()) or {})
    check_keys(cfg, SCHEMA)
    check_config(cfg)


# ----------------------------------------------------------------------------- the workflow


def test_dry_run_stops_before_any_job_with_the_messages(tmp_path):
    overlay = {
        "bogus": 1,
        "datasets": {"sdss": {"source": {"band": "griz"},
                              "grid": {"z_min": 0.4, "z_max": 0.0}}},
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(overlay))
    res = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--workflow-profile", "none",
         "--snakefile", str(ROOT / "Snakefile"), "--directory", str(tmp_path),
         "--configfile", str(ROOT / "tests" / "config" / "config.yaml"), str(bad)],
        cwd=ROOT, capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert "ConfigError" in out and "config key bogus: unknown key" in out
    assert "config key datasets.sdss.source.band: unknown key" in out
    assert "Job stats" not in out and "rule " not in out  # no DAG, no job
    # the keys fixed, the values are checked next, still before any job
    del overlay["bogus"], overlay["datasets"]["sdss"]["source"]
    bad.write_text(yaml.safe_dump(overlay))
    res = subprocess.run(res.args, cwd=ROOT, capture_output=True, text=True, check=False)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "Job stats" not in out, out
    assert "config key datasets.sdss.grid: z_min = 0.4, z_max = 0.0" in out
