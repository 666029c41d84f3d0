# Appendix D studies (config `studies`): families of runs that change one setting each. The
# runs themselves are the ordinary rules on derived names (see common.smk and
# photoz_debias.studies); here: the iterations study's models taken from the training
# checkpoints, the per-study tables and Figs. D.1-D.9.


rule iterations_checkpoint:
    input:
        paths.seed_file("{model}_checkpoints"),
    output:
        paths.seed_file("{model}.pt", dataset="{dataset}__iter{iters}"),
    log:
        "logs/{dataset}__iter{iters}/{net}/seed{seed}/iterations_checkpoint_{model}.log",
    benchmark:
        "benchmarks/{dataset}__iter{iters}/{net}/seed{seed}/iterations_checkpoint_{model}.tsv"
    wildcard_constraints:
        model="baseline|step1",
        iters=r"\d+",
    conda:
        "../../envs/photoz.yaml"
    shell:
        "cp {input}/iter{wildcards.iters}.pt {output} 2> {log}"


rule gather_study:
    input:
        stamps=stamps_file,
        metrics=study_files("metrics"),
    output:
        paths.study_table(),
    log:
        "logs/{dataset}/studies/{study}.log",
    benchmark:
        "benchmarks/{dataset}/studies/{study}.tsv"
    wildcard_constraints:
        study="|".join(st.STUDIES),
    conda:
        "../../envs/photoz.yaml"
    resources:
        mem_mb=config["resources"]["cpu"]["mem_mb"],
        runtime=config["resources"]["cpu"]["runtime"],
    params:
        study="{study}",
        points=study_table_params,
    script:
        "../scripts/gather_study.py"


rule plot_figD1_threshold:
    input:
        paths.study_table(study="threshold"),
    output:
        report(
            paths.part_figure("figD{num}_threshold"),
            caption="../report/figD1.rst",
            category="Appendix D",
            labels={
                "dataset": "{dataset}",
                "part": "{part}",
                "figure": "Fig. D.{num}",
            },
        ),
    log:
        "logs/{dataset}/figures/figD{num}_threshold_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD{num}_threshold_{net}_{part}.tsv"
    wildcard_constraints:
        num="1|2",
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="sweep",
        study="threshold",
        style=figure_style,
        curve_methods=["step2", "step3"],
    script:
        "../scripts/plot_study.py"


rule plot_figD3_n_bins:
    input:
        paths.study_table(study="n_bins"),
    output:
        report(
            paths.part_figure("figD3_n_bins"),
            caption="../report/figD3.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.3"},
        ),
    log:
        "logs/{dataset}/figures/figD3_n_bins_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD3_n_bins_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="sweep",
        study="n_bins",
        style=figure_style,
        curve_methods=["baseline", "step3"],
    script:
        "../scripts/plot_study.py"


use rule plot_figD3_n_bins as plot_figD4_iterations with:
    input:
        paths.study_table(study="iterations"),
    output:
        report(
            paths.part_figure("figD4_iterations"),
            caption="../report/figD4.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.4"},
        ),
    log:
        "logs/{dataset}/figures/figD4_iterations_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD4_iterations_{net}_{part}.tsv"
    params:
        figure="sweep",
        study="iterations",
        style=figure_style,
        curve_methods=["baseline", "step3"],


rule plot_figD5_iterations_zphot_zspec:
    input:
        study_files("catalogue", "iterations"),
    output:
        report(
            paths.part_figure("figD5_iterations_zphot_zspec"),
            caption="../report/figD5.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.5"},
        ),
    log:
        "logs/{dataset}/figures/figD5_iterations_zphot_zspec_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD5_iterations_zphot_zspec_{net}_{part}.tsv"
    conda:
        "../../envs/photoz.yaml"
    params:
        figure="zphot_zspec",
        study="iterations",
        style=figure_style,
        values=study_point_values("iterations"),
        part=part_params("outlier_threshold"),
        grid=grid_params,
    script:
        "../scripts/plot_study.py"


use rule plot_figD3_n_bins as plot_figD6_iterations_residuals with:
    input:
        paths.study_table(study="iterations"),
    output:
        report(
            paths.part_figure("figD6_iterations_residuals"),
            caption="../report/figD6.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.6"},
        ),
    log:
        "logs/{dataset}/figures/figD6_iterations_residuals_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD6_iterations_residuals_{net}_{part}.tsv"
    params:
        figure="curves",
        study="iterations",
        style=figure_style,
        curve_methods=["baseline"],


use rule plot_figD3_n_bins as plot_figD7_train_size with:
    input:
        paths.study_table(study="train_size"),
    output:
        report(
            paths.part_figure("figD7_train_size"),
            caption="../report/figD7.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.7"},
        ),
    log:
        "logs/{dataset}/figures/figD7_train_size_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD7_train_size_{net}_{part}.tsv"
    params:
        figure="sweep",
        study="train_size",
        style=figure_style,
        curve_methods=["baseline", "step3"],


use rule plot_figD3_n_bins as plot_figD8_label_error with:
    input:
        paths.study_table(study="label_error"),
    output:
        report(
            paths.part_figure("figD8_label_error"),
            caption="../report/figD8.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.8"},
        ),
    log:
        "logs/{dataset}/figures/figD8_label_error_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD8_label_error_{net}_{part}.tsv"
    params:
        figure="sweep",
        study="label_error",
        style=figure_style,
        curve_methods=["baseline", "step3"],


use rule plot_figD3_n_bins as plot_figD9_net with:
    input:
        paths.study_table(study="net"),
    output:
        report(
            paths.part_figure("figD9_net"),
            caption="../report/figD9.rst",
            category="Appendix D",
            labels={"dataset": "{dataset}", "part": "{part}", "figure": "Fig. D.9"},
        ),
    log:
        "logs/{dataset}/figures/figD9_net_{net}_{part}.log",
    benchmark:
        "benchmarks/{dataset}/figures/figD9_net_{net}_{part}.tsv"
    params:
        figure="sweep",
        study="net",
        style=figure_style,
        curve_methods=["baseline", "step3"],
