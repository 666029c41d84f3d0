"""Sum the workflow's per-job benchmark files: ``python -m photoz_debias.bench.workflow [benchmarks]``.

Prints, per dataset (or per benchmark file name, i.e. per rule, with ``--by rule``), the number
of finished jobs, the sum of their wall times and of their CPU times (Snakemake's
``benchmark:`` TSVs), and the total, so the cost of a run can be read after the fact.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd


def summarise(root, by: str = "dataset") -> pd.DataFrame:
    """Jobs, summed wall and CPU seconds per ``by`` ('dataset' or 'rule') under ``root``."""
    rows = []
    for f in sorted(Path(root).rglob("*.tsv")):
        d = pd.read_csv(f, sep="\t")
        rows.append({"dataset": f.relative_to(root).parts[0], "rule": f.stem,
                     "wall_s": float(d["s"].iloc[-1]), "cpu_s": float(d["cpu_time"].iloc[-1])})
    df = pd.DataFrame(rows, columns=["dataset", "rule", "wall_s", "cpu_s"])
    out = df.groupby(by).agg(jobs=("rule", "size"), wall_s=("wall_s", "sum"), cpu_s=("cpu_s", "sum"))
    return out.round(0).astype(int)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", default="benchmarks")
    ap.add_argument("--by", choices=("dataset", "rule"), default="dataset")
    args = ap.parse_args(argv)
    t = summarise(args.root, args.by)
    print(f"| {args.by} | jobs | sum of job wall times (s) | sum of job CPU times (s) |")
    print("|---|---:|---:|---:|")
    for key, r in t.iterrows():
        print(f"| {key} | {r.jobs} | {r.wall_s} | {r.cpu_s} |")
    print(f"| **total** | {t.jobs.sum()} | {t.wall_s.sum()} | {t.cpu_s.sum()} |")


if __name__ == "__main__":
    main()
