"""Benchmark: ingest a paper-sized stamp cube within a few GB of memory.

    python -m photoz_debias.bench.ingest --n-galaxies 660000 --workdir DIR

Writes a sparse ``stamps.npy`` (N, 5, 64, 64) float32 in the generic layout: the file has the
full size but only one galaxy in 1000 carries a (Gaussian) source, so untouched pages cost
no disk.  It is then ingested by the real path (read in chunks, shape and NaN/inf checks,
pixel divisor, Eq. 1, HDF5 write with gzip level 1 compression so the zero stamps cost little disk)
and the table below is printed: galaxies, input GB, peak RSS, wall time, galaxies/s.
Not a test: numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np
import pandas as pd

from photoz_debias.grid import MagnitudeRows
from photoz_debias.data.ingest import open_source
from photoz_debias.data.preprocess import write_preprocessed


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # Linux: kB


def make_input(workdir: str, n: int, seed: int = 0, z_spec: bool = True) -> float:
    """Sparse cube + catalogue in ``workdir`` (without a z_spec column when ``z_spec`` is
    False: an applied sample); returns the cube's apparent size in GB."""
    rng = np.random.default_rng(seed)
    path = os.path.join(workdir, "stamps.npy")
    # open_memmap only seeks to the end: the file is sparse until written.
    cube = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, 5, 64, 64))
    yy, xx = np.mgrid[:64, :64] - 31.5
    blob = np.exp(-(xx**2 + yy**2) / (2 * 4.0**2)).astype(np.float32) * 50.0
    for i in range(0, n, 1000):
        cube[i] = blob
    cube.flush()
    del cube
    table = pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "z_spec": rng.uniform(0.0, 0.4, n),
        "r_mag": rng.uniform(13.0, 17.8, n).astype(np.float32),
        "ebv": rng.uniform(0.0, 0.1, n).astype(np.float32),
        "field": "SDSS",
        "quality": "HQ",
    })
    if not z_spec:
        table = table.drop(columns="z_spec")
    table.to_parquet(os.path.join(workdir, "catalogue.parquet"))
    return os.path.getsize(path) / 1e9


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-galaxies", type=int, default=660000)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--chunk-size", type=int, default=1024)
    ap.add_argument("--compression", default="gzip",
                    help="h5py compression of images (gzip, lzf) or 'none'")
    ap.add_argument("--level", type=int, default=1, help="gzip level")
    ap.add_argument("--keep", action="store_true", help="keep the input and output files")
    args = ap.parse_args(argv)
    os.makedirs(args.workdir, exist_ok=True)

    t0 = time.perf_counter()
    gb = make_input(args.workdir, args.n_galaxies)
    t_gen = time.perf_counter() - t0
    rss_before = _peak_rss_gb()
    src_disk = os.stat(os.path.join(args.workdir, "stamps.npy")).st_blocks * 512 / 1e9

    out = os.path.join(args.workdir, "stamps.h5")
    t0, c0 = time.perf_counter(), _cpu_s()
    src = open_source({"layout": "generic", "images": "stamps.npy",
                       "catalogue": "catalogue.parquet", "pixel_scale_arcsec": 0.396},
                      base_dir=args.workdir)
    info = write_preprocessed(
        src, out, rows=MagnitudeRows(12.5, 11), split={"test_fraction": 0.2, "seed": 1},
        pixel_divisor=1.0, z_range=(0.0, 0.4), r_range=(8.0, 18.0),
        provenance={"source": "bench.ingest sparse cube"}, chunk_size=args.chunk_size,
        compression=None if args.compression == "none" else args.compression,
        compression_opts=args.level if args.compression == "gzip" else None)
    wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
    peak = _peak_rss_gb()
    out_gb = os.path.getsize(out) / 1e9

    rows = [
        ("galaxies", f"{info['n']:,}"),
        ("input cube (apparent) GB", f"{gb:.2f}"),
        ("input cube on disk GB", f"{src_disk:.3f}"),
        ("output HDF5 GB", f"{out_gb:.3f} ({args.compression}"
         + (f" {args.level})" if args.compression == "gzip" else ")")),
        ("chunk size", f"{args.chunk_size}"),
        ("input generation s", f"{t_gen:.1f}"),
        ("peak RSS before ingest GB", f"{rss_before:.2f}"),
        ("peak RSS GB", f"{peak:.2f}"),
        ("ingest wall time s", f"{wall:.1f}"),
        ("ingest CPU time s (user+sys)", f"{cpu:.1f}"),
        ("galaxies/s (wall)", f"{info['n'] / wall:,.0f}"),
        ("galaxies/s (CPU)", f"{info['n'] / cpu:,.0f}"),
        ("input GB/s", f"{gb / wall:.2f}"),
    ]
    w = max(len(k) for k, _ in rows)
    print(f"{'quantity':<{w}}  value")
    for k, v in rows:
        print(f"{k:<{w}}  {v}")
    if not args.keep:
        for f in ("stamps.npy", "catalogue.parquet", "stamps.h5"):
            os.remove(os.path.join(args.workdir, f))


if __name__ == "__main__":
    main()
