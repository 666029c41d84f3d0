# Parquet catalogues (one row per test galaxy, every method), peers, metrics and the
# Appendix E tables.


rule catalogue:
    input:
        stamps=stamps_file,
        estimates=paths.part_file("estimates.parquet"),
        step4=paths.part_file("step4/unmodified.parquet"),
        rail=rail_peers_input,
    output:
        paths.part_file("catalogue.parquet"),
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
        part=part_params(*PART_SELECTION),
        knn=config["peers"]["knn"],
    script:
        "../scripts/catalogue.py"


rule rail_peers:
    input:
        stamps=stamps_file,
    output:
        estimates=paths.part_file("rail_peers.parquet"),
        qp=expand(
            paths.part_file(
                "qp/rail_{estimator}.hdf5", "{{dataset}}", "{{net}}", "{{part}}"
            ),
            estimator=RAIL["estimators"],
        ),
    log:
        "logs/{dataset}/{net}/{part}/rail_peers.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/rail_peers.tsv"
    conda:
        "../../envs/rail.yaml"
    threads: config["resources"]["cpu"]["threads"]
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        grid=grid_params,
        part=part_params(*PART_SELECTION),
        rail=rail_params,
    script:
        "../scripts/rail_peers.py"


rule qp_densities:
    input:
        paths.part_file("densities.h5"),
    output:
        expand(
            paths.part_file("qp/{method}.hdf5", "{{dataset}}", "{{net}}", "{{part}}"),
            method=METHODS,
        ),
    log:
        "logs/{dataset}/{net}/{part}/qp_densities.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/qp_densities.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        methods=list(METHODS),
    script:
        "../scripts/qp_densities.py"


rule metrics:
    input:
        catalogue=paths.part_file("catalogue.parquet"),
        error_curves=seed_files(paths.seed_part_file("error_curves.parquet")),
    output:
        metrics=paths.part_file("metrics.parquet"),
        table_md=paths.part_file("tables/appendix_e.md"),
        table_csv=paths.part_file("tables/appendix_e.csv"),
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
        part=part_params(*PART_EVALUATION),
    script:
        "../scripts/metrics.py"


rule metrics_step4_experiment:
    input:
        estimates=paths.part_file("estimates.parquet"),
        step4=paths.part_file("step4/{sample}.parquet"),
        error_curves=seed_files(paths.seed_part_file("error_curves.parquet")),
    output:
        paths.part_file("step4/metrics_{sample}.parquet"),
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
        part=part_params(*PART_EVALUATION),
    script:
        "../scripts/metrics_step4.py"
