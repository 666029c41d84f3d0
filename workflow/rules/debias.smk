# Steps 2 and 3 (Sects. 3.2.2-3.2.3): only the redshift heads are trained, on the cached
# Step 1 representations, so no image passes through the CNN from here on.

SEED_DIR = "results/{dataset}/{net}/seed{seed}"


rule select_balanced_subset:
    input:
        stamps="results/{dataset}/stamps.h5",
    output:
        SEED_DIR + "/{part}/balanced_subset.parquet",
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
        part=part_params,
    script:
        "../scripts/select_balanced_subset.py"


rule train_step2:
    input:
        stamps="results/{dataset}/stamps.h5",
        representations=SEED_DIR + "/representations.h5",
        step1=SEED_DIR + "/step1.pt",
        subset=SEED_DIR + "/{part}/balanced_subset.parquet",
    output:
        SEED_DIR + "/{part}/step2.pt",
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step2.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step2.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["heads"]["threads"]
    resources:
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
        stamps="results/{dataset}/stamps.h5",
        representations=SEED_DIR + "/representations.h5",
        step1=SEED_DIR + "/step1.pt",
        heads=SEED_DIR + "/{part}/step2.pt",
        subset=SEED_DIR + "/{part}/balanced_subset.parquet",
    output:
        soft_labels=SEED_DIR + "/{part}/soft_labels.parquet",
        error_curves=SEED_DIR + "/{part}/error_curves.parquet",
        predictions=SEED_DIR + "/{part}/step2_predictions.parquet",
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
        part=part_params,
    script:
        "../scripts/fit_soft_labels.py"


rule fit_soft_labels_no_step2:
    input:
        stamps="results/{dataset}/stamps.h5",
        representations=SEED_DIR + "/representations.h5",
        step1=SEED_DIR + "/step1.pt",
    output:
        soft_labels=SEED_DIR + "/{part}/soft_labels_no_step2.parquet",
        error_curves=SEED_DIR + "/{part}/error_curves_no_step2.parquet",
        predictions=SEED_DIR + "/{part}/step1_predictions.parquet",
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
        part=part_params,
    script:
        "../scripts/fit_soft_labels.py"


rule train_step3:
    input:
        stamps="results/{dataset}/stamps.h5",
        representations=SEED_DIR + "/representations.h5",
        step1=SEED_DIR + "/step1.pt",
        soft_labels=SEED_DIR + "/{part}/soft_labels.parquet",
    output:
        step3=SEED_DIR + "/{part}/step3.pt",
        step3a=SEED_DIR + "/{part}/step3a.pt",
        step3b=SEED_DIR + "/{part}/step3b.pt",
    log:
        "logs/{dataset}/{net}/seed{seed}/{part}/train_step3.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/{part}/train_step3.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["heads"]["threads"]
    resources:
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
        stamps="results/{dataset}/stamps.h5",
        representations=SEED_DIR + "/representations.h5",
        step1=SEED_DIR + "/step1.pt",
        soft_labels=SEED_DIR + "/{part}/soft_labels_no_step2.parquet",
    output:
        step3_no_step2=SEED_DIR + "/{part}/step3_no_step2.pt",
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
        stamps="results/{dataset}/stamps.h5",
        baseline=seed_files(SEED_DIR + "/baseline_test.h5"),
        representations=seed_files(SEED_DIR + "/representations.h5"),
        step1=seed_files(SEED_DIR + "/step1.pt"),
        step2=seed_files(SEED_DIR + "/{part}/step2.pt"),
        step3=seed_files(SEED_DIR + "/{part}/step3.pt"),
        step3a=seed_files(SEED_DIR + "/{part}/step3a.pt"),
        step3b=seed_files(SEED_DIR + "/{part}/step3b.pt"),
        step3_no_step2=seed_files(SEED_DIR + "/{part}/step3_no_step2.pt"),
    output:
        densities="results/{dataset}/{net}/{part}/densities.h5",
        estimates="results/{dataset}/{net}/{part}/estimates.parquet",
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
        part=part_params,
    script:
        "../scripts/ensemble.py"
