# Helpers and input/params functions only (rules live in the other .smk files).
import functools
import hashlib
import json
from pathlib import Path

from snakemake.logging import logger

from photoz_debias import paths
from photoz_debias import studies as st
from photoz_debias.methods import APPLIED_METHODS, METHODS
from photoz_debias.hardware import gpu_request
from photoz_debias.repo_paths import SOURCE_PATH_KEYS, resolve_config_paths

# Relative input paths in the config are relative to the repository, not to the working
# directory, so the shipped resources/ are found from any `snakemake --directory`.
config.update(resolve_config_paths(config, workflow.basedir))

DEPLETED = "_depleted"
SEEDS = config["ensemble"]["seeds"]
STUDIES = config["studies"]
STUDY_SEEDS = STUDIES["seeds"]
STEP3_VARIANTS = ["step3", "step3a"]  # Step 3b has its own rule (train_step3b)


def _check_studies():
    """Names in `studies` must exist (a study whose dataset is not in `run` is skipped)."""
    known = config["datasets"]
    named = [s["dataset"] for s in STUDIES["threshold"]["sweeps"]]
    if any(STUDIES[s]["activate"] for s in st.STUDIES if s != "threshold"):
        named.append(STUDIES["dataset"])
    for ds in named:
        if ds not in known:
            raise ValueError(
                f"config studies: dataset {ds!r} is not a key of 'datasets' "
                f"(expected one of {sorted(known)})"
            )
    for sweep in threshold_sweeps():
        parts = config["datasets"][sweep["dataset"]]["parts"]
        if sweep["part"] not in parts:
            raise ValueError(
                f"config studies.threshold.sweeps: part {sweep['part']!r} is not a part of "
                f"dataset {sweep['dataset']!r} (expected one of {sorted(parts)})"
            )
    if "iterations" in active_studies():
        t = config["datasets"][STUDIES["dataset"]]["training"]
        saved = set(t["checkpoint_iters"]) | {t["iterations"]}
        bad = [v for v in study_values("iterations") if v not in saved]
        if bad:
            raise ValueError(
                f"config studies.iterations.values {bad} are not saved by the training of "
                f"{STUDIES['dataset']!r} (training.checkpoint_iters + iterations: {sorted(saved)})"
            )


def depleted_active():
    return config["calibrate"]["depleted_training"]["activate"]


def study_run(ds):
    """The Appendix D point a derived dataset name stands for (photoz_debias.studies), else
    None: `<base>__<tag><value>`, e.g. sdss__nbins40, sdss__frac0.5, sdss__sigz0.05,
    sdss__netnets1, sdss__iter1200."""
    d = st.parse_derived(ds)
    return d if d is not None and d.base in config["datasets"] else None


def base_dataset(ds):
    """The configured dataset a (possibly derived) dataset name refers to."""
    if ds.endswith(DEPLETED) and ds[: -len(DEPLETED)] in config["datasets"]:
        return ds[: -len(DEPLETED)]
    d = study_run(ds)
    return d.base if d is not None else ds


@functools.cache
def _study_cfg(ds):
    d = study_run(ds)
    return st.derived_config(config["datasets"][d.base], d.study, d.value)


# Apply mode: a dataset with `apply: {model: <dataset>}` is an applied sample (galaxies
# without spectra) run through the model dataset's trained ensemble; only its own ingestion
# keys are its own, the rest (grid, rows, net, parts, ...) are the model's.
APPLIED_OWN_KEYS = ("apply", "source", "pixel_divisor", "valid_range")


def is_applied(ds):
    return "apply" in config["datasets"].get(ds, {})


def applied_datasets():
    return [ds for ds in config["datasets"] if is_applied(ds)]


def withholds_test(ds):
    """A validation sample: the model's own test galaxies with z_spec withheld."""
    return is_applied(ds) and config["datasets"][ds]["apply"].get(
        "withhold_test", False
    )


def model_of(ds):
    return config["datasets"][ds]["apply"]["model"]


def dataset_cfg(ds):
    """A dataset's configuration; a study point's is its base's with the point's override;
    an applied sample's is its model's with its own ingestion keys (APPLIED_OWN_KEYS).
    """
    if study_run(ds) is not None:
        return _study_cfg(ds)
    if is_applied(ds):
        own = config["datasets"][ds]
        return {
            **config["datasets"][model_of(ds)],
            **{k: own[k] for k in APPLIED_OWN_KEYS if k in own},
        }
    return config["datasets"][base_dataset(ds)]


