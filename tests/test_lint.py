"""Linters the project keeps clean: ruff (Python), snakefmt (Snakefile, rules) and snakemake --lint."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(REPO)}


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO, env=ENV, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    out = run("ruff", "check", "--no-cache", "--output-format", "concise", ".")
    assert out.returncode == 0, f"ruff check . (pyproject.toml [tool.ruff]):\n{out.stdout}{out.stderr}"


def test_snakefmt_is_clean():
    out = run("snakefmt", "--check", "Snakefile", "workflow/")
    assert out.returncode == 0, f"snakefmt --check Snakefile workflow/ (fix: snakefmt Snakefile workflow/):\n{out.stdout}{out.stderr}"


def test_snakemake_lint_is_clean_on_the_default_config():
    out = run("snakemake", "--lint", "--nolock")
    assert out.returncode == 0 and "Congratulations" in out.stdout + out.stderr, out.stdout + out.stderr
