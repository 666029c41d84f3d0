"""Config paths resolve against the repository; a killed writer's temporary file is cleaned up."""

import os
from pathlib import Path

from photoz_debias.atomic import atomic_path
from photoz_debias.repo_paths import repo_path, resolve_config_paths

ROOT = Path(__file__).resolve().parents[1]


def test_relative_paths_resolve_against_the_repository_absolute_ones_stay(tmp_path):
    cfg = {
        "datasets": {
            "mgs": {"source": {"layout": "catalogue",
                               "catalogue": ["resources/a.txt", "/data/b.txt"],
                               "columns": {"z_spec": "zs"}}},
            "real": {"source": {"layout": "npz", "path": "data/x.npz", "bands": "ugriz"}},
            "syn": {"source": {"layout": "synthetic", "survey": "sdss_like"}},
        },
        "realism": {"reference": "resources/mlz_sdss_mgs"},
    }
    out = resolve_config_paths(cfg, tmp_path)
    assert out["datasets"]["mgs"]["source"]["catalogue"] == [str(tmp_path / "resources/a.txt"), "/data/b.txt"]
    assert out["datasets"]["real"]["source"]["path"] == str(tmp_path / "data/x.npz")
    assert out["datasets"]["real"]["source"]["bands"] == "ugriz"  # not a path key
    assert out["datasets"]["mgs"]["source"]["columns"] == {"z_spec": "zs"}
    assert out["datasets"]["syn"]["source"] == cfg["datasets"]["syn"]["source"]
    assert out["realism"]["reference"] == str(tmp_path / "resources/mlz_sdss_mgs")
    assert cfg["datasets"]["real"]["source"]["path"] == "data/x.npz"  # the input is not changed
    assert repo_path("/abs/p", tmp_path) == "/abs/p"


def test_the_shipped_configs_name_files_that_ship():
    import yaml

    for name in ("config.yaml", "mgs-catalogue.yaml"):
        cfg = resolve_config_paths(yaml.safe_load((ROOT / "config" / name).read_text()), ROOT)
        ref = cfg.get("realism", {}).get("reference")
        if ref:
            assert (Path(ref) / "SDSS_MGS.train").is_file(), ref
        for ds in cfg["datasets"].values():
            for f in ds.get("source", {}).get("catalogue", []) or []:  # an applied sample may have none
                assert Path(f).is_file(), f


def test_a_killed_writers_temporary_file_is_removed_by_the_next_successful_write(tmp_path):
    target = tmp_path / "stamps.h5"
    # what a SIGKILLed writer leaves: its mkstemp file beside the target
    stale = tmp_path / ".stamps.h5.k1ll3d.tmp"
    stale.write_bytes(b"half")
    other = tmp_path / ".other.h5.x.tmp"  # another output's temporary: not ours to remove
    other.write_bytes(b"x")
    with atomic_path(target) as tmp:
        tmp.write_bytes(b"complete")
    assert target.read_bytes() == b"complete"
    assert not stale.exists() and other.exists()
    assert sorted(os.listdir(tmp_path)) == [".other.h5.x.tmp", "stamps.h5"]
