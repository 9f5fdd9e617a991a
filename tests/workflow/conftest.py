"""Real Snakemake runs of the tiny synthetic study in a copy of the project.

The copy (Snakefile, workflow/, ban/) lets tests edit code and config without touching the
repository; ``PYTHONPATH`` points jobs and the Snakefile at the copy's ``ban``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
TINY = Path(__file__).with_name("tiny.yaml")


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


def project_env(project: Path) -> dict[str, str]:
    """The environment of a job in ``project``: its ``ban`` and its own store of finished trainings."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(project),
            "BAN_STORE": str(project / ".ban-store")}


def snakemake(project: Path, *args: str, check: bool = True, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    """A real Snakemake run in ``project`` (``env``: variables to add to the job environment)."""
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args],
        cwd=project, env={**project_env(project), **(env or {})}, capture_output=True, text=True, timeout=timeout,
    )
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
