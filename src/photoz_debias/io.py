"""Small file helpers: atomic writes, and the stamps-file columns the later steps read."""

from __future__ import annotations


import numpy as np
import pandas as pd

from photoz_debias.atomic import atomic_path
from photoz_debias.errors import InputError

LABEL_COLUMNS = ("id", "z_spec", "r_mag", "ebv", "split", "mag_row", "field", "quality")
OPTIONAL_COLUMNS = ("mag_u", "mag_g", "mag_r", "mag_i", "mag_z", "z_true", "photoz_survey")


def h5_data(arr) -> np.ndarray:
    """An array as HDF5 stores it: text (``str`` objects, numpy unicode) as variable-length
    UTF-8 strings, which h5py cannot infer; anything else as it is."""
    import h5py

    a = np.asarray(arr)
    if a.dtype.kind == "U" or (a.dtype.kind == "O" and a.size and isinstance(a.flat[0], str)):
        return np.array(a.astype(str).tolist(), dtype=h5py.string_dtype("utf-8"))
    return a


def read_ids(dataset) -> np.ndarray:
    """The ids of an HDF5 dataset (``f['id']``) as the workflow keeps them: int64, or an
    object array of ``str`` when the survey's ids are text (kept as they are in every
    output)."""
    import h5py

    if h5py.check_string_dtype(dataset.dtype) is not None:
        return np.asarray(dataset.asstr()[:], dtype=object)
    return dataset[:].astype(np.int64)


def write_h5(path, datasets: dict, attrs: dict | None = None) -> None:
    """Write arrays (and attributes) to an HDF5 file atomically (text as UTF-8 strings)."""
    import h5py

    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, arr in datasets.items():
            f.create_dataset(name, data=h5_data(arr))
        for k, v in (attrs or {}).items():
            f.attrs[k] = v


def write_parquet(df: pd.DataFrame, path) -> None:
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)


def file_bands(h5) -> list[str]:
    """The bands of a stamps file (an open h5py file or a path), in channel order: its
    ``bands`` attribute, ``'ugriz'`` or comma-separated names such as ``'g,r,i,z,y'``; empty
    when the file names none."""
    if not hasattr(h5, "attrs"):
        import h5py

        with h5py.File(h5, "r") as f:
            return file_bands(f)
    bands = str(h5.attrs.get("bands", ""))
    return [b for b in bands.split(",") if b] if "," in bands else list(bands)


def read_labels(h5_path) -> pd.DataFrame:
    """The per-galaxy columns of a stamps file (no images) as a DataFrame, in file order,
    with the magnitudes ``mag_<band>`` of every band the file has."""
    import h5py

    with h5py.File(h5_path, "r") as f:
        mags = tuple(f"mag_{b}" for b in file_bands(f))
        names = dict.fromkeys(LABEL_COLUMNS + OPTIONAL_COLUMNS + mags)
        cols = {c: read_ids(f[c]) if c == "id" else f[c][:] for c in names if c in f}
    df = pd.DataFrame(cols)
    for c in ("field", "quality"):
        if c in df and df[c].dtype == object:
            df[c] = df[c].str.decode("ascii")
    return df


def load_training_arrays(h5_path, split: str = "train", dtype=np.float32) -> dict:
    """Read one split of a stamps file (docs/architecture.md "Preprocessed stamps").

    Returns a dict with ``x`` ((N, C, 64, 64) images in ``dtype``, or (N, F) ``features``
    when the file holds a ``features`` dataset instead of ``images``), ``ebv`` (N,) float32,
    ``z_spec`` (N,) float64, ``mag_row`` (N,) int64, ``id`` (N,) (:func:`read_ids`).  Images are read in
    chunks so that only the selected split is held in memory.
    """
    import h5py

    code = {"train": 0, "test": 1}.get(split)
    if code is None:
        raise InputError(f"split={split!r}", field="split", expected="'train' or 'test'")
    with h5py.File(h5_path, "r") as f:
        for col in ("split", "ebv", "z_spec", "mag_row", "id"):
            if col not in f:
                raise InputError("missing dataset", file=str(h5_path), field=col, expected="the stamps layout of docs/architecture.md")
        sel = np.flatnonzero(f["split"][:] == code)
        key = "images" if "images" in f else "features" if "features" in f else None
        if key is None:
            raise InputError("missing dataset", file=str(h5_path), field="images", expected="'images' (N, C, 64, 64) or 'features' (N, F)")
        ds = f[key]
        x = np.empty((len(sel),) + ds.shape[1:], dtype=dtype)
        chunk = 4096
        for s in range(0, len(sel), chunk):
            rows = sel[s : s + chunk]
            # read the contiguous span, then pick: h5py point selections are slow
            block = ds[rows[0] : rows[-1] + 1]
            x[s : s + len(rows)] = block[rows - rows[0]]
        out = {
            "x": x,
            "ebv": f["ebv"][:][sel].astype(np.float32),
            "z_spec": f["z_spec"][:][sel].astype(np.float64),
            "mag_row": f["mag_row"][:][sel].astype(np.int64),
            "id": read_ids(f["id"])[sel],
        }
    return out


def part_mask(labels: pd.DataFrame, part: dict) -> np.ndarray:
    """Galaxies of a debiasing part: its fields and quality flags (None = all)."""
    keep = np.ones(len(labels), dtype=bool)
    if part.get("fields"):
        keep &= labels["field"].isin(part["fields"]).to_numpy()
    if part.get("quality"):
        keep &= labels["quality"].isin(part["quality"]).to_numpy()
    return keep


