# Step 4 (Sect. 3.2.4): calibration in photometric-redshift space, per test sample of the
# Fig. 9 experiment (config calibrate.test_samples).


rule calibrate_step4:
    input:
        estimates=paths.part_file("estimates.parquet"),
    output:
        paths.part_file("step4/{sample}.parquet"),
    log:
        "logs/{dataset}/{net}/{part}/calibrate_step4_{sample}.log",
    benchmark:
        "benchmarks/{dataset}/{net}/{part}/calibrate_step4_{sample}.tsv"
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        sample="{sample}",
        calibrate=calibrate_params,
        grid=grid_params,
        part=part_params(*PART_STEP4),
    script:
        "../scripts/calibrate_step4.py"
