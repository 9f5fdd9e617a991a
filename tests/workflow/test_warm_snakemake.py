"""The workflow tests' Snakemake (``conftest.snakemake``, forked from ``warm_snakemake.py``) is the
command line a user runs: same plan, same output, same exit code as a fresh ``python -m snakemake``,
and a run past its timeout is ended with its jobs."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from tests.workflow.conftest import read_config, snakemake, write_config
from tests.workflow.test_failures import fingerprints, trainers

CLOCK = re.compile(r"^\[\w{3} \w{3} +\d+ [\d:]+ \d{4}\]$")  # "[Mon Dec  7 16:18:00 2026]"
RUN_STAMP = ("  Date: ", "  Workflow ID: ")


def both_ways(project, *args, monkeypatch) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    warm = snakemake(project, *args, check=False)
    monkeypatch.setenv("BAN_TEST_FRESH_SNAKEMAKE", "1")
    fresh = snakemake(project, *args, check=False)
    monkeypatch.delenv("BAN_TEST_FRESH_SNAKEMAKE")
    return warm, fresh


def text(result: subprocess.CompletedProcess) -> list[str]:
    """The output's lines less the run's clock and id, sorted, with the items of each job's
    ``key: a, b, …`` lines sorted: Snakemake lists jobs, inputs and resources in hash order, which
    differs between two fresh processes too (``PYTHONHASHSEED``)."""
    lines = []
    for line in (result.stdout + result.stderr).splitlines():
        if CLOCK.match(line) or line.startswith(RUN_STAMP):
            continue
        key, colon, items = line.rpartition(": ")
        if line.startswith("    ") and colon:
            line = f"{key}: {', '.join(sorted(items.split(', ')))}"
        lines.append(line)
    return sorted(lines)


def test_a_warm_dry_run_plans_and_prints_what_a_fresh_process_does(tiny_copy, monkeypatch):
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen1": {"recipe": {"epochs": 4}}}
    write_config(tiny_copy, config)
    warm, fresh = both_ways(tiny_copy, "--dry-run", monkeypatch=monkeypatch)
    assert warm.returncode == fresh.returncode == 0
    assert "rule generation:" in warm.stdout + warm.stderr  # gen1 and what depends on it are planned
    assert text(warm) == text(fresh)


def test_a_warm_run_refuses_a_bad_config_as_a_fresh_process_does(tiny_copy, monkeypatch):
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["recipe"]["epochs"] = 0
    write_config(tiny_copy, config)
    warm, fresh = both_ways(tiny_copy, "--dry-run", monkeypatch=monkeypatch)
    assert warm.returncode == fresh.returncode == 1
    assert "config: studies.tiny.recipe.epochs: 0 is less than the minimum" in warm.stdout + warm.stderr
    assert text(warm) == text(fresh)


def test_a_warm_run_is_refused_by_the_pre_flight_check_as_a_fresh_process_is(tiny_copy, monkeypatch):
    """The pre-flight check runs in Snakemake's process (onstart), which the warm server forks with
    torch already imported: the same refusal, and nothing trains."""
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen2": {"model": {"name": "resnet50"}}}
    write_config(tiny_copy, config)
    before = fingerprints(tiny_copy / "results")
    warm, fresh = both_ways(tiny_copy, monkeypatch=monkeypatch)
    assert warm.returncode == fresh.returncode == 1
    assert "tiny/cnn/seed0/gen2: unknown model 'resnet50'; valid:" in warm.stdout + warm.stderr
    assert text(warm) == text(fresh)
    assert fingerprints(tiny_copy / "results") == before


def test_a_warm_run_past_its_timeout_is_ended_with_its_jobs(tiny_copy):
    """The first timeout that a job outlives (the pre-flight check before it takes seconds, more
    on a busy machine) ends Snakemake and every job it started."""
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["recipe"]["epochs"] = 500  # every member retrains, for minutes
    write_config(tiny_copy, config)
    for timeout in (6, 12, 24):
        started = time.time()
        with pytest.raises(subprocess.TimeoutExpired):
            snakemake(tiny_copy, "--cores", "1", timeout=timeout, warm_trainers=False)  # trainers found by pgrep
        if any(log.stat().st_mtime > started for log in (tiny_copy / "logs/tiny/cnn").rglob("*.log")):
            break
    else:
        pytest.fail("no job started within 24 s")
    assert not trainers(tiny_copy)
