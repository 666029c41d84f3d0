# Steps 2 and 3 (Sects. 3.2.2-3.2.3): only the redshift heads are trained, on the cached
# Step 1 representations, so no image passes through the CNN from here on.


rule select_balanced_subset:
    input:
        stamps=stamps_file,
    output:
        paths.seed_part_file("balanced_subset.parquet"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/select_balanced_subset.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/select_balanced_subset.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        part=part_params(*PART_SELECTION, *PART_BALANCING),
    script:
        "../scripts/select_balanced_subset.py"


rule train_step2:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        subset=paths.seed_part_file("balanced_subset.parquet"),
    output:
        paths.seed_part_file("step2.pt"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step2.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["heads"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["heads"].get("gpu", 0)),
        mem_mb=config["resources"]["heads"]["mem_mb"],
        runtime=config["resources"]["heads"]["runtime"],
    params:
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        heads=heads_params,
    script:
        "../scripts/train_step2.py"


rule fit_soft_labels:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        heads=paths.seed_part_file("step2.pt"),
        subset=paths.seed_part_file("balanced_subset.parquet"),
    output:
        soft_labels=paths.seed_part_file("soft_labels.parquet"),
        error_curves=paths.seed_part_file("error_curves.parquet"),
        predictions=paths.seed_part_file("step2_predictions.parquet"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/fit_soft_labels.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/fit_soft_labels.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        mode="step2",
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
    script:
        "../scripts/fit_soft_labels.py"


rule fit_soft_labels_no_step2:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
    output:
        soft_labels=paths.seed_part_file("soft_labels_no_step2.parquet"),
        error_curves=paths.seed_part_file("error_curves_no_step2.parquet"),
        predictions=paths.seed_part_file("step1_predictions.parquet"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/fit_soft_labels_no_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/fit_soft_labels_no_step2.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        mode="step1",
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        part=part_params(*PART_SELECTION, "subset_size"),
    script:
        "../scripts/fit_soft_labels.py"


rule train_step3b:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=paths.seed_part_file("soft_labels.parquet"),
    output:
        step3b=paths.seed_part_file("step3b.pt"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step3b.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step3b.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["heads"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["heads"].get("gpu", 0)),
        mem_mb=config["resources"]["heads"]["mem_mb"],
        runtime=config["resources"]["heads"]["runtime"],
    params:
        variants=["step3b"],
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        heads=heads_params,
    script:
        "../scripts/train_step3.py"


# Step 3\2's own Step 3b (soft labels at z0 on Step 1's fit), for its measured variance.
use rule train_step3b as train_step3b_no_step2 with:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=paths.seed_part_file("soft_labels_no_step2.parquet"),
    output:
        step3b=paths.seed_part_file("step3b_no_step2.pt"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step3b_no_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step3b_no_step2.tsv"


# Eq. 8 with Var measured on Step 3b instead of Eq. 7 (heads.label_variance: measured).
rule measure_label_variance:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=paths.seed_part_file("soft_labels.parquet"),
        step3b=paths.seed_part_file("step3b.pt"),
    output:
        soft_labels=paths.seed_part_file("soft_labels_measured.parquet"),
        error_curves=paths.seed_part_file("error_curves_step3b.parquet"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/measure_label_variance.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/measure_label_variance.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        grid=grid_params,
        rows=rows_params,
    script:
        "../scripts/measure_label_variance.py"


use rule measure_label_variance as measure_label_variance_no_step2 with:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=paths.seed_part_file("soft_labels_no_step2.parquet"),
        step3b=paths.seed_part_file("step3b_no_step2.pt"),
    output:
        soft_labels=paths.seed_part_file("soft_labels_no_step2_measured.parquet"),
        error_curves=paths.seed_part_file("error_curves_step3b_no_step2.parquet"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/measure_label_variance_no_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/measure_label_variance_no_step2.tsv"


rule train_step3:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=step3_labels("soft_labels"),
    output:
        step3=paths.seed_part_file("step3.pt"),
        step3a=paths.seed_part_file("step3a.pt"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step3.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step3.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["heads"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["heads"].get("gpu", 0)),
        mem_mb=config["resources"]["heads"]["mem_mb"],
        runtime=config["resources"]["heads"]["runtime"],
    params:
        variants=STEP3_VARIANTS,
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        heads=heads_params,
    script:
        "../scripts/train_step3.py"


use rule train_step3 as train_step3_no_step2 with:
    input:
        stamps=stamps_file,
        representations=paths.seed_file("representations.h5"),
        step1=paths.seed_file("step1.pt"),
        soft_labels=step3_labels("soft_labels_no_step2"),
    output:
        step3_no_step2=paths.seed_part_file("step3_no_step2.pt"),
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step3_no_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step3_no_step2.tsv"
    params:
        variants=["step3_no_step2"],
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        heads=heads_params,


rule ensemble:
    input:
        stamps=stamps_file,
        baseline=seed_files(paths.seed_file("baseline_test.h5")),
        representations=seed_files(paths.seed_file("representations.h5")),
        step1=seed_files(paths.seed_file("step1.pt")),
        step2=seed_files(paths.seed_part_file("step2.pt")),
        step3=seed_files(paths.seed_part_file("step3.pt")),
        step3a=seed_files(paths.seed_part_file("step3a.pt")),
        step3b=seed_files(paths.seed_part_file("step3b.pt")),
        step3_no_step2=seed_files(
            paths.seed_part_file("step3_no_step2.pt"), step2=False
        ),
    output:
        densities=paths.part_file("densities.h5"),
        estimates=paths.part_file("estimates.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/ensemble.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/ensemble.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["heads"]["mem_mb"],
        runtime=config["resources"]["heads"]["runtime"],
    params:
        grid=grid_params,
        part=part_params(*PART_SELECTION),
    script:
        "../scripts/ensemble.py"
