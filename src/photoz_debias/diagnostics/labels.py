"""How far do Step 3's labels move?  Eq. 8's label shifts per z_spec interval and against the
residuals of Steps 3b and 3, and Eq. 7's variance against the one measured on Step 3b (with
Step 3 retrained on each label table)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from photoz_debias.errors import InputError
from photoz_debias.grid import RedshiftGrid
from photoz_debias.paths import seed_dir, seed_part_dir, stamps_path
from photoz_debias.diagnostics.runs import finished_part


def require_soft_label_columns(table: pd.DataFrame) -> None:
    missing = [c for c in ("z0", "z_star", "var", "sigma1") if c not in table.columns]
    if missing:
        raise InputError(f"columns {missing} missing", field="soft labels table",
                         expected="a soft_labels.parquet written by fit_soft_labels")


def label_shift_summary(table: pd.DataFrame, edges) -> pd.DataFrame:
    """Step 3's label shifts per z_spec interval of a ``soft_labels.parquet`` table.

    Returns one row per interval ``[lo, hi)`` of ``edges`` with ``n`` (galaxies),
    ``shift`` (mean z* - z0), ``width`` (mean sqrt(Var), Eq. 7) and ``sigma1`` (mean, Eq. 4).
    """
    require_soft_label_columns(table)
    edges = np.asarray(edges, dtype=np.float64)
    k = np.digitize(table["z0"].to_numpy(), edges) - 1
    rows = []
    for i in range(len(edges) - 1):
        t = table[k == i]
        rows.append({
            "lo": edges[i], "hi": edges[i + 1], "n": len(t),
            "shift": float((t["z_star"] - t["z0"]).mean()) if len(t) else float("nan"),
            "width": float(np.sqrt(t["var"]).mean()) if len(t) else float("nan"),
            "sigma1": float(t["sigma1"].mean()) if len(t) else float("nan"),
        })
    return pd.DataFrame(rows)


def variance_summary(eq7: list[pd.DataFrame], measured: list[pd.DataFrame]) -> pd.DataFrame:
    """Eq. 7's scattering variance against the one measured on Step 3b, per magnitude output.

    ``eq7``: ``soft_labels.parquet`` tables (``var = sigma_1^2 + sigma_2^2``, Step 2's
    sigma_2); ``measured``: the same seeds' ``soft_labels_measured.parquet`` (``var`` = Step
    3b's sigma_2^2), row for row.  Returns one row per output ``k``: ``n`` (labels, all seeds),
    ``sigma1``, ``sigma2_step2`` = mean sqrt(Var_eq7 - sigma_1^2), ``width_eq7`` = mean
    sqrt(Var_eq7), ``width_step3b`` = mean sqrt(Var_measured) and ``ratio`` = mean Var_eq7 /
    mean Var_measured (how many times larger Eq. 7 makes the variance, and so the shift).
    """
    a, b = pd.concat(eq7, ignore_index=True), pd.concat(measured, ignore_index=True)
    for t in (a, b):
        require_soft_label_columns(t)
    if len(a) != len(b) or not np.array_equal(a[["id", "output"]].to_numpy(), b[["id", "output"]].to_numpy()):
        raise InputError("the two sets of tables do not list the same (galaxy, output) rows",
                         field="soft labels tables",
                         expected="soft_labels.parquet and soft_labels_measured.parquet of the same seeds, in order")
    df = pd.DataFrame({"output": a["output"].to_numpy(), "sigma1": a["sigma1"].to_numpy(),
                       "s2": np.sqrt(np.maximum(a["var"] - a["sigma1"] ** 2, 0.0)),
                       "v7": a["var"].to_numpy(), "vm": b["var"].to_numpy()})
    g = df.groupby("output")
    out = pd.DataFrame({
        "n": g.size(), "sigma1": g["sigma1"].mean(), "sigma2_step2": g["s2"].mean(),
        "width_eq7": g["v7"].apply(lambda v: np.sqrt(v).mean()),
        "width_step3b": g["vm"].apply(lambda v: np.sqrt(v).mean()),
        "ratio": g["v7"].mean() / g["vm"].mean(),
    })
    return out.reset_index()


def compare_label_variance(config: dict, dataset: str, part: str, root=".",
                           log=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Step 3 retrained with each label table, Eq. 7's and the measured one, and evaluated.

    For every ensemble seed of ``config`` (the workflow's configuration as a dict), Step 3's
    heads are trained on ``soft_labels.parquet`` (Eq. 7) and on ``soft_labels_measured.parquet``
    (Step 3b's variance) of ``results/<dataset>/<net>/seed<s>/<part>/`` with the dataset's head
    settings; the seeds' densities are averaged and the zmode evaluated on the part's test
    catalogue next to its Baseline, Step 3b and Step 3 columns.

    Returns
    -------
    variance : :func:`variance_summary` of the seeds' tables.
    metrics : ``evaluate_methods`` rows (zmode) of ``baseline, step3b, step3, step3_eq7,
        step3_measured``.
    """
    from photoz_debias.debias.steps import rows_of_ids, step3, training_galaxies
    from photoz_debias.debias.ensemble import average, estimates_table, step_densities
    from photoz_debias.evaluate.evaluation import evaluate_catalogue
    from photoz_debias.grid import MagnitudeRows
    from photoz_debias.debias.heads import head_settings
    from photoz_debias.io import load_step1_heads, read_labels, read_representations

    ds, cat = finished_part(config, dataset, part, root)
    g, heads = ds["grid"], ds["heads"]
    grid = RedshiftGrid.from_config(g)
    rows = MagnitudeRows(**ds["rows"])
    stamps = Path(root, stamps_path(dataset))
    labels = read_labels(stamps)
    test_all = labels.loc[labels["split"] == 1, "id"].to_numpy()
    test_rows = rows_of_ids(test_all, cat["id"].to_numpy())
    names = {"step3_eq7": "soft_labels.parquet", "step3_measured": "soft_labels_measured.parquet"}
    dens = {m: [] for m in names}
    tables = {m: [] for m in names}
    curves = []
    ext = None
    for seed in config["ensemble"]["seeds"]:
        sd = Path(root, seed_dir(dataset, ds["net"], seed))
        spd = Path(root, seed_part_dir(dataset, ds["net"], seed, part))
        h1 = load_step1_heads(sd / "step1.pt")
        test_reps = read_representations(sd / "representations.h5", "test", test_rows)
        curves.append(pd.read_parquet(spd / "error_curves.parquet"))
        for m, fname in names.items():
            if not (spd / fname).exists():
                raise InputError(f"{spd / fname} not found", field="soft labels table",
                                 expected="a run with heads.label_variance: measured (the default)")
            table = pd.read_parquet(spd / fname)
            tables[m].append(table)
            ids = table["id"].drop_duplicates().to_numpy()
            gal, reps = training_galaxies(stamps, sd / "representations.h5", ids)
            settings = head_settings(heads, int(seed))
            w, b, _, ext = step3(reps, ids, gal["mag_row"].to_numpy(), table, grid,
                                 (g["extend_left"], g["extend_right"]), rows.n_outputs, "step3", settings)
            dens[m].append(step_densities(test_reps, h1, (w, b)))
            if log is not None:
                print(f"seed {seed}: Step 3 trained on {spd / fname}", file=log, flush=True)
    for m, ps in dens.items():
        est = estimates_table(m, average(ps), ext.centres)
        cat = cat.assign(**{c: est[c].to_numpy() for c in est.columns})
    metrics = evaluate_catalogue(cat, ["baseline", "step3b", "step3", *names], g, ds["parts"][part],
                                 curves, estimates=("zmode",))
    return variance_summary(tables["step3_eq7"], tables["step3_measured"]), metrics


