"""What the machine running Snakemake offers the trunk rules: does a job get a GPU?

Kept free of torch so that the Snakefile can ask cheaply (importing torch costs seconds on
every Snakemake start-up).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from photoz_debias.errors import InputError

#: device nodes of a GPU that PyTorch can drive (NVIDIA; AMD ROCm)
GPU_DEVICE_NODES = ("nvidia0", "kfd")


def gpu_visible(env: Mapping[str, str] | None = None, dev: str | Path = "/dev") -> bool:
    """Whether the trunk scripts will run on a GPU here.

    ``PHOTOZ_DEVICE`` (the scripts' device override) decides when set: ``cpu`` -> False,
    anything else (``cuda``, ``cuda:1``) -> True; ``CUDA_VISIBLE_DEVICES`` set empty or to
    ``-1`` hides every GPU; otherwise a GPU device node (``/dev/nvidia0``, ``/dev/kfd``)
    must exist.
    """
    env = os.environ if env is None else env
    forced = env.get("PHOTOZ_DEVICE", "").strip()
    if forced:
        return forced != "cpu"
    if env.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return any((Path(dev) / node).exists() for node in GPU_DEVICE_NODES)


def gpu_request(value, env: Mapping[str, str] | None = None, dev: str | Path = "/dev") -> int:
    """The ``gpu`` resource of a trunk job (config ``resources.<family>.gpu``).

    An integer is taken as given; ``"auto"`` is 1 where :func:`gpu_visible` (the job will
    hold the GPU, and the workstation profile's ``gpu: 1`` runs such jobs one at a time) and
    0 on a machine without one (the jobs run on the CPU, side by side up to ``--cores``).
    Cluster profiles set the resource themselves (``set-resources``).
    """
    if value == "auto":
        return int(gpu_visible(env, dev))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"gpu = {value!r}", field="resources.<family>.gpu",
                         expected="'auto' or a non-negative integer")
    return value
