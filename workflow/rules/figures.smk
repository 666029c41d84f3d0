# One rule per figure. Figure rules read only the preprocessed labels, catalogues, metrics
# and fit artefacts, and take their style from config `figures` through params, so a
# style change reruns these rules and nothing upstream.

FIG_DIR = "results/{dataset}/figures"


rule figures:
    input:
        figure_targets,


rule plot_example_stamps:
    input:
        "results/{dataset}/stamps.h5",
    output:
        report(
            FIG_DIR + "/example_stamps.png",
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
        style=config["figures"],
    script:
        "../scripts/plot_example_stamps.py"


rule plot_realism:
    input:
        "results/{dataset}/stamps.h5",
    output:
        report(
            FIG_DIR + "/realism.png",
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
        style=config["figures"],
        reference=realism_reference,
    script:
        "../scripts/plot_realism.py"
