"""Every file a rule writes is a declared output (or log) of a job, so Snakemake tracks it."""

from __future__ import annotations

from pathlib import Path

from tests.workflow.conftest import snakemake

TRAINER_STATE = ("resume.pt", ".writer.lock")
"""The trainer's own files in a member folder, never outputs: the epoch checkpoint (removed when the
member finishes) and the writer lock."""
STRAY = "results/tiny/stray.txt"


def test_every_file_a_finished_study_wrote_is_declared(tiny_copy):
    """`snakemake --list-untracked` lists the files that no job of the DAG has as input, output or
    log; it skips hidden files, and no rule declares one, so those count as undeclared too."""
    written = {str(p.relative_to(tiny_copy)) for folder in ("results", "logs") for p in (tiny_copy / folder).rglob("*") if p.is_file()}
    assert {"results/tiny/table_nll.md", "results/tiny/table_ece.tex", "logs/tiny/table_nll.log", "logs/tiny/cnn/seed0/ens2.log"} <= written
    (tiny_copy / STRAY).write_text("written by no rule\n")  # the listing finds what it should
    out = snakemake(tiny_copy, "--list-untracked")
    untracked = {line.strip() for line in out.stdout.splitlines() if line.startswith(("results/", "logs/"))}
    assert STRAY in untracked, out.stdout[-2000:]
    hidden = {path for path in written if any(part.startswith(".") for part in Path(path).parts)}
    undeclared = sorted(path for path in (untracked | hidden) - {STRAY} if not set(Path(path).parts) & set(TRAINER_STATE))
    assert not undeclared, f"written but declared by no rule: {undeclared}"
