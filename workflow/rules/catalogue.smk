# Parquet catalogues (one row per test galaxy, every method), peers, metrics and the
# Appendix E tables.


rule catalogue:
    input:
        stamps="results/{dataset}/stamps.h5",
        estimates=PART_DIR + "/estimates.parquet",
        step4=PART_DIR + "/step4/unmodified.parquet",
    output:
        PART_DIR + "/catalogue.parquet",
    log:
        "logs/{dataset}/{net}/{part}/catalogue.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/catalogue.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        part=part_params,
        knn=config["peers"]["knn"],
    script:
        "../scripts/catalogue.py"


rule metrics:
    input:
        catalogue=PART_DIR + "/catalogue.parquet",
        error_curves=seed_files(
            "results/{dataset}/{net}/seed{seed}/{part}/error_curves.parquet"
        ),
    output:
        metrics=PART_DIR + "/metrics.parquet",
        table_md=PART_DIR + "/tables/appendix_e.md",
        table_csv=PART_DIR + "/tables/appendix_e.csv",
    log:
        "logs/{dataset}/{net}/{part}/metrics.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/metrics.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        grid=grid_params,
        rows=rows_params,
        part=part_params,
    script:
        "../scripts/metrics.py"


rule metrics_step4_experiment:
    input:
        estimates=PART_DIR + "/estimates.parquet",
        step4=PART_DIR + "/step4/{sample}.parquet",
        error_curves=seed_files(
            "results/{dataset}/{net}/seed{seed}/{part}/error_curves.parquet"
        ),
    output:
        PART_DIR + "/step4/metrics_{sample}.parquet",
    log:
        "logs/{dataset}/{net}/{part}/metrics_step4_{sample}.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/metrics_step4_{sample}.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        grid=grid_params,
        rows=rows_params,
        part=part_params,
    script:
        "../scripts/metrics_step4.py"