def read_representations(path, split: str, rows=None) -> np.ndarray:
    """Cached representations of ``split`` ('train' (N, 8, D) or 'test' (N, D)), as float32.

    ``rows`` (sorted indices into the split) reads only those galaxies.
    """
    import h5py

    with h5py.File(path, "r") as f:
        ds = f[split]
        if rows is None:
            out = ds[:]
        else:
            # one contiguous read, then pick: h5py point selections are slow
            rows = np.asarray(rows, dtype=np.int64)
            if rows.size == 0:
                return np.zeros((0,) + ds.shape[1:], dtype=np.float32)
            lo, hi = int(rows.min()), int(rows.max()) + 1
            out = ds[lo:hi][rows - lo]
    return out.astype(np.float32)


def save_heads(path, heads_weight, heads_bias, meta: dict) -> None:
    """Redshift-head weights of a Step 2/3 model (docs/architecture.md "Heads")."""
    import torch

    from photoz_debias.model.checkpoint import atomic_torch_save, check_plain

    check_plain(meta)
    atomic_torch_save(
        {
            "heads_weight": torch.as_tensor(np.asarray(heads_weight, dtype=np.float32)),
            "heads_bias": torch.as_tensor(np.asarray(heads_bias, dtype=np.float32)),
            "meta": meta,
        },
        path,
    )


def load_heads(path) -> tuple[np.ndarray, np.ndarray, dict]:
    """Inverse of :func:`save_heads` (weights-only loading: no arbitrary unpickling)."""
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    return obj["heads_weight"].numpy(), obj["heads_bias"].numpy(), obj["meta"]


def load_step1_heads(path) -> dict:
    """Step 1's redshift heads and magnitude head as float32 arrays."""
    import torch

    obj = torch.load(path, map_location="cpu", weights_only=True)
    return heads_from_state_dict(obj["model"])


def heads_from_state_dict(state: dict) -> dict[str, np.ndarray]:
    """Redshift heads and magnitude head of a multi-channel model's state dict.

    Returns ``heads_weight (m, n, D), heads_bias (m, n), mag_weight (m, D), mag_bias (m,)``
    as float32 arrays (keys of ``networks.PhotoZNet`` with a ``MultiChannelUnit``).
    """
    keys = {"heads_weight": "unit.heads_weight", "heads_bias": "unit.heads_bias",
            "mag_weight": "unit.mag_head.weight", "mag_bias": "unit.mag_head.bias"}
    missing = [k for k in keys.values() if k not in state]
    if missing:
        raise InputError(f"missing {missing}", field="model",
                         expected="a multi-channel model state dict (Step 1)")
    return {name: state[key].detach().cpu().float().numpy() for name, key in keys.items()}


def copy_stamps_subset(src, dst, keep: np.ndarray, note: str, chunk: int = 2048,
                       replace: dict | None = None, drop=()) -> int:
    """Write a stamps file holding only the galaxies where ``keep`` is True (same layout,
    attributes kept, ``note`` added to the provenance), streaming the images.  ``replace``
    maps 1-D column names to the kept galaxies' new values; columns in ``drop`` are left out."""
    import h5py

    keep = np.asarray(keep, dtype=bool)
    idx = np.flatnonzero(keep)
    replace = replace or {}
    with h5py.File(src, "r") as fin, atomic_path(dst) as tmp, h5py.File(tmp, "w") as fout:
        for k, v in fin.attrs.items():
            fout.attrs[k] = v
        fout.attrs["derived"] = note
        for name, ds in fin.items():
            if name in drop:
                continue
            if ds.ndim == 1:
                new = replace.get(name)
                data = ds[:][keep] if new is None else np.asarray(new, ds.dtype)
                fout.create_dataset(name, data=data, dtype=ds.dtype)
                continue
            out = fout.create_dataset(
                name, shape=(len(idx),) + ds.shape[1:], dtype=ds.dtype, chunks=ds.chunks
            )
            for s in range(0, len(idx), chunk):
                rows = idx[s : s + chunk]
                out[s : s + len(rows)] = ds[rows[0] : rows[-1] + 1][rows - rows[0]]
    return len(idx)



def model_inputs(h5_path) -> dict:
    """What a network trained on a stamps file reads: ``bands`` (in channel order),
    ``stamp shape`` ((C, H, W), or None in catalogue mode), ``pixel scale`` (arcsec, None
    when not recorded or in catalogue mode) and ``feature set`` (the feature names in
    catalogue mode, else None)."""
    import h5py

    with h5py.File(h5_path, "r") as f:
        images = f["images"].shape[1:] if "images" in f else None
        feats = f.attrs.get("feature_names") if "features" in f else None
        scale = float(f.attrs.get("pixel_scale_arcsec", np.nan)) if images else np.nan
        return {"bands": ",".join(file_bands(f)), "stamp shape": images,
                "pixel scale": None if not np.isfinite(scale) else round(scale, 4),
                "feature set": None if feats is None else str(feats)}


def check_applicable(applied_h5, model_h5) -> None:
    """Refuse an applied sample (apply mode) that the model cannot read: its bands, stamp
    shape, pixel scale (the CNN learnt galaxy sizes in pixels; stamps are never resampled)
    or catalogue feature set must be those of the model's training data.

    Raises
    ------
    InputError
        Naming both files and both values.
    """
    a, m = model_inputs(applied_h5), model_inputs(model_h5)
    for what in ("bands", "stamp shape", "pixel scale", "feature set"):
        if what == "pixel scale" and None in (a[what], m[what]):
            continue  # not recorded: nothing to compare
        if a[what] != m[what]:
            raise InputError(
                f"{what} {a[what]} of the applied sample differ from the model's {m[what]} "
                f"(its training data {model_h5})", file=str(applied_h5), field=what,
                expected=f"the model's {what}: {m[what]}")
