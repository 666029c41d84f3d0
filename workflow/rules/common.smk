# Helpers and input/params functions only (rules live in the other .smk files).
import hashlib
import json
from pathlib import Path

DEPLETED = "_depleted"
SEEDS = config["ensemble"]["seeds"]
METHODS = ["baseline", "step1", "step2", "step3", "step3a", "step3b", "step3_no_step2"]
STEP3_VARIANTS = ["step3", "step3a", "step3b"]
# Keys of a real-data `source` block that name input files (see photoz_debias.ingest).
SOURCE_PATH_KEYS = (
    "path",
    "images",
    "catalogue",
    "catalogue_train",
    "catalogue_test",
    "table",
    "stamp_dir",
    "train_index",
    "test_index",
)


def _check_config():
    missing = [d for d in config["run"] if d not in config["datasets"]]
    if missing:
        raise ValueError(
            f"config 'run' names {missing}, which are not keys of 'datasets' "
            f"(expected some of {sorted(config['datasets'])})"
        )
    dep = config["calibrate"]["depleted_training"]
    if dep["activate"] and dep.get("dataset") not in config["datasets"]:
        raise ValueError(
            "config calibrate.depleted_training.dataset must name a dataset, got "
            f"{dep.get('dataset')!r}"
        )
    for name, ds in config["datasets"].items():
        if ds["rows"]["n_rows"] % 2 == 0:
            raise ValueError(
                f"config datasets.{name}.rows.n_rows must be odd (2m - 1), got {ds['rows']['n_rows']}"
            )
        split = ds["split"]
        fixed = (
            ds["source"]["layout"] == "per_galaxy" or "catalogue_test" in ds["source"]
        )
        if ("test_fraction" in split) == ("n_test" in split) and not fixed:
            raise ValueError(
                f"config datasets.{name}.split needs exactly one of test_fraction or n_test"
            )


_check_config()


def depleted_active():
    return config["calibrate"]["depleted_training"]["activate"]


def base_dataset(ds):
    """The configured dataset a (possibly derived) dataset name refers to."""
    if ds.endswith(DEPLETED) and ds[: -len(DEPLETED)] in config["datasets"]:
        return ds[: -len(DEPLETED)]
    return ds


def dataset_cfg(ds):
    return config["datasets"][base_dataset(ds)]


def run_datasets():
    out = list(config["run"])
    dep = config["calibrate"]["depleted_training"]
    if depleted_active() and dep["dataset"] in config["run"]:
        out.append(dep["dataset"] + DEPLETED)
    return out


def dataset_parts(ds):
    return list(dataset_cfg(ds)["parts"])


def net_of(ds):
    return dataset_cfg(ds)["net"]


def config_hash(obj):
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


# ---- params functions (wildcards only, so Snakemake tracks them as params) ----


def source_params(wildcards):
    return dataset_cfg(wildcards.dataset)["source"]


def preprocess_params(wildcards):
    ds = dataset_cfg(wildcards.dataset)
    keys = ["source", "pixel_divisor", "split", "valid_range", "rows"]
    out = {k: ds[k] for k in keys}
    out["config_hash"] = config_hash(out)
    return out


def grid_params(wildcards):
    return dataset_cfg(wildcards.dataset)["grid"]


def rows_params(wildcards):
    return dataset_cfg(wildcards.dataset)["rows"]


def training_params(wildcards):
    return dataset_cfg(wildcards.dataset)["training"]


def heads_params(wildcards):
    return dataset_cfg(wildcards.dataset)["heads"]


def part_params(wildcards):
    return dataset_cfg(wildcards.dataset)["parts"][wildcards.part]


def depletion_params(wildcards):
    return config["calibrate"]["depleted_training"]


def calibrate_params(wildcards):
    return {
        k: config["calibrate"][k] for k in ("n_resamplings", "seed", "test_samples")
    }


def realism_reference(wildcards):
    return config["realism"]["reference"]


