# The scaling experiment (config/scaling.yaml): every part of each `scaling.datasets` dataset,
# Baseline -> Step 4, then one table and figure against training-set size.


rule scaling:
    input:
        scaling_part_outputs,
        paths.scaling_file("scaling.md"),


# Claims 1-3 of each seed's models alone (Baseline, Steps 2, 3b, 3), and of the ensemble.
rule seed_claims:
    input:
        catalogue=paths.part_file("catalogue.parquet"),
        stamps=paths.stamps_path(),
        baseline=seed_files(paths.seed_file("baseline_test.h5")),
        step1=seed_files(paths.seed_file("step1.pt")),
        representations=seed_files(paths.seed_file("representations.h5")),
        step2=seed_files(paths.seed_part_file("step2.pt")),
        step3b=seed_files(paths.seed_part_file("step3b.pt")),
        step3=seed_files(paths.seed_part_file("step3.pt")),
        error_curves=seed_files(paths.seed_part_file("error_curves.parquet")),
    output:
        paths.part_file("seed_claims.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/seed_claims.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/seed_claims.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        grid=grid_params,
        part=part_params(*PART_EVALUATION),
        seeds=lambda wildcards: seeds_of(wildcards.dataset, wildcards.part),
    script:
        "../scripts/seed_claims.py"


rule scaling_table:
    input:
        stamps=lambda wildcards: [paths.stamps_path(ds) for ds in scaling_datasets()],
        metrics=scaling_inputs(paths.part_file("metrics.parquet")),
        seed_claims=scaling_inputs(paths.part_file("seed_claims.parquet")),
        error_curves=scaling_inputs(
            paths.seed_part_file("error_curves.parquet"), per_seed=True
        ),
    output:
        table=paths.scaling_file("scaling.parquet"),
        seeds=paths.scaling_file("seeds.parquet"),
        sigma1=paths.scaling_file("sigma1.parquet"),
        markdown=paths.scaling_file("scaling.md"),
        figure=expand(
            paths.shared_figure("scaling", fmt="{fmt}"),
            fmt=config["figures"]["formats"],
        ),
    log:
        "logs/scaling/scaling_table.log",
    conda:
        "../../envs/photoz.yaml"
    params:
        points=scaling_points,
        seeds=SEEDS,
        style=figure_style,
    script:
        "../scripts/scaling_table.py"
