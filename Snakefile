# Lin et al. 2022 (A&A 662, A36): CNN photometric redshifts from galaxy images and the four
# steps that remove their redshift-dependent biases and mode collapse.
# README.md is the manual; docs/architecture.md maps the rules to the package.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, schema="workflow/schemas/config.schema.yaml")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/debias.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/catalogue.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/studies.smk"


rule all:
    default_target: True
    input:
        all_outputs,