# ---- input functions ----


def raw_input(wildcards):
    """The raw files a dataset is ingested from: generated, or the user's own."""
    src = dataset_cfg(wildcards.dataset)["source"]
    if src["layout"] == "synthetic":
        return f"results/{wildcards.dataset}/raw"
    return [v for k, v in src.items() if k in SOURCE_PATH_KEYS and isinstance(v, str)]


def seed_files(pattern):
    def _files(wildcards):
        return expand(pattern, seed=SEEDS, **wildcards)

    return _files


def part_outputs(ds, part):
    net = net_of(ds)
    base = f"results/{ds}/{net}/{part}"
    return [
        f"{base}/catalogue.parquet",
        f"{base}/metrics.parquet",
        f"{base}/tables/appendix_e.md",
    ]


def all_outputs(wildcards):
    out = []
    for ds in run_datasets():
        out.append(f"results/{ds}/stamps.h5")
        for part in dataset_parts(ds):
            out += part_outputs(ds, part)
    out += figure_targets()
    return out


def first_seed(pattern):
    """A figure that shows one ensemble member's fit uses the first seed."""

    def _file(wildcards):
        return expand(pattern, seed=SEEDS[0], **wildcards)

    return _file


def experiment_samples(ds):
    """Step 4 test samples of a dataset: all of them for the experiment datasets (and their
    depleted variant), else only the unmodified test sample."""
    if base_dataset(ds) in config["calibrate"].get("experiment_datasets", []):
        return list(config["calibrate"]["test_samples"])
    return ["unmodified"]


def experiment_files(pattern):
    def _files(wildcards):
        return expand(
            pattern, sample=experiment_samples(wildcards.dataset), **wildcards
        )

    return _files


def experiment_sample_names(wildcards):
    return experiment_samples(wildcards.dataset)


def all_parts():
    """(dataset, part) of every configured run, the depleted training variant excluded."""
    return [(ds, part) for ds in config["run"] for part in dataset_parts(ds)]


def all_part_metrics(wildcards):
    return [
        f"results/{ds}/{net_of(ds)}/{part}/metrics.parquet" for ds, part in all_parts()
    ]


def all_part_labels():
    return [f"{ds}/{part}" for ds, part in all_parts()]


def figure_targets(wildcards=None):
    out = ["results/figures/fig11_tomography.png", "results/figures/fig12_peers.png"]
    real = config["realism"]
    if real["activate"] and real["dataset"] in config["run"]:
        out.append(f"results/{real['dataset']}/figures/realism.png")
    dep = config["calibrate"]["depleted_training"]
    for ds in run_datasets():
        fig = f"results/{ds}/figures"
        net = net_of(ds)
        if ds.endswith(DEPLETED):
            out += [f"{fig}/fig10_calibration_{net}_{p}.png" for p in dataset_parts(ds)]
            continue
        out.append(f"{fig}/fig03_grid.png")
        if dataset_cfg(ds)["source"]["layout"] != "catalogue":  # no stamps to show
            out.append(f"{fig}/example_stamps.png")
        if len(experiment_samples(ds)) > 1:
            out += [f"{fig}/fig09_calibration_{net}_{p}.png" for p in dataset_parts(ds)]
        for p in dataset_parts(ds):
            out += [
                f"{fig}/{name}_{net}_{p}.png"
                for name in (
                    "fig04_balancing",
                    "fig05_soft_label",
                    "fig06_residuals",
                    "fig08_zphot_zspec",
                    "figB1_estimates",
                    "figC1_expected_residuals",
                )
            ]
    return out


wildcard_constraints:
    seed=r"\d+",
    sample="|".join(config["calibrate"]["test_samples"]),
    net="[a-z0-9]+",
    part=r"[A-Za-z0-9]+",


def figure_style(wildcards):
    """The `figures:` style keys (the gallery list is not a style)."""
    return {k: v for k, v in config["figures"].items() if k != "gallery"}
