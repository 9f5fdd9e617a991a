# Born-Again Networks as a cached pipeline: config -> generations -> ensembles -> tables, plots.
from snakemake.utils import min_version, validate

min_version("8.0")


# The embedded default study, unless `--configfile` names studies of its own (no merging).
if "studies" not in config:

    configfile: "config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


onstart:
    check_before_running(".snakemake/ban/specs.json")


localrules:
    all,
    ensemble,
    table,
    plot,


rule all:
    input:
        all_outputs(),
    default_target: True
