"""Snakemake's command line, run in processes forked from one that has already imported it.

``python -m snakemake`` spends about two seconds of CPU importing Snakemake and discovering its
plugins (the SLURM executor plugin brings pandas) before it reads the Snakefile, and a run with
jobs to do imports torch for its pre-flight check (two seconds more); the workflow tests call it
about a hundred times. This server pays that once: it imports ``snakemake.cli`` and torch and fills
every plugin registry, then answers each request (one JSON line on stdin) by forking a child
that becomes what ``python -m snakemake ARGS`` would have been in that folder with that
environment — ``sys.argv``, ``sys.path`` (the folder, then ``PYTHONPATH``), ``os.environ``, the
working directory, stdin from /dev/null, stdout and stderr into the named files — and calls
``snakemake.cli.main(ARGS)``. The child has its own process group, so a timeout ends it and its
jobs. The server answers each request with one JSON line: ``{"returncode": ..., "timed_out": ...}``
(a negative return code: the signal that ended it, as ``subprocess`` reports it).

Nothing of the project is imported here: each child imports the ``ban`` of its own ``PYTHONPATH``
when it reads the Snakefile, exactly as a fresh process would.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time

import snakemake.cli
import snakemake.workflow
from forked import become  # this script's folder
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry
from snakemake_interface_report_plugins.registry import ReportPluginRegistry
from snakemake_interface_scheduler_plugins.registry import SchedulerPluginRegistry
from snakemake_interface_storage_plugins.registry import StoragePluginRegistry

MAIN = os.path.join(os.path.dirname(snakemake.cli.__file__), "__main__.py")
LAZY_IMPORTS = ("graphlib", "jsonschema", "jsonschema_specifications", "referencing", "requests", "smart_open",
                "snakemake.storage")
"""What Snakemake imports only once it reads a workflow (its source cache, ``snakemake.utils.validate``)."""

WORKFLOW_IMPORTS = ("torch",)
"""What the workflow itself imports in Snakemake's process: torch, for the pre-flight check that each
run with jobs to do starts with (``onstart``, ``workflow/rules/checks.smk``)."""


def warm_up() -> None:
    """Import and discover everything ``snakemake.cli.main`` would on each start."""
    for name in (*LAZY_IMPORTS, *WORKFLOW_IMPORTS):
        importlib.import_module(name)
    for registry in (ExecutorPluginRegistry, StoragePluginRegistry, ReportPluginRegistry, LoggerPluginRegistry,
                     SchedulerPluginRegistry):
        for name in registry().get_registered_plugins():
            registry().get_plugin(name)
    snakemake.cli.get_argument_parser()


def become_snakemake(request: dict) -> None:
    """In the forked child: the state of a fresh ``python -m snakemake`` (``forked.become``), then its ``main``."""

    def streams() -> tuple[int, int, int]:
        return (os.open(os.devnull, os.O_RDONLY),
                os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644))

    def main() -> None:
        snakemake.workflow.Workflow._rundir = os.getcwd()  # read from the working directory on import
        snakemake.cli.main(request["argv"])

    become(request, [MAIN, *request["argv"]], streams, main)


def wait(pid: int, timeout: float) -> dict:
    """The child's return code; at ``timeout`` seconds its process group is killed."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return {"returncode": os.waitstatus_to_exitcode(status), "timed_out": False}
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            return {"returncode": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), "timed_out": True}
        time.sleep(0.02)


def serve() -> None:
    warm_up()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            become_snakemake(request)
        sys.stdout.write(json.dumps(wait(pid, request["timeout"])) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
