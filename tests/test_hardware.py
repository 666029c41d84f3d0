"""photoz_debias.hardware: the `gpu` resource of the trunk rules ('auto' follows the machine)."""

import pytest

from photoz_debias.errors import InputError
from photoz_debias.hardware import gpu_request, gpu_visible


def test_auto_follows_the_gpu_device_node(tmp_path):
    assert gpu_request("auto", env={}, dev=tmp_path) == 0
    (tmp_path / "nvidia0").touch()
    assert gpu_request("auto", env={}, dev=tmp_path) == 1


def test_device_override_and_hidden_gpus_win_over_the_device_node(tmp_path):
    (tmp_path / "nvidia0").touch()
    assert not gpu_visible({"PHOTOZ_DEVICE": "cpu"}, tmp_path)
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": ""}, tmp_path)
    assert not gpu_visible({"CUDA_VISIBLE_DEVICES": "-1"}, tmp_path)
    assert gpu_visible({"CUDA_VISIBLE_DEVICES": "0"}, tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert gpu_visible({"PHOTOZ_DEVICE": "cuda:1"}, empty)


def test_integers_pass_through_and_nonsense_is_refused():
    assert gpu_request(0) == 0 and gpu_request(2) == 2
    for bad in (-1, "yes", 1.5, True):
        with pytest.raises(InputError, match="auto"):
            gpu_request(bad)


def test_head_trainings_use_the_gpu_only_when_their_job_holds_one(monkeypatch):
    # workflow/scripts/_common.job_device: Steps 2-3 follow the job's `gpu` resource
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
    sys.modules.pop("_common", None)
    import _common

    monkeypatch.setenv("PHOTOZ_DEVICE", "cuda")
    assert _common.job_device(SimpleNamespace(resources=SimpleNamespace(gpu=0))) == "cpu"
    assert _common.job_device(SimpleNamespace(resources=SimpleNamespace())) == "cpu"
    assert _common.job_device(SimpleNamespace(resources=SimpleNamespace(gpu=1))) == "cuda"
    monkeypatch.setenv("PHOTOZ_DEVICE", "cpu")
    assert _common.job_device(SimpleNamespace(resources=SimpleNamespace(gpu=1))) == "cpu"
