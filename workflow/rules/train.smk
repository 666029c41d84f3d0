# Baseline and Step 1 ensembles (the only rules that run the convolutional trunk on images,
# so the only ones that ask for a GPU), densities and cached representations.


rule train_baseline:
    input:
        stamps_file,
    output:
        model=paths.seed_file("baseline.pt"),
        checkpoints=directory(paths.seed_file("baseline_checkpoints")),
    log:
        "logs/{dataset}/{net}/seed{seed}/train_baseline.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/train_baseline.tsv"
    wildcard_constraints:
        dataset=TRAINED_DATASET,
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["train"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["train"]["gpu"]),
        mem_mb=config["resources"]["train"]["mem_mb"],
        runtime=config["resources"]["train"]["runtime"],
    params:
        unit="single",
        net="{net}",
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        training=training_params,
    script:
        "../scripts/train.py"


rule train_step1:
    input:
        stamps_file,
    output:
        model=paths.seed_file("step1.pt"),
        checkpoints=directory(paths.seed_file("step1_checkpoints")),
    log:
        "logs/{dataset}/{net}/seed{seed}/train_step1.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/train_step1.tsv"
    wildcard_constraints:
        dataset=TRAINED_DATASET,
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["train"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["train"]["gpu"]),
        mem_mb=config["resources"]["train"]["mem_mb"],
        runtime=config["resources"]["train"]["runtime"],
    params:
        unit="multi",
        net="{net}",
        seed="{seed}",
        grid=grid_params,
        rows=rows_params,
        training=training_params,
    script:
        "../scripts/train.py"


rule predict_baseline:
    input:
        stamps=stamps_file,
        model=paths.seed_file("baseline.pt"),
    output:
        paths.seed_file("baseline_test.h5"),
    log:
        "logs/{dataset}/{net}/seed{seed}/predict_baseline.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/predict_baseline.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["represent"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["represent"]["gpu"]),
        mem_mb=config["resources"]["represent"]["mem_mb"],
        runtime=config["resources"]["represent"]["runtime"],
    script:
        "../scripts/predict_baseline.py"


rule represent:
    input:
        stamps=stamps_file,
        model=paths.seed_file("step1.pt"),
    output:
        paths.seed_file("representations.h5"),
    log:
        "logs/{dataset}/{net}/seed{seed}/represent.log",
    benchmark:
        "benchmarks/{dataset}/{net}/seed{seed}/represent.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["represent"]["threads"]
    resources:
        gpu=gpu_request(config["resources"]["represent"]["gpu"]),
        mem_mb=config["resources"]["represent"]["mem_mb"],
        runtime=config["resources"]["represent"]["runtime"],
    script:
        "../scripts/represent.py"