def stamps_dataset(ds):
    """Whose stamps a dataset reads: study points share their base's results/<base>/stamps.h5
    (the depleted-training variant has its own)."""
    return base_dataset(ds) if study_run(ds) is not None else ds


def stamps_file(wildcards):
    return paths.stamps_path(stamps_dataset(wildcards.dataset))


def is_study(ds, part=None):
    """Runs of the Appendix D studies: derived datasets and threshold-study parts."""
    return study_run(ds) is not None or (
        part is not None and st.parse_study_part(part) is not None
    )


def seeds_of(ds, part=None):
    """The seeds whose models a run averages: studies.seeds for study runs, else
    ensemble.seeds."""
    return STUDY_SEEDS if is_study(ds, part) else SEEDS


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
    if is_applied(wildcards.dataset):
        # every galaxy is applied (no split); z_spec is not needed
        out["split"] = None
        out["applied"] = True
    out["config_hash"] = config_hash(out)
    return out


def grid_params(wildcards):
    return dataset_cfg(wildcards.dataset)["grid"]


def rows_params(wildcards):
    return dataset_cfg(wildcards.dataset)["rows"]


def training_params(wildcards):
    return dataset_cfg(wildcards.dataset)["training"]


def heads_params(wildcards):
    # label_variance picks Step 3's label table (step3_labels), not a training setting
    heads = dataset_cfg(wildcards.dataset)["heads"]
    return {k: v for k, v in heads.items() if k != "label_variance"}


def part_cfg(ds, part):
    """A part's configuration; a threshold-study part `<part>__th<value>` is its part's with
    the balancing threshold replaced."""
    sp = st.parse_study_part(part)
    if sp is None:
        return dataset_cfg(ds)["parts"][part]
    return {**dataset_cfg(ds)["parts"][sp[0]], "threshold": sp[1]}


# A part's settings by what they change: which training galaxies a part uses, how its
# balanced subset is drawn, how Step 4 calibrates, how its results are measured. A rule
# takes only the settings it uses (part_params), so that changing an evaluation setting
# reschedules evaluation and figures, not balancing or head training.
PART_SELECTION = ("fields", "quality")
PART_BALANCING = ("threshold", "subset_size")
PART_STEP4 = ("zphoto_cell",)
PART_EVALUATION = ("z_break", "outlier_threshold", "tv_bins", "r_bins")


def part_params(*keys):
    """Params function: the named settings of the rule's part (see part_cfg)."""
    known = PART_SELECTION + PART_BALANCING + PART_STEP4 + PART_EVALUATION
    unknown = [k for k in keys if k not in known]
    if unknown or not keys:
        raise ValueError(
            f"part_params{keys}: expected one or more of {known}, got unknown {unknown}"
        )

    def _params(wildcards):
        cfg = part_cfg(wildcards.dataset, wildcards.part)
        return {k: cfg[k] for k in keys}

    return _params


def depletion_params(wildcards):
    return config["calibrate"]["depleted_training"]


def calibrate_params(wildcards):
    return {
        k: config["calibrate"][k] for k in ("n_resamplings", "seed", "test_samples")
    }


def realism_reference(wildcards):
    return config["realism"]["reference"]


def realism_reference_files(wildcards):
    ref = Path(config["realism"]["reference"])
    return [ref / "SDSS_MGS.train", ref / "SDSS_MGS.test"]


# ---- input functions ----


def raw_input(wildcards):
    """The raw files a dataset is ingested from: generated, or the user's own."""
    src = dataset_cfg(wildcards.dataset)["source"]
    if src["layout"] == "synthetic":
        return paths.raw_dir(wildcards.dataset)
    files = []
    for k, v in src.items():
        if k not in SOURCE_PATH_KEYS:
            continue
        # a path, or a list of paths (catalogues to pool)
        files += [f for f in (v if isinstance(v, list) else [v]) if isinstance(f, str)]
    return files


def seed_part(ds, part, step2=True):
    """The part whose per-seed files (balanced subset, Steps 2-3 heads, fits) a part uses. A
    threshold-study part at its part's own threshold is that part with fewer seeds, so it
    reuses them; Step 3\\2 skips the balanced subset, so every threshold-study part reuses
    its part's (step2=False)."""
    sp = st.parse_study_part(part)
    if sp is None:
        return part
    if not step2 or sp[1] == dataset_cfg(ds)["parts"][sp[0]]["threshold"]:
        return sp[0]
    return part