def shift_response(catalogue: pd.DataFrame, tables: list[pd.DataFrame], edges,
                   estimate: str = "zmode") -> pd.DataFrame:
    """Eq. 8's label shifts against the residuals of Steps 3b and 3, per z_spec interval.

    Returns one row per interval ``[lo, hi)`` of ``edges``: ``n_test``, ``step3b`` and
    ``step3`` (mean ``dz = (z_phot - z_spec)/(1 + z_spec)`` of the test galaxies),
    ``response = step3 - step3b``, ``n_labels`` and ``shift`` (mean ``(z* - z0)/(1 + z0)``
    of the (galaxy, output) rows of all ``tables``).
    """
    cols = [f"step3b_{estimate}", f"step3_{estimate}", "z_spec"]
    missing = [c for c in cols if c not in catalogue.columns]
    if missing:
        raise InputError(f"columns {missing} missing", field="catalogue",
                         expected="a catalogue.parquet with the Step 3 and 3b estimates")
    for t in tables:
        require_soft_label_columns(t)
    zs = catalogue["z_spec"].to_numpy(np.float64)
    dz = {m: (catalogue[f"{m}_{estimate}"].to_numpy(np.float64) - zs) / (1 + zs) for m in ("step3b", "step3")}
    lab = pd.concat(tables, ignore_index=True)
    z0 = lab["z0"].to_numpy(np.float64)
    shift = (lab["z_star"].to_numpy(np.float64) - z0) / (1 + z0)
    edges = np.asarray(edges, dtype=np.float64)
    def mean(a, m):
        return float(a[m].mean()) if m.any() else float("nan")

    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        t, l_ = (zs >= lo) & (zs < hi), (z0 >= lo) & (z0 < hi)
        r = {"lo": lo, "hi": hi, "n_test": int(t.sum()), "step3b": mean(dz["step3b"], t),
             "step3": mean(dz["step3"], t), "n_labels": int(l_.sum()), "shift": mean(shift, l_)}
        r["response"] = r["step3"] - r["step3b"]
        rows.append(r)
    return pd.DataFrame(rows)
