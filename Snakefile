# Lin et al. 2022 (A&A 662, A36): CNN photometric redshifts from galaxy images and the four
# steps that remove their redshift-dependent biases and mode collapse.
# README.md is the manual; docs/architecture.md maps the rules to the package.
import os

import yaml
from snakemake.utils import min_version, validate

from photoz_debias.config_checks import check_config, check_keys, resolve_bases

min_version("9.0")


configfile: "config/config.yaml"


# A dataset block may start from another (`base:`): resolved first, so that the checks and
# every rule see whole blocks; in place, as `config` is the dict the rules read.
config.update(resolve_bases(config))

# A bad config stops here, before any job (a dry run included): unknown keys first, with
# their paths and a "did you mean", then the schema's types, then the values it cannot check.
SCHEMA = "workflow/schemas/config.schema.yaml"
with open(os.path.join(workflow.basedir, SCHEMA)) as f:
    check_keys(config, yaml.safe_load(f))
validate(config, schema=SCHEMA)
check_config(config)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/debias.smk"
include: "workflow/rules/calibrate.smk"
include: "workflow/rules/catalogue.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/studies.smk"
include: "workflow/rules/scaling.smk"
include: "workflow/rules/apply.smk"


rule all:
    default_target: True
    input:
        all_outputs,