def seed_files(pattern, step2=True):
    """A per-seed file of each seed of the run (see seeds_of and seed_part)."""

    def _files(wildcards):
        part = wildcards.get("part")
        seeds = seeds_of(wildcards.dataset, part)
        if part is None:
            return expand(pattern, seed=seeds, **wildcards)
        other = {k: v for k, v in wildcards.items() if k != "part"}
        return expand(
            pattern, seed=seeds, part=seed_part(wildcards.dataset, part, step2), **other
        )

    return _files


def part_outputs(ds, part):
    return [
        paths.part_file(name, ds, net_of(ds), part)
        for name in ("catalogue.parquet", "metrics.parquet", "tables/appendix_e.md")
    ] + qp_files(ds, part)


def all_outputs(wildcards):
    out = []
    for ds in run_datasets():
        if is_applied(ds):
            out += applied_outputs(ds)
            continue
        out.append(paths.stamps_path(ds))
        for part in dataset_parts(ds):
            out += part_outputs(ds, part)
    out += figure_targets()
    out += study_tables()
    return out


def label_variance(ds, part):
    """How Step 3's label means get their scattering variance: 'eq7' (Eq. 7 as written, the
    default) or 'measured' (Step 3b's error curves). A part's own `label_variance` overrides
    the dataset's heads setting, so that two parts compare both on the same trunks."""
    own = part_cfg(ds, part).get("label_variance")
    return own or dataset_cfg(ds)["heads"].get("label_variance", "eq7")


def step3_labels(stem, seed=None):
    """The soft-label table Step 3 (and 3a) train on: ``{stem}_measured.parquet`` (Eq. 8 with
    Step 3b's measured variance) or ``{stem}.parquet`` (Eq. 7), per label_variance."""

    def _file(wildcards):
        suffix = (
            "_measured"
            if label_variance(wildcards.dataset, wildcards.part) == "measured"
            else ""
        )
        s = wildcards.seed if seed is None else seed(wildcards)
        return paths.seed_part_file(
            f"{stem}{suffix}.parquet",
            wildcards.dataset,
            wildcards.net,
            s,
            wildcards.part,
        )

    return _file


def first_seed(pattern):
    """A figure that shows one ensemble member's fit uses the first seed."""

    def _file(wildcards):
        return expand(
            pattern,
            seed=seeds_of(wildcards.dataset, wildcards.get("part"))[0],
            **wildcards,
        )

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
    """(dataset, part) of every configured run, the depleted training variant and the
    applied samples excluded."""
    return [
        (ds, part)
        for ds in config["run"]
        if not is_applied(ds)
        for part in dataset_parts(ds)
    ]


def all_part_metrics(wildcards):
    return [
        paths.part_file("metrics.parquet", ds, net_of(ds), part)
        for ds, part in all_parts()
    ]


def all_part_labels():
    return [f"{ds}/{part}" for ds, part in all_parts()]


def figure_targets(wildcards=None):
    out = []
    if all_parts():  # not when only applied samples are run
        out += [
            paths.shared_figure("fig11_tomography"),
            paths.shared_figure("fig12_peers"),
        ]
    real = config["realism"]
    if real["activate"] and real["dataset"] in config["run"]:
        out.append(paths.figure("realism", real["dataset"]))
    for ds in run_datasets():
        if is_applied(ds):
            continue  # applied_outputs
        net = net_of(ds)
        if ds.endswith(DEPLETED):
            out += [
                paths.part_figure("fig10_calibration", ds, net, p)
                for p in dataset_parts(ds)
            ]
            continue
        out.append(paths.figure("fig03_grid", ds))
        if dataset_cfg(ds)["source"]["layout"] != "catalogue":  # no stamps to show
            out.append(paths.figure("example_stamps", ds))
        if len(experiment_samples(ds)) > 1:
            out += [
                paths.part_figure("fig09_calibration", ds, net, p)
                for p in dataset_parts(ds)
            ]
        for p in dataset_parts(ds):
            out += [
                paths.part_figure(name, ds, net, p)
                for name in (
                    "fig04_balancing",
                    "fig05_soft_label",
                    "fig06_residuals",
                    "fig08_zphot_zspec",
                    "figB1_estimates",
                    "figC1_expected_residuals",
                )
            ]
    out += study_figures()
    return out


wildcard_constraints:
    seed=r"\d+",
    sample="|".join(config["calibrate"]["test_samples"]),
    net="[a-z0-9]+",
    part=r"[A-Za-z0-9]+(?:__th\d+)?",


def figure_style(wildcards):
    """The `figures:` style keys (the gallery list is not a style)."""
    return {k: v for k, v in config["figures"].items() if k != "gallery"}


