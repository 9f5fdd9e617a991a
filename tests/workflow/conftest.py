"""Real Snakemake runs of the tiny synthetic study in a copy of the project.

The copy (Snakefile, workflow/, ban/) lets tests edit code and config without touching the
repository; ``PYTHONPATH`` points jobs and the Snakefile at the copy's ``ban``.

Each ``snakemake(...)`` is the command line ``python -m snakemake --cores 2 ARGS``, run in a process
forked from one that has Snakemake imported (``warm_snakemake.py``: about 1.5 s of CPU less per
invocation; ``test_warm_snakemake.py`` holds it to a fresh process's plan, output and exit code).
``BAN_TEST_FRESH_SNAKEMAKE=1`` runs each as a fresh process instead.

Each job's ``python -m ban train`` runs in a process forked from one that has torch imported
(``warm_trainer.py``: about 2 s of CPU less per training; ``test_warm_trainer.py`` holds it to a
fresh process's bytes, failure and end). ``BAN_TEST_FRESH_TRAINERS=1`` runs fresh trainers; the
tests that kill trainers or find them by name (killed runs, a timeout) and the SLURM test always do.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from tests.workflow import warm_trainer  # one module, whichever name this conftest is imported under

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).with_name("tiny.yaml")
WARM_SERVER = Path(__file__).with_name("warm_snakemake.py")


def make_project(dest: Path, config: dict | None = None) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Snakefile", "environment.yml", "requirements.txt"):
        shutil.copy2(REPO / name, dest / name)
    for folder in ("workflow", "ban"):
        shutil.copytree(REPO / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    os.symlink(os.readlink(REPO / "profiles"), dest / "profiles")  # the default profile, as in a checkout
    write_config(dest, config or yaml.safe_load(TINY.read_text()))
    return dest


def write_config(project: Path, config: dict) -> None:
    (project / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def read_config(project: Path) -> dict:
    return yaml.safe_load((project / "config.yaml").read_text())


def edit_code(path: Path, what: str) -> None:
    """Append a module-level assignment to a module: a code edit (a comment or docstring would not
    change its code fingerprint, see ban.fingerprint)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(f"\nEDITED = {what!r}\n")


WARM_TRAINER_SERVER = warm_trainer.SERVER  # one per test process


