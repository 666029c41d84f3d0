# Raw stamps -> preprocessed HDF5 (Eq. 1 rescaling, labels, split, provenance).


rule generate_synthetic_survey:
    output:
        directory(paths.raw_dir()),
    log:
        "logs/{dataset}/generate_synthetic_survey.log",
    benchmark:
        "benchmarks/{dataset}/generate_synthetic_survey.tsv"
    conda:
        "../../envs/photoz.yaml"
    threads: config["resources"]["cpu"]["threads"]
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        source=source_params,
    script:
        "../scripts/generate_survey.py"


rule preprocess:
    input:
        raw_input,
    output:
        paths.stamps_path(),
    log:
        "logs/{dataset}/preprocess.log",
    benchmark:
        "benchmarks/{dataset}/preprocess.tsv"
    wildcard_constraints:
        dataset="|".join(config["datasets"]),
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        prep=preprocess_params,
    script:
        "../scripts/preprocess.py"


rule deplete_training:
    input:
        paths.stamps_path(),
    output:
        paths.stamps_path("{dataset}_depleted"),
    log:
        "logs/{dataset}_depleted/deplete_training.log",
    benchmark:
        "benchmarks/{dataset}_depleted/deplete_training.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        depletion=depletion_params,
    script:
        "../scripts/deplete_training.py"