# ---- Appendix D studies (config `studies`, photoz_debias.studies) ----
# A study runs only when its dataset is in `run`. Points that change the trunk's training are
# derived datasets `<dataset>__<tag><value>` (they share results/<dataset>/stamps.h5); the
# threshold points are parts `<part>__th<value>` of the dataset itself; a point equal to the
# base setting is the base dataset's part at its own threshold (the base chain with the study
# seeds), so it is computed once and shared by the studies.

# train_baseline / train_step1 never make the models of an iterations-study point: those are
# copies of the base training's checkpoints (rule iterations_checkpoint).
TRAINED_DATASET = r"(?:(?!__iter\d)[^/])+"
STUDY_FIGURES = {
    "n_bins": ["figD3_n_bins"],
    "iterations": [
        "figD4_iterations",
        "figD5_iterations_zphot_zspec",
        "figD6_iterations_residuals",
    ],
    "train_size": ["figD7_train_size"],
    "label_error": ["figD8_label_error"],
    "net": ["figD9_net"],
}


def threshold_sweeps():
    """The active threshold sweeps (Figs. D.1, D.2) whose dataset is run."""
    th = STUDIES["threshold"]
    if not th["activate"]:
        return []
    return [s for s in th["sweeps"] if s["dataset"] in config["run"]]


def active_studies():
    """The active studies other than the threshold sweeps (on studies.dataset, if run)."""
    if STUDIES["dataset"] not in config["run"]:
        return []
    return [s for s in st.STUDIES if s != "threshold" and STUDIES[s]["activate"]]


def study_values(study):
    """The swept values; iterations: null means every saved checkpoint + the final model."""
    if study == "iterations" and STUDIES["iterations"]["values"] is None:
        t = config["datasets"][STUDIES["dataset"]]["training"]
        return sorted(set(t["checkpoint_iters"]) | {t["iterations"]})
    return list(dict.fromkeys(STUDIES[study]["values"]))


def reference_part(ds, part):
    """The base configuration run with the study seeds: the part at its own threshold."""
    return st.study_part(part, dataset_cfg(ds)["parts"][part]["threshold"])


def study_points(ds, study):
    """(value, run dataset, run part, part) of every point of a study on dataset ds."""
    out = []
    if study == "threshold":
        for sweep in threshold_sweeps():
            if sweep["dataset"] == ds:
                part = sweep["part"]
                out += [(v, ds, st.study_part(part, v), part) for v in sweep["values"]]
        return list(dict.fromkeys(out))
    base = config["datasets"][ds]
    for part in dataset_parts(ds):
        for v in study_values(study):
            if st.is_base_setting(study, v, base):
                out.append((v, ds, reference_part(ds, part), part))
            else:
                out.append((v, st.derived_name(ds, study, v), part, part))
    return out


def study_table_params(wildcards):
    return [
        {"value": v, "dataset": d, "part": p, "base_part": bp}
        for v, d, p, bp in study_points(wildcards.dataset, wildcards.study)
    ]


def study_files(name, study=None):
    """`name`.parquet (metrics or catalogue) of every point of a study (default: the study
    wildcard), in point order; for a figure (wildcard part) only the points of that part.
    """

    def _files(wildcards):
        part = wildcards.get("part")
        return [
            paths.part_file(f"{name}.parquet", d, net_of(d), p)
            for _, d, p, bp in study_points(wildcards.dataset, study or wildcards.study)
            if part is None or bp == part
        ]

    return _files


def study_point_values(study):
    """The swept values of one part's points (figure labels), in point order."""

    def _values(wildcards):
        return [
            v
            for v, _, _, bp in study_points(wildcards.dataset, study)
            if bp == wildcards.part
        ]

    return _values


def study_datasets():
    """(dataset, study) of every active study table."""
    out = [(s["dataset"], "threshold") for s in threshold_sweeps()]
    out += [(STUDIES["dataset"], s) for s in active_studies()]
    return list(dict.fromkeys(out))


def study_tables():
    return [paths.study_table(ds, s) for ds, s in study_datasets()]


def study_figures():
    """Figs. D.1-D.9 of the active studies."""
    out = []
    for sweep in threshold_sweeps():
        ds = sweep["dataset"]
        out.append(
            paths.part_figure(
                f"fig{sweep['figure']}_threshold", ds, net_of(ds), sweep["part"]
            )
        )
    ds = STUDIES["dataset"]
    for s in active_studies():
        for stem in STUDY_FIGURES[s]:
            out += [
                paths.part_figure(stem, ds, net_of(ds), p) for p in dataset_parts(ds)
            ]
    return list(dict.fromkeys(out))


_check_studies()


# ---- RAIL peers and qp export ----


