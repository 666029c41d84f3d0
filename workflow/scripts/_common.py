"""Shared start-up of the workflow scripts: log file, threads, device (not results)."""

import logging
import os
import sys

# Idle OpenMP threads must sleep, not spin: on a shared or busy CPU spinning threads made
# 2-thread training 5-10x slower than 1 thread. Set before anything imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def start(snakemake):
    """Send stdout, stderr and logging to the rule's log; honour the rule's threads."""
    log = open(snakemake.log[0], "w", buffering=1)
    sys.stdout = sys.stderr = log
    logging.basicConfig(
        stream=log, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", force=True
    )
    try:
        import torch

        torch.set_num_threads(max(1, int(snakemake.threads)))
    except ImportError:
        pass
    return logging.getLogger(snakemake.rule)


def device():
    """'cuda' when a GPU is visible (PHOTOZ_DEVICE overrides), else 'cpu'.

    The device changes speed, not the science, so it is not a tracked rule parameter.
    """
    forced = os.environ.get("PHOTOZ_DEVICE")
    if forced:
        return forced
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def job_device(sm):
    """The device of a job whose rule holds a GPU only on request (the head trainings of
    Steps 2-3, ``resources.heads.gpu``): :func:`device` if the job holds one, else 'cpu'."""
    return device() if int(getattr(sm.resources, "gpu", 0) or 0) > 0 else "cpu"


def compile_setting():
    """``PHOTOZ_COMPILE`` (auto | 1 | 0; unset = auto): compile the training step
    (``photoz_debias.model.training.compile_for``). Speed only, so not a tracked rule parameter."""
    return os.environ.get("PHOTOZ_COMPILE", "auto")


def cpu_fast_setting():
    """``PHOTOZ_CPU_FAST`` (1 | 0; unset = 0): the compiled CPU training step
    (``photoz_debias.model.training.cpu_fast_for``). It changes the weights by rounding only, and
    is a speed switch like ``PHOTOZ_COMPILE``, so not a tracked rule parameter."""
    return os.environ.get("PHOTOZ_CPU_FAST", "0")
