"""Model checkpoints and resumable training states.

Both are written atomically (a temporary file in the target folder, then ``os.replace``)
so that a crash never leaves a half-written file under the final name, and both hold only
tensors and plain Python types, so they load with ``torch.load(weights_only=True)``, which
executes no pickled code.

Checkpoint layout (docs/architecture.md "Models"): ``{"model": state_dict, "meta": {...}}``
with ``meta`` holding at least ``networks.MODEL_META_KEYS`` (what ``build_model`` needs).
"""

from __future__ import annotations

import os

import torch

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError
from photoz_debias.model.networks import MODEL_META_KEYS, build_model, model_meta, unwrap

_PLAIN = (str, int, float, bool, type(None))


def check_plain(obj, where: str = "meta") -> None:
    """Raise ``InputError`` unless ``obj`` is made of dict/list/tuple/str/int/float/bool/None."""
    if isinstance(obj, _PLAIN):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, (str, int)):
                raise InputError(f"key {k!r} of type {type(k).__name__}", field=where, expected="str or int keys")
            check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            check_plain(v, f"{where}[{i}]")
        return
    raise InputError(
        f"value of type {type(obj).__name__}", field=where, expected="plain types (dict, list, str, int, float, bool, None)"
    )


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` to a temporary file next to ``path`` (flushed to disk), then renamed."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def _cpu_state_dict(model: torch.nn.Module) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in unwrap(model).state_dict().items()}


def save_checkpoint(path, model: torch.nn.Module, meta: dict | None = None) -> None:
    """Write ``{"model": state_dict, "meta": meta}`` atomically.

    ``meta`` is completed with the model's build arguments (``networks.model_meta``);
    explicit entries (grid, iterations, seed, ...) must be plain types.
    """
    full = model_meta(model)
    full.update(meta or {})
    check_plain(full)
    atomic_torch_save({"model": _cpu_state_dict(model), "meta": full}, path)


def load_model(path, map_location="cpu") -> tuple[torch.nn.Module, dict]:
    """Rebuild the model of a checkpoint and load its weights; returns ``(model, meta)``."""
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise InputError("checkpoint not found", file=str(path)) from None
    if not isinstance(blob, dict) or "model" not in blob or "meta" not in blob:
        raise InputError("not a model checkpoint", file=str(path), expected='{"model": state_dict, "meta": {...}}')
    meta = blob["meta"]
    missing = [k for k in MODEL_META_KEYS if k not in meta]
    if missing:
        raise InputError(f"meta lacks {missing}", file=str(path), field="meta", expected=f"keys {MODEL_META_KEYS}")
    model = build_model(**{k: meta[k] for k in MODEL_META_KEYS})
    model.load_state_dict(blob["model"])
    return model.to(map_location), meta


def save_state(path, model, optimizer, iteration: int, generators: dict[str, torch.Generator], extra: dict | None = None) -> None:
    """Save a resumable training state atomically.

    Holds the model and optimiser state dicts, the completed ``iteration``, the states of
    the named ``generators`` (ByteTensors, moved to the CPU) and plain ``extra`` values
    (e.g. running loss sums).
    """
    extra = extra or {}
    check_plain(extra, "extra")
    opt = optimizer.state_dict()
    state = {
        "model": _cpu_state_dict(model),
        "optimizer": _to_cpu(opt),
        "iteration": int(iteration),
        "generators": {k: g.get_state().cpu() for k, g in generators.items()},
        "extra": extra,
    }
    atomic_torch_save(state, path)


def _to_cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_to_cpu(v) for v in obj)
    return obj


def load_state(path, model, optimizer, generators: dict[str, torch.Generator], expect: dict | None = None) -> dict | None:
    """Restore a state written by ``save_state`` into ``model``, ``optimizer`` and ``generators``.

    Returns ``{"iteration": int, "extra": dict}``, or None (restoring nothing) when an entry
    of ``expect`` differs from the state's ``extra`` (a stale state from other settings).
    Optimiser tensors are moved to the parameters' device by ``Optimizer.load_state_dict``.
    """
    state = torch.load(path, map_location="cpu", weights_only=True)
    if expect and any(state["extra"].get(k) != v for k, v in expect.items()):
        return None
    unwrap(model).load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    for name, g in generators.items():
        g.set_state(state["generators"][name])
    return {"iteration": int(state["iteration"]), "extra": state["extra"]}
