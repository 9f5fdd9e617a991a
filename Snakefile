# Born-Again Networks as a cached pipeline: config -> generations -> ensembles -> tables, plots.
from pathlib import Path

from snakemake.utils import min_version, validate

from ban.cache import use_default_cache
from ban.configfile import duplicate_keys, schema_problems

min_version("8.0")

# The training rules' output cache (--cache, set by the profiles): a folder of this project unless
# $SNAKEMAKE_OUTPUT_CACHE names another (ban/cache.py; README "Failures and resuming").
use_default_cache()
SCHEMA = Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"


# The embedded default study, unless `--configfile` names studies of its own (no merging).
if "studies" not in config:

    configfile: "config.yaml"


# Bad config: one line per problem, before any job (and before Snakemake's own schema dump).
CONFIG_PROBLEMS = [line for path in workflow.configfiles for line in duplicate_keys(path)]
CONFIG_PROBLEMS += [f"config: {line}" for line in schema_problems(config, SCHEMA)]
if CONFIG_PROBLEMS:
    raise WorkflowError("invalid config:\n" + "\n".join(CONFIG_PROBLEMS))
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
    default_target: True
    input:
        all_outputs(),
