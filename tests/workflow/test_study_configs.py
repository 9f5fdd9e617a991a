"""The Fashion-MNIST study configs in configs/ plan the jobs their headers promise."""

from __future__ import annotations

import re

import pytest
import yaml

from ban.tasks.image import Recipe
from tests.workflow.conftest import REPO, make_project, snakemake

# config -> {rule: jobs}: lineages x 3 seeds x (gen0 | gen1..3 | 3 controls | Ens*2, Ens*3)
STUDIES = {
    "fashion_mnist_full.yaml": {  # + 4 controls, 2 independent networks, Ens*2, Indep*2, Ens*3, Indep*3
        "teacher": 2 * 3, "generation": 2 * 3 * 3, "control": 2 * 3 * 4, "independent": 2 * 3 * 2, "ensemble": 2 * 3 * 4,
    },
    "fashion_mnist_cpu.yaml": {"teacher": 3, "generation": 3 * 3, "control": 3 * 3, "ensemble": 3 * 2},
    "fashion_mnist_cpu_fit.yaml": {  # 8 seeds, 4 controls, 2 independent networks, Ens*2, Indep*2, Ens*3, Indep*3
        "teacher": 8, "generation": 8 * 3, "control": 8 * 4, "independent": 8 * 2, "ensemble": 8 * 4,
    },
}


@pytest.mark.parametrize("config_file", sorted(STUDIES))
def test_fashion_mnist_study_config_plans_its_jobs(tmp_path, config_file):
    project = make_project(tmp_path / "project")
    out = snakemake(project, "--dry-run", "--configfile", str(REPO / "configs" / config_file))
    text = out.stdout + out.stderr
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M)}
    assert {rule: counts.get(rule, 0) for rule in STUDIES[config_file]} == STUDIES[config_file]
    assert counts["table"] == 4 and counts["plot"] == 1 and counts["claims"] == 1  # table, _nll, _ece, _fidelity


def test_the_regime_config_plans_every_cell_and_every_map(tmp_path):
    """configs/regimes.yaml: pixels (4 noise rates x 2 sizes, 5 seeds, gen0..gen4, a 2 x 2 tuning grid),
    cnn_noise (last and best_val teachers whose students train to the end, 5 seeds, gen0..gen2, a 2 x 2
    tuning grid) and cnn_clean (temperature 1, the same, a tuning grid of 2)."""
    project = make_project(tmp_path / "project")
    out = snakemake(project, "--dry-run", "--configfile", str(REPO / "configs" / "regimes.yaml"))
    text = out.stdout + out.stderr
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M)}
    assert (counts["teacher"], counts["generation"]) == (8 * 5 + 3 * 5, 8 * 5 * 4 + 3 * 5 * 2)
    assert counts["tuning"] == 8 * 5 * 4 + 2 * 5 * 4 + 1 * 5 * 2
    assert (counts["table"], counts["claims"], counts["regime"]) == (11 * 4, 11, 3)
    # Shared trainings: each pixels cell's first tuning point is its teacher (40); in cnn_noise the two
    # epsilon = 0 points are the two cells' teachers and the second cell's four points repeat the first's
    # (10 + 20); cnn_clean's first point is its teacher (5).
    assert "455 trained members, 380 distinct trainings: 75 members ask for the training of an earlier one" in out.stderr
    for cell in ("pixels.rate0-6.train_subset500", "cnn_noise.selectbest_val", "cnn_clean.temperature1"):
        assert f"results/{cell}/claims.md" in text


# The configs in the paper's regime: crop + flip, the paper's SGD and step schedule, weight decay on
# every parameter (no opt-out), teacher, BAN students and the listed controls.
REGIME = {
    "config.yaml": {"controls": {"ban_l", "cwtm", "dkpp"}, "seeds": 3},
    "configs/fashion_mnist_cpu_fit.yaml": {"controls": {"ban_l", "cwtm", "dkpp", "dkpp_fixed"}, "seeds": 5},
    "configs/fashion_mnist_full.yaml": {"controls": {"ban_l", "cwtm", "dkpp", "dkpp_fixed"}, "seeds": 3},
}


@pytest.mark.parametrize("config_file", sorted(REGIME))
def test_paper_regime_configs_keep_the_papers_recipe_and_controls(config_file):
    want = REGIME[config_file]
    for name, study in yaml.safe_load((REPO / config_file).read_text())["studies"].items():
        recipe = Recipe.from_dict(study["recipe"])  # the recipe's own defaults fill what the config leaves out
        assert recipe.augment is True and recipe.decay_norm_and_bias is True, name
        assert (recipe.lr, recipe.schedule, recipe.gamma, recipe.weight_decay) == (0.1, "step", 0.2, 5e-4), name
        assert recipe.epochs == 200 and recipe.milestones == [60, 120, 160], name
        assert len(study["seeds"]) >= want["seeds"], name
        for lineage, spec in study["lineages"].items():
            assert spec["generations"] >= 2 and spec.get("independent", 0) >= 1, (name, lineage)
            assert want["controls"] <= set(spec["controls"]), (name, lineage)
