# One rule per figure. Figure rules read only the preprocessed labels, catalogues, metrics
# and fit artefacts, and take their style from config `figures` through params, so a
# style change reruns these rules and nothing upstream.


rule figures:
    input:
        figure_targets,


rule plot_example_stamps:
    input:
        paths.stamps_path(),
    output:
        report(
            paths.figure("example_stamps"),
            caption="../report/example_stamps.rst",
            category="Data",
            labels={"dataset": "{dataset}", "figure": "example stamps"},
        ),
    log:
        "logs/{dataset}/figures/example_stamps.log",
    benchmark:
        "benchmarks/{dataset}/figures/example_stamps.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        style=figure_style,
    script:
        "../scripts/plot_example_stamps.py"


rule plot_realism:
    input:
        paths.stamps_path(),
        reference=realism_reference_files,
    output:
        report(
            paths.figure("realism"),
            caption="../report/realism.rst",
            category="Data",
            labels={"dataset": "{dataset}", "figure": "realism vs SDSS MGS"},
        ),
    log:
        "logs/{dataset}/figures/realism.log",
    benchmark:
        "benchmarks/{dataset}/figures/realism.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        style=figure_style,
        reference=realism_reference,
    script:
        "../scripts/plot_realism.py"


rule plot_fig03_grid:
    output:
        report(
            paths.figure("fig03_grid"),
            caption="../report/fig03.rst",
            category="Method",
            labels={"dataset": "{dataset}", "figure": "Fig. 3"},
        ),
    log:
        "logs/{dataset}/figures/fig03_grid.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig03_grid.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig03",
        style=figure_style,
        grid=grid_params,
        rows=rows_params,
    script:
        "../scripts/plot_figure.py"


rule plot_fig04_balancing:
    input:
        stamps=paths.stamps_path(),
        subset=first_seed(paths.seed_part_file("balanced_subset.parquet")),
    output:
        report(
            paths.part_figure("fig04_balancing"),
            caption="../report/fig04.rst",
            category="Step 2",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. 4"},
        ),
    log:
        "logs/{dataset}/figures/fig04_balancing_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig04_balancing_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig04",
        style=figure_style,
        grid=grid_params,
        rows=rows_params,
        part=part_params(*PART_SELECTION, "threshold"),
    script:
        "../scripts/plot_figure.py"


rule plot_fig05_soft_label:
    input:
        soft_labels=step3_labels(
            "soft_labels", seed=lambda wc: seeds_of(wc.dataset, wc.get("part"))[0]
        ),
        predictions=first_seed(paths.seed_part_file("step2_predictions.parquet")),
    output:
        report(
            paths.part_figure("fig05_soft_label"),
            caption="../report/fig05.rst",
            category="Step 3",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. 5"},
        ),
    log:
        "logs/{dataset}/figures/fig05_soft_label_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig05_soft_label_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig05",
        style=figure_style,
        grid=grid_params,
    script:
        "../scripts/plot_figure.py"


rule plot_fig06_residuals:
    input:
        metrics=paths.part_file("metrics.parquet"),
        catalogue=paths.part_file("catalogue.parquet"),
    output:
        report(
            paths.part_figure("fig06_residuals"),
            caption="../report/fig06.rst",
            category="Steps 1-3",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Figs. 6-7"},
        ),
    log:
        "logs/{dataset}/figures/fig06_residuals_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig06_residuals_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig06",
        style=figure_style,
        part=part_params("z_break"),
        grid=grid_params,
    script:
        "../scripts/plot_figure.py"


rule plot_fig08_zphot_zspec:
    input:
        catalogue=paths.part_file("catalogue.parquet"),
    output:
        report(
            paths.part_figure("fig08_zphot_zspec"),
            caption="../report/fig08.rst",
            category="Steps 1-3",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. 8"},
        ),
    log:
        "logs/{dataset}/figures/fig08_zphot_zspec_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig08_zphot_zspec_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig08",
        style=figure_style,
        part=part_params("outlier_threshold"),
        grid=grid_params,
    script:
        "../scripts/plot_figure.py"


rule plot_fig09_calibration:
    input:
        metrics=experiment_files(paths.part_file("step4/metrics_{sample}.parquet")),
    output:
        report(
            paths.part_figure("fig{num}_calibration"),
            caption="../report/fig09.rst",
            category="Step 4",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. {num}"},
        ),
    log:
        "logs/{dataset}/figures/fig{num}_calibration_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/fig{num}_calibration_{net}_{part}.tsv"
    wildcard_constraints:
        num="09|10",
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig09",
        style=figure_style,
        samples=experiment_sample_names,
    script:
        "../scripts/plot_figure.py"


rule plot_figB1_estimates:
    input:
        metrics=paths.part_file("metrics.parquet"),
        catalogue=paths.part_file("catalogue.parquet"),
    output:
        report(
            paths.part_figure("figB1_estimates"),
            caption="../report/figB1.rst",
            category="Appendices",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. B.1"},
        ),
    log:
        "logs/{dataset}/figures/figB1_estimates_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figB1_estimates_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="figB1",
        style=figure_style,
        part=part_params("outlier_threshold"),
    script:
        "../scripts/plot_figure.py"


rule plot_figC1_expected_residuals:
    input:
        predictions=first_seed(paths.seed_part_file("step2_predictions.parquet")),
        error_curves=first_seed(paths.seed_part_file("error_curves.parquet")),
    output:
        report(
            paths.part_figure("figC1_expected_residuals"),
            caption="../report/figC1.rst",
            category="Appendices",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. C.1"},
        ),
    log:
        "logs/{dataset}/figures/figC1_expected_residuals_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figC1_expected_residuals_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="figC1",
        style=figure_style,
        grid=grid_params,
    script:
        "../scripts/plot_figure.py"


rule plot_fig11_tomography:
    input:
        metrics=all_part_metrics,
    output:
        report(
            paths.shared_figure("fig11_tomography"),
            caption="../report/fig11.rst",
            category="Step 4",
            labels={"figure": "Fig. 11"},
        ),
    log:
        "logs/figures/fig11_tomography.log",
    benchmark:
        "benchmarks/figures/fig11_tomography.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig11",
        style=figure_style,
        labels=all_part_labels(),
    script:
        "../scripts/plot_figure.py"


rule plot_fig12_peers:
    input:
        metrics=all_part_metrics,
    output:
        report(
            paths.shared_figure("fig12_peers"),
            caption="../report/fig12.rst",
            category="Peers",
            labels={"figure": "Fig. 12"},
        ),
    log:
        "logs/figures/fig12_peers.log",
    benchmark:
        "benchmarks/figures/fig12_peers.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="fig12",
        style=figure_style,
        labels=all_part_labels(),
    script:
        "../scripts/plot_figure.py"


rule gallery:
    input:
        config["figures"].get("gallery", []),
    output:
        directory("docs/gallery"),
    log:
        "logs/figures/gallery.log",
    conda:
        "../../envs/photoz.yaml"
    params:
        pick=config["figures"].get("gallery", []),
    script:
        "../scripts/gallery.py"
