# Born-Again Networks as a cached pipeline: config -> generations -> ensembles -> tables, plots.
from pathlib import Path

from snakemake.utils import min_version

from ban.configfile import prepare_config, yte_problems
from ban.failures import print_failures
from ban.store import StoreError, use_default_store

min_version("8.0")

SCHEMA = Path(workflow.basedir) / "workflow/schemas/config.schema.yaml"


# The embedded default study, unless `--configfile` names studies or sweeps of its own (no
# merging). A YTE template (`__use_yte__`) is refused before Snakemake's reader would evaluate it.
if "studies" not in config and "sweeps" not in config:
    if YTE_PROBLEMS := yte_problems("config.yaml"):
        raise WorkflowError("invalid config:\n" + "\n".join(YTE_PROBLEMS))

    configfile: "config.yaml"


# Bad config: one line per problem, before any job (and before Snakemake's own schema dump).
# Sweeps become ordinary studies (ban/sweeps.py), checked like the others (ban/configfile.py).
CONFIG_PROBLEMS = prepare_config(config, workflow.configfiles, SCHEMA)
if CONFIG_PROBLEMS:
    raise WorkflowError("invalid config:\n" + "\n".join(CONFIG_PROBLEMS))

# The store of finished trainings, keyed by each training's identity and environment: a folder of
# this project unless $BAN_STORE names another; `--config store=off` neither restores nor keeps
# (ban/store.py; docs/failures-and-resuming.md).
try:
    use_default_store(enabled=config["store"] not in (False, "off"))
except StoreError as err:
    raise WorkflowError(f"invalid store: {err}") from None


include: "workflow/rules/common.smk"
include: "workflow/rules/checks.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/report.smk"


onstart:
    check_before_running()


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
