"""Code fingerprints from imports: which jobs an edit reruns, the rerun_on_code_change switch, and
`python -m ban status` on a finished study (dry runs on a copy of the finished tiny study)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from ban.fingerprint import closure, import_graph
from tests.workflow.conftest import edit_code, planned_jobs, read_config, snakemake, write_config

SEEDS = (0, 1)
TRAINED = {f"seed{s}/{m}" for s in SEEDS for m in ("gen0", "gen1", "gen2", "ban_l", "cwtm", "dkpp", "dkpp_fixed", "ind1")}
ENSEMBLES = {f"seed{s}/{m}" for s in SEEDS for m in ("ens2", "indep2")}
TRAINING_RULES = {"teacher", "generation", "control"}


def job_counts(project: Path, *args: str) -> dict[str, int]:
    """Jobs per rule that a dry run plans (Snakemake's "Job stats"), without the total."""
    out = snakemake(project, "--dry-run", *args)
    text = out.stdout + out.stderr
    if "Job stats:" not in text:
        return {}
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M))
    return {rule: int(n) for rule, n in counts.items() if rule != "total"}


def edit_all_but_code(path: Path) -> None:
    """Edit a module's docstrings (its own, its classes' and functions'), add comments and blank
    lines: its code, the AST without docstrings, stays the same."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith('"""'), f"{path} has no module docstring"
    text, inner = re.subn(r'^(\s+)"""(?=\S)', r'\1"""Edited. ', '"""Edited. ' + text[3:], flags=re.M)
    assert inner >= 3, f"{path}: {inner} class or function docstrings"
    text = text.replace("\n\n\n", "\n\n\n# a comment between definitions\n\n") + "\n\n# a last comment\n"
    ast.parse(text)
    path.write_text(text, encoding="utf-8")


def test_docstrings_comments_and_blank_lines_of_training_code_rerun_nothing(tiny_copy):
    edit_all_but_code(tiny_copy / "ban/objectives.py")
    assert planned_jobs(tiny_copy) == set()


def test_a_code_edit_in_ensemble_only_code_reruns_the_ensembles(tiny_copy):
    """A module the ensembles import and training does not: the ensembles and the reports that read
    them rerun, no trained member."""
    graph = import_graph(tiny_copy / "ban")
    ensemble_only = set(closure("ban.ensemble", graph)) - set(closure("ban.lifecycle", graph))
    module = min(ensemble_only - {"ban.ensemble"}, default="ban.ensemble")  # an imported module if there is one
    edit_code(graph[module].path, "a change to the ensembles")
    assert planned_jobs(tiny_copy) == ENSEMBLES | {"table", "plot", "claims"}


def test_editing_the_summary_code_of_the_tables_reruns_the_plot(tiny_copy):
    """ban/report/frame.py holds the summaries tables and plots share: both rerun, nothing else."""
    edit_code(tiny_copy / "ban/report/frame.py", "a change to the summaries of the tables")
    assert job_counts(tiny_copy) == {"table": 4, "plot": 1, "claims": 1, "all": 1}  # a table job per stem, fidelity too


def test_code_changes_rerun_nothing_with_rerun_on_code_change_false(tiny_copy):
    config = read_config(tiny_copy)
    config["rerun_on_code_change"] = False
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) <= {"table", "plot", "claims"}  # switching off: report jobs once ("frozen" code), no member
    edit_code(tiny_copy / "ban/objectives.py", "a change to training code")
    assert planned_jobs(tiny_copy) <= {"table", "plot", "claims"}
    config["rerun_on_code_change"] = True
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) >= TRAINED | {"table", "plot", "claims"}


def status(project: Path) -> list[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(project)}
    out = subprocess.run([sys.executable, "-m", "ban", "status"], cwd=project, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.splitlines()


def test_status_shows_members_trained_on_older_code(tiny_copy):
    total = len(TRAINED | ENSEMBLES)
    assert status(tiny_copy)[0] == f"tiny: {total} members: {total} finished, 0 missing"
    edit_code(tiny_copy / "ban/objectives.py", "a change to training code")
    ensembles_too = "ban.objectives" in closure("ban.ensemble", import_graph(tiny_copy / "ban"))
    (tiny_copy / "results/tiny/cnn/seed1/dkpp/metrics.json").unlink()
    lines = status(tiny_copy)
    states = {f"seed{row.split()[1]}/{row.split()[2]}": " ".join(row.split()[3:]) for row in lines[2:]}
    older = TRAINED - {"seed1/dkpp"} | (ENSEMBLES if ensembles_too else set())
    assert states == {label: "finished (older code)" for label in older} | {"seed1/dkpp": "missing"} | {
        label: "finished" for label in ENSEMBLES - older
    }
    assert lines[0] == f"tiny: {total} members: {total - 1 - len(older)} finished, {len(older)} finished (older code), 1 missing"