def project_env(project: Path, warm_trainers: bool = True) -> dict[str, str]:
    """The environment of a job in ``project``: its ``ban``, its own store of finished trainings, and
    (``warm_trainers``, unless ``BAN_TEST_FRESH_TRAINERS=1``) ``python -m ban train`` forked from
    ``warm_trainer.py``; otherwise every job's ``python`` is this interpreter, started afresh."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    env = {**os.environ, "PATH": path, "PYTHONPATH": str(project), "BAN_STORE": str(project / ".ban-store")}
    if warm_trainers and os.environ.get("BAN_TEST_FRESH_TRAINERS") != "1":
        env.update(WARM_TRAINER_SERVER.env(), PATH=f"{warm_trainer.WARM_PYTHON}{os.pathsep}{path}")
    return env


class WarmSnakemake:
    """This test process's ``warm_snakemake.py`` server, started on first use: ``run`` is
    ``subprocess.run([python, -m, snakemake, *argv], capture_output=True, text=True)`` in a process
    forked from one that has Snakemake imported (see that module)."""

    def __init__(self) -> None:
        self.server: subprocess.Popen | None = None
        self.folder = Path(tempfile.mkdtemp(prefix="warm-snakemake-"))  # the children's stdout and stderr
        atexit.register(shutil.rmtree, self.folder, True)

    def start(self) -> subprocess.Popen:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        server = subprocess.Popen([sys.executable, str(WARM_SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  env=env, text=True, cwd=self.folder)
        if server.stdout.readline() != "ready\n":
            raise RuntimeError(f"{WARM_SERVER.name} did not start (return code {server.wait()})")
        return server

    def run(self, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
        if self.server is None or self.server.poll() is not None:
            self.server = self.start()
        out, err = self.folder / "stdout", self.folder / "stderr"
        request = {"argv": argv, "cwd": str(cwd), "env": env, "stdout": str(out), "stderr": str(err), "timeout": timeout}
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        line = self.server.stdout.readline()
        if not line:
            raise RuntimeError(f"{WARM_SERVER.name} ended (return code {self.server.wait()})")
        answer = json.loads(line)
        stdout, stderr = (path.read_text(errors="replace") for path in (out, err))
        command = [sys.executable, "-m", "snakemake", *argv]
        if answer["timed_out"]:
            raise subprocess.TimeoutExpired(command, timeout, output=stdout, stderr=stderr)
        return subprocess.CompletedProcess(command, answer["returncode"], stdout, stderr)


WARM = WarmSnakemake()


def run_snakemake(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> subprocess.CompletedProcess:
    """``python -m snakemake ARGV`` in ``cwd`` with the environment ``env``, output captured as
    text: run by ``WARM``, or with ``BAN_TEST_FRESH_SNAKEMAKE=1`` as a fresh process each time."""
    if os.environ.get("BAN_TEST_FRESH_SNAKEMAKE") == "1":
        return subprocess.run([sys.executable, "-m", "snakemake", *argv], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    return WARM.run(argv, cwd, env, timeout)


def snakemake(project: Path, *args: str, check: bool = True, timeout: float = 900, env: dict | None = None,
              warm_trainers: bool = True) -> subprocess.CompletedProcess:
    """A real Snakemake run in ``project`` (``env``: variables to add to the job environment):
    ``python -m snakemake --cores 2 ARGS`` (``run_snakemake``), its trainings as ``project_env`` says."""
    result = run_snakemake(["--cores", "2", *args], project, {**project_env(project, warm_trainers), **(env or {})}, timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-5000:]}")
    return result


def planned_jobs(project: Path, *args: str) -> set[str]:
    """Jobs a dry run would execute, as 'seed<s>/<member>', 'table', 'plot' or 'claims' labels."""
    out = snakemake(project, "--dry-run", *args)
    jobs = set()
    for line in (out.stdout + out.stderr).splitlines():
        match = re.match(r"\s+output: (\S+?),?(\s|$)", line)
        if not match:
            continue
        path = Path(match.group(1))
        if path.name.startswith("table"):
            jobs.add("table")
        elif path.parent.name == "plots":
            jobs.add("plot")
        elif path.name.startswith("claims"):
            jobs.add("claims")
        else:
            jobs.add(f"{path.parent.parent.name}/{path.parent.name}")
    return jobs


@pytest.fixture(scope="session")
def finished_tiny(tmp_path_factory) -> Path:
    """The tiny study, run to completion once per test run; tests only read it, and copy it
    (``tiny_copy``) before changing it. Under pytest-xdist its workers share one: the first to ask
    runs it (under a file lock) in the run's common temporary folder, the others wait and use it."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the folder of this run that holds every worker's folder
    project, done = shared / "finished_tiny" / "project", shared / "finished_tiny" / "done"
    with open(shared / "finished_tiny.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(project.parent, ignore_errors=True)  # a run that failed before: start again
            snakemake(make_project(project))
            done.touch()
    return project


@pytest.fixture
def tiny_copy(finished_tiny, tmp_path) -> Path:
    """A private copy of the finished study (mtimes and Snakemake's metadata kept). Its results
    are copies, not hard links into the finished study's store: a test may damage them."""
    dest = tmp_path / "project"
    top_results = lambda folder, names: ["results"] if Path(folder) == finished_tiny else []  # noqa: E731
    shutil.copytree(finished_tiny, dest, symlinks=True, ignore=top_results)
    shutil.copytree(finished_tiny / "results", dest / "results", symlinks=False)
    return dest