# a config without peers.rail (older configs) asks for no RAIL peer
RAIL = {
    "activate": False,
    "estimators": [],
    "seed": 0,
    **config["peers"].get("rail", {}),
}


def _rail_missing():
    """The [rail] extra's missing distributions, said once (by the main process) when the
    peers are asked for and cannot run."""
    from photoz_debias.evaluate.rail_peers import rail_missing

    if not (RAIL["activate"] and RAIL["estimators"]):
        return []
    missing = rail_missing()
    if missing and workflow.is_main_process:
        logger.warning(
            "RAIL peers (peers.rail) left out: %s not installed "
            '(pip install -e ".[rail]"); the workflow goes on without them'
            % ", ".join(missing)
        )
    return missing


RAIL_MISSING = _rail_missing()


def rail_peers_active(ds, part):
    """RAIL's peers run on the parts of the datasets of `run` when asked for and installed
    (not on the Appendix D studies' runs nor the depleted training set: Fig. 12 and the
    metrics tables show the main parts)."""
    return (
        bool(RAIL["activate"] and RAIL["estimators"])
        and not RAIL_MISSING
        and ds in config["run"]
        and part in dataset_parts(ds)
    )


def rail_peers_input(wildcards):
    """The catalogue's optional input: the RAIL peers' estimates of the part, if active."""
    if rail_peers_active(wildcards.dataset, wildcards.part):
        return [paths.part_file("rail_peers.parquet", **wildcards)]
    return []


def rail_params(wildcards):
    return {"estimators": list(RAIL["estimators"]), "seed": RAIL["seed"]}


def qp_files(ds, part):
    """A part's densities as qp files: one per method of the densities file."""
    return [paths.part_file(f"qp/{m}.hdf5", ds, net_of(ds), part) for m in METHODS]


# ---- apply mode (workflow/rules/apply.smk) ----


def apply_parts(ds):
    """The model's parts an applied sample runs through (apply.parts, default all)."""
    return list(config["datasets"][ds]["apply"].get("parts") or dataset_parts(ds))


def applied_outputs(ds):
    net = net_of(ds)
    out = [paths.stamps_path(ds)]
    for part in apply_parts(ds):
        base = paths.part_dir(ds, net, part)
        out += [
            f"{base}/catalogue.parquet",
            f"{base}/nz.parquet",
            paths.part_figure("nz", ds, net, part),
        ] + [f"{base}/qp/{m}.hdf5" for m in APPLIED_METHODS]
        if withholds_test(ds):
            out.append(f"{base}/validation.md")
    return out


def model_files(pattern):
    """Files of an applied sample's model dataset (``{model}`` in ``pattern``), one per seed
    when ``pattern`` has ``{seed}``."""

    def _files(wildcards):
        seeds = [wildcards.seed] if "seed" in wildcards.keys() else SEEDS
        other = {k: v for k, v in wildcards.items() if k != "seed"}
        return expand(pattern, model=model_of(wildcards.dataset), seed=seeds, **other)

    return _files


def model_stamps(wildcards):
    return paths.stamps_path(model_of(wildcards.dataset))


def applied_seed_files(wildcards):
    return expand(paths.seed_file("applied.h5"), seed=SEEDS, **wildcards)


def tomography_params(wildcards):
    return config["datasets"][wildcards.dataset]["apply"]["tomography"]


def withheld_truth(wildcards):
    """The validation sample's withheld z_spec (read by the validation outputs only)."""
    if withholds_test(wildcards.dataset):
        return [paths.dataset_file("withheld_z_spec.parquet", wildcards.dataset)]
    return []


# ---- the scaling experiment (config/scaling.yaml, rules/scaling.smk) ----


def scaling_datasets():
    return list(config.get("scaling", {}).get("datasets", []))


def scaling_part_outputs(wildcards=None):
    out = []
    for ds in scaling_datasets():
        out.append(paths.stamps_path(ds))
        for part in dataset_parts(ds):
            out += part_outputs(ds, part)
    return out


def scaling_points(wildcards=None):
    """{dataset: {part: Eq. 8 variance}} of the experiment."""
    return {
        ds: {part: label_variance(ds, part) for part in dataset_parts(ds)}
        for ds in scaling_datasets()
    }


def scaling_inputs(pattern, per_seed=False):
    def _files(wildcards):
        out = []
        for ds in scaling_datasets():
            for part in dataset_parts(ds):
                seeds = SEEDS if per_seed else [None]
                out += [
                    pattern.format(dataset=ds, net=net_of(ds), part=part, seed=s)
                    for s in seeds
                ]
        return out

    return _files
