# Born-Again Networks as a cached pipeline: config -> generations -> ensembles -> tables, plots.
from pathlib import Path

from snakemake.utils import min_version, validate

from ban.configfile import config_file_problems, paper_problems, schema_defaults, schema_problems, yte_problems
from ban.failures import print_failures
from ban.store import StoreError, use_default_store
from ban.sweeps import SweepError, expand_sweeps

min_version("8.0")

SCHEMA = Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"


# The embedded default study, unless `--configfile` names studies or sweeps of its own (no
# merging). A YTE template (`__use_yte__`) is refused before Snakemake's reader would evaluate it.
if "studies" not in config and "sweeps" not in config:
    if YTE_PROBLEMS := yte_problems("config.yaml"):
        raise WorkflowError("invalid config:\n" + "\n".join(YTE_PROBLEMS))

    configfile: "config.yaml"


# Bad config: one line per problem, before any job (and before Snakemake's own schema dump).
# Sweeps become ordinary studies (ban/sweeps.py), checked like the others.
CONFIG_PROBLEMS = [line for path in workflow.configfiles for line in config_file_problems(path)]
CONFIG_PROBLEMS += [f"config: {line}" for line in schema_problems(config, SCHEMA)]
if not CONFIG_PROBLEMS and config.get("sweeps"):
    validate(config, "workflow/schemas/config.schema.yaml")  # defaults into each base study first
    try:
        config["studies"] = {**config.get("studies", {}), **expand_sweeps(config)}
    except SweepError as err:
        CONFIG_PROBLEMS.append(f"config: {err}")
    else:
        CONFIG_PROBLEMS += [f"config: {line}" for line in schema_problems(config, SCHEMA)]
CONFIG_PROBLEMS += [f"config: {line}" for line in paper_problems(config, schema_defaults(SCHEMA, "lineage"))]
if CONFIG_PROBLEMS:
    raise WorkflowError("invalid config:\n" + "\n".join(CONFIG_PROBLEMS))
validate(config, "workflow/schemas/config.schema.yaml")

# The store of finished trainings, keyed by each training's identity and environment: a folder of
# this project unless $BAN_STORE names another; `--config store=off` neither restores nor keeps
# (ban/store.py; docs/failures-and-resuming.md).
try:
    use_default_store(enabled=config["store"] not in (False, "off"))
except StoreError as err:
    raise WorkflowError(f"invalid store: {err}") from None


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


onstart:
    check_before_running(".snakemake/ban/specs.json")


# At the end of a run with failed jobs: each failed job's one-line error, from its log (ban/failures.py).
onerror:
    print_failures(log)


localrules:
    all,
    ensemble,
    table,
    plot,


rule all:
    default_target: True
    input:
        all_outputs(),
