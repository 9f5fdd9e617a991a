"""The Fashion-MNIST study configs in configs/ plan the jobs their headers promise."""

from __future__ import annotations

import re

import pytest

from tests.workflow.conftest import REPO, make_project, snakemake

# config -> {rule: jobs}: lineages x 3 seeds x (gen0 | gen1..3 | 3 controls | Ens*2, Ens*3)
STUDIES = {
    "fashion_mnist_full.yaml": {  # + 4 controls, 2 independent networks, Ens*2, Indep*2, Ens*3, Indep*3
        "teacher": 2 * 3, "generation": 2 * 3 * 3, "control": 2 * 3 * 4, "independent": 2 * 3 * 2, "ensemble": 2 * 3 * 4,
    },
    "fashion_mnist_cpu.yaml": {"teacher": 3, "generation": 3 * 3, "control": 3 * 3, "ensemble": 3 * 2},
    "fashion_mnist_cpu_fit.yaml": {"teacher": 2 * 3, "generation": 2 * 3 * 3, "control": 2 * 3 * 3, "ensemble": 2 * 3 * 2},
}


@pytest.mark.parametrize("config_file", sorted(STUDIES))
def test_fashion_mnist_study_config_plans_its_jobs(tmp_path, config_file):
    project = make_project(tmp_path / "project")
    out = snakemake(project, "--dry-run", "--configfile", str(REPO / "configs" / config_file))
    text = out.stdout + out.stderr
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M)}
    assert {rule: counts.get(rule, 0) for rule in STUDIES[config_file]} == STUDIES[config_file]
    assert counts["table"] == 4 and counts["plot"] == 1 and counts["claims"] == 1  # table, _nll, _ece, _fidelity
