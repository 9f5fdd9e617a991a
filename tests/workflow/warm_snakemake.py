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
import traceback

import snakemake.cli
import snakemake.workflow
from snakemake_interface_executor_plugins.registry import ExecutorPluginRegistry
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry
from snakemake_interface_report_plugins.registry import ReportPluginRegistry
from snakemake_interface_scheduler_plugins.registry import SchedulerPluginRegistry
from snakemake_interface_storage_plugins.registry import StoragePluginRegistry

MAIN = os.path.join(os.path.dirname(snakemake.cli.__file__), "__main__.py")
BASE_PATH = [entry for entry in sys.path[1:] if entry not in os.environ.get("PYTHONPATH", "").split(os.pathsep)]
"""``sys.path`` of a fresh interpreter, less the first entry (this script's folder here, the working
directory under ``-m``) and this server's own ``PYTHONPATH``."""


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
    """In the forked child: the state of a fresh ``python -m snakemake``, then its ``main``."""
    code = 1
    try:
        os.setpgrp()
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        extra = [entry for entry in request["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [os.getcwd(), *extra, *BASE_PATH]
        sys.argv = [MAIN, *request["argv"]]
        snakemake.workflow.Workflow._rundir = os.getcwd()  # read from the working directory on import
        stdin = os.open(os.devnull, os.O_RDONLY)
        stdout = os.open(request["stdout"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        stderr = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for fd, target in ((stdin, 0), (stdout, 1), (stderr, 2)):
            os.dup2(fd, target)
            os.close(fd)
        try:
            snakemake.cli.main(request["argv"])
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - whatever it was, it is the child's failure to report
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)


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
