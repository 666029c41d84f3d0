# Apply mode: photo-z for galaxies without spectra. A dataset with `apply: {model: <dataset>}`
# is run through the model dataset's trained ensemble (nothing is retrained): inference in
# chunks, Baseline and Step 3 densities, Step 4 with the training set resampled to the
# applied sample's own (z_photo, r) distribution (Sect. 3.2.4), the catalogue, the tomographic
# n(z) of its z_photo bins and its figure. A validation sample (`withhold_test: true`) is the
# model's own test galaxies with z_spec withheld from these jobs, compared with it at the end.


APPLIED = "|".join(applied_datasets()) or "(?!)"  # (?!) never matches
WITHHELD = "|".join(d for d in applied_datasets() if withholds_test(d)) or "(?!)"


# An applied sample's files carry the ordinary names (stamps.h5, densities.h5,
# estimates.parquet, catalogue.parquet); these rules make them for applied datasets only.
ruleorder: apply_withhold_test > preprocess
ruleorder: apply_ensemble > ensemble
ruleorder: apply_step4 > catalogue
ruleorder: apply_qp_densities > qp_densities


rule apply_withhold_test:
    input:
        model_stamps,
    output:
        stamps=paths.stamps_path(),
        truth=paths.dataset_file("withheld_z_spec.parquet"),
    log:
        "logs/{dataset}/apply_withhold_test.log",
    benchmark:
        "benchmarks/{dataset}/apply_withhold_test.tsv"
    wildcard_constraints:
        dataset=WITHHELD,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    script:
        "../scripts/apply_withhold_test.py"


rule apply_infer:
    input:
        stamps=paths.stamps_path(),
        model_stamps=model_stamps,
        baseline=model_files(paths.seed_file("baseline.pt", dataset="{model}")),
        step1=model_files(paths.seed_file("step1.pt", dataset="{model}")),
    output:
        paths.seed_file("applied.h5"),
    log:
        "logs/{dataset}/{net}/seed{seed}/apply_infer.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/apply_infer.tsv"
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["represent"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["represent"]["gpu"]),
        mem_mb=config["resources"]["represent"]["mem_mb"],
        runtime=config["resources"]["represent"]["runtime"],
    script:
        "../scripts/apply_infer.py"


rule apply_ensemble:
    input:
        stamps=paths.stamps_path(),
        applied=applied_seed_files,
        step1=model_files(paths.seed_file("step1.pt", dataset="{model}")),
        step3=model_files(paths.seed_part_file("step3.pt", dataset="{model}")),
    output:
        densities=paths.part_file("densities.h5"),
        estimates=paths.part_file("estimates.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/apply_ensemble.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/apply_ensemble.tsv"
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["heads"]["mem_mb"],
        runtime=config["resources"]["heads"]["runtime"],
    params:
        grid=grid_params,
    script:
        "../scripts/apply_ensemble.py"


rule apply_step4:
    input:
        estimates=paths.part_file("estimates.parquet"),
        model_estimates=model_files(
            paths.part_file("estimates.parquet", dataset="{model}")
        ),
    output:
        paths.part_file("catalogue.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/apply_step4.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/apply_step4.tsv"
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        calibrate=calibrate_params,
        grid=grid_params,
        rows=rows_params,
        part=part_params(*PART_STEP4),
    script:
        "../scripts/apply_step4.py"


rule apply_tomography:
    input:
        catalogue=paths.part_file("catalogue.parquet"),
        model_estimates=model_files(
            paths.part_file("estimates.parquet", dataset="{model}")
        ),
    output:
        nz=paths.part_file("nz.parquet"),
        bins=paths.part_file("nz_bins.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/apply_tomography.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/apply_tomography.tsv"
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        calibrate=calibrate_params,
        grid=grid_params,
        rows=rows_params,
        part=part_params(*PART_STEP4),
        tomography=tomography_params,
    script:
        "../scripts/apply_tomography.py"


rule apply_validation:
    input:
        catalogue=paths.part_file("catalogue.parquet"),
        nz=paths.part_file("nz.parquet"),
        bins=paths.part_file("nz_bins.parquet"),
        truth=withheld_truth,
    output:
        table=paths.part_file("validation.parquet"),
        table_md=paths.part_file("validation.md"),
    log:
        "logs/{dataset}/{net}/{part}/apply_validation.log",
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    script:
        "../scripts/apply_validation.py"


rule apply_plot_nz:
    input:
        nz=paths.part_file("nz.parquet"),
        bins=paths.part_file("nz_bins.parquet"),
        catalogue=paths.part_file("catalogue.parquet"),
        truth=withheld_truth,
    output:
        report(
            paths.part_figure("nz"),
            caption="../report/apply_nz.rst",
            category="Apply mode",
            labels={"dataset": "{dataset}", "figure": "n(z) per tomographic bin"},
        ),
    log:
        "logs/{dataset}/figures/nz_{net}_{part}.log",
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    params:
        style=figure_style,
    script:
        "../scripts/plot_apply_nz.py"


rule apply_qp_densities:
    input:
        paths.part_file("densities.h5"),
    output:
        expand(
            paths.part_file("qp/{method}.hdf5", "{{dataset}}", "{{net}}", "{{part}}"),
            method=APPLIED_METHODS,
        ),
    log:
        "logs/{dataset}/{net}/{part}/qp_densities.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/qp_densities.tsv"
    wildcard_constraints:
        dataset=APPLIED,
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        methods=list(APPLIED_METHODS),
    script:
        "../scripts/qp_densities.py"
