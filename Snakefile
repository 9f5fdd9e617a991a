# Born-Again Networks as a cached pipeline: config -> generations -> ensembles -> tables, plots.
from pathlib import Path

from snakemake.utils import min_version, validate

from ban.configfile import config_file_problems, paper_problems, schema_defaults, schema_problems, yte_problems
from ban.store import use_default_store

min_version("8.0")

# The store of finished trainings, keyed by each member's identity (its spec and its teacher's
# bytes): a folder of this project unless $BAN_STORE names another (ban/store.py; README
# "Failures and resuming").
use_default_store()
SCHEMA = Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"


# The embedded default study, unless `--configfile` names studies of its own (no merging). A YTE
# template (`__use_yte__`) is refused before Snakemake's reader would evaluate it.
if "studies" not in config:
    if YTE_PROBLEMS := yte_problems("config.yaml"):
        raise WorkflowError("invalid config:\n" + "\n".join(YTE_PROBLEMS))

    configfile: "config.yaml"


# Bad config: one line per problem, before any job (and before Snakemake's own schema dump).
CONFIG_PROBLEMS = [line for path in workflow.configfiles for line in config_file_problems(path)]
CONFIG_PROBLEMS += [f"config: {line}" for line in schema_problems(config, SCHEMA)]
CONFIG_PROBLEMS += [f"config: {line}" for line in paper_problems(config, schema_defaults(SCHEMA, "lineage"))]
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
