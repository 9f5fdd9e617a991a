"""The paper-scale configs in configs/ (Tables 1, 2, 3 and 5): real Snakemake dry runs and sizes.

For each config, ``snakemake --dry-run --forceall --configfile configs/<file>`` runs in the
repository root (``--forceall``: the plan does not depend on results already there;
``--nolock``, ``--ignore-incomplete``: a real run of the default study in the same folder
neither blocks nor fails it, as its half-written outputs would otherwise). The jobs it
plans are counted per study and rule against numbers worked out by hand below, and every
training job's ``--spec`` is checked against the config (model, objective, recipe, dataset).
Snakemake merges ``--configfile`` into ``config.yaml``, so the plan also holds the default
Fashion-MNIST study; only the config's own studies are counted.

Model sizes: each lineage's teacher and student are built on the meta device with the dataset's
3 input channels and class count and compared with the paper's parameter counts (Tables 1 and 5;
Tables 2 and 3 do not list sizes and reuse Table 1's). The paper is not consistent with itself
(see ban/models/densenet.py, ban/models/resnet.py and tests/models/test_zoo.py): its 6.3M
"DenseNet-112-33" is a 106-33 net, its Wide-ResNet sizes round the 100-class counts even in the
CIFAR-10 table, Table 4 lists DenseNet-90-60 at 22.4M, and its two Pre-ResNet student sizes
match no single reading of "units per block, channel ratio". Hence one tolerance per row.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path
from unittest import mock

import pytest
import yaml

from tests.workflow.conftest import run_snakemake

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "configs"

PAPER_RECIPE = {
    "epochs": 200,
    "batch_size": 128,
    "lr": 0.1,
    "momentum": 0.9,
    "nesterov": True,
    "weight_decay": 0.0005,
    "schedule": "step",
    "milestones": [60, 120, 160],
    "gamma": 0.2,
}
SEEDS = (0, 1, 2)


def _jobs(trained_teachers: int, generations: int, controls: int = 0, ensembles: int = 0) -> dict[str, int]:
    """Planned jobs of one study by rule: counts of (lineage, seed) members, + tables and plots
    (one table job per stem: table, table_nll, table_ece, table_fidelity and table_paper) and claims."""
    jobs = {"teacher": trained_teachers, "generation": generations, "table": 5, "plot": 1, "claims": 1}
    if controls:
        jobs["control"] = controls
    if ensembles:
        jobs["ensemble"] = ensembles
    return jobs


# config file -> {study: {rule: jobs}}, by hand from the configs (3 seeds everywhere).
EXPECTED_JOBS = {
    # 8 lineages (4 WRN, 4 DenseNet) x 3 seeds x (gen0, gen1).
    "table1_cifar10.yaml": {"table1_cifar10": _jobs(8 * 3, 8 * 3)},
    # 3 lineages with gen1..gen3 and DenseNet-80-120 with gen1..gen2; every lineage has 3 controls
    # and Ens*2, Ens*3.
    "table2_cifar100_densenet.yaml": {
        "table2_cifar100_densenet": _jobs(4 * 3, 3 * 3 * 3 + 1 * 3 * 2, controls=4 * 3 * 3, ensembles=4 * 3 * 2)
    },
    # 4 WRN -> WRN lineages + 4 WRN -> DenseNet-90-60 lineages, x 3 seeds x (gen0, gen1).
    "table3_cross_architecture.yaml": {"table3_cross_architecture": _jobs(8 * 3, 8 * 3)},
    # 6 DenseNet -> ResNet lineages; 7 baselines (6 students + Pre-ResNet-1001) as their own teachers.
    "table5_densenet_to_resnet.yaml": {
        "table5_densenet_to_resnet": _jobs(6 * 3, 6 * 3),
        "table5_resnet_baselines": _jobs(7 * 3, 7 * 3),
    },
}
EXPECTED_TOTALS = {  # the same, summed: trained + ensembles + five table jobs, one plot and one claims job per study
    "table1_cifar10.yaml": 48 + 7,
    "table2_cifar100_densenet.yaml": 81 + 24 + 7,
    "table3_cross_architecture.yaml": 48 + 7,
    "table5_densenet_to_resnet.yaml": 36 + 7 + 42 + 7,
}
CONFIGS = sorted(EXPECTED_JOBS)

# Sizes in millions of parameters as the paper reports them, with the tolerance of each row.
WRN_10 = 0.03  # the CIFAR-10 table's WRN sizes are the 100-class counts, rounded (0.369M vs 0.38M)
WRN_100 = 0.02
DENSENET = 0.03  # 90 and 80 are not 6n+4: the split of layers over blocks is ours (within 2.6%)
PAPER_MILLIONS = {
    "wrn-28-1": 0.38, "wrn-28-2": 1.48, "wrn-28-5": 9.16, "wrn-28-10": 36.0,  # Table 1
    "densenet-bc-106-33": 6.3,  # the paper's "DenseNet-112-33", Table 1
    "densenet-bc-90-60": 16.1, "densenet-bc-80-80": 22.4, "densenet-bc-80-120": 50.4,  # Table 1
}
# Table 5's residual networks, by lineage name: (paper millions, tolerance, why).
TABLE5_MILLIONS = {
    "preact-resnet-1001": (10.2, 0.02, "He et al.'s 10.2M"),
    "pre-resnet-14-0.5": (7.3, 0.35, "5.08M: no reading matches both Pre-ResNet sizes"),
    "pre-resnet-14-1": (17.7, 0.15, "20.15M: no reading matches both Pre-ResNet sizes"),
    "wide-resnet-1-1": (20.9, 0.07, "20.88M"),
    "match-wide-resnet-2-1": (43.1, 0.07, "44.14M"),
    "wide-resnet-4-0.5": (24.3, 0.07, "22.81M"),
    "wide-resnet-4-1": (87.3, 0.07, "90.66M"),
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100}


def load(config_file: str) -> dict:
    return yaml.safe_load((CONFIG_DIR / config_file).read_text())


def lineages(config_file: str):
    """(study, lineage name, lineage dict) of every lineage of a config."""
    for study, s in load(config_file)["studies"].items():
        for name, lineage in s["lineages"].items():
            yield study, name, lineage


def expected_size(lineage: str, model_name: str, classes: int) -> tuple[float, float, str]:
    """(paper millions, tolerance, note) for one model of one lineage."""
    if model_name.startswith("preact-resnet"):
        return TABLE5_MILLIONS[lineage]
    tolerance = DENSENET if model_name.startswith("densenet") else (WRN_10 if classes == 10 else WRN_100)
    return PAPER_MILLIONS[model_name], tolerance, "Table 1"


# ---------------------------------------------------------------------------------------------
# Model sizes against the paper (first: the dry runs proceed meanwhile)
# ---------------------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def param_count(name: str, args_json: str, num_classes: int) -> int:
    """Parameters of a model built on the meta device. Sizes do not depend on initialisation, and
    ``kaiming_normal_`` on meta tensors imports torch._dynamo (seconds), so it is a no-op here."""
    import torch

    from ban.models import build_model, num_parameters

    with mock.patch.object(torch.nn.init, "kaiming_normal_", lambda tensor, *a, **k: tensor), torch.device("meta"):
        return num_parameters(build_model(name, 3, num_classes, **json.loads(args_json)))


SIZE_CASES = [
    pytest.param(config_file, study, name, role, id=f"{study}-{name}-{role}")
    for config_file in CONFIGS
    for study, name, lineage in lineages(config_file)
    for role in (("teacher", "student") if "student" in lineage else ("teacher",))
]


@pytest.mark.parametrize("config_file,study,lineage_name,role", SIZE_CASES)
def test_model_sizes_match_the_paper(config_file, study, lineage_name, role):
    s = load(config_file)["studies"][study]
    model = s["lineages"][lineage_name][role]
    classes = NUM_CLASSES[s["dataset"]["name"]]
    count = param_count(model["name"], json.dumps(model.get("args", {}), sort_keys=True), classes) / 1e6
    paper, tolerance, note = expected_size(lineage_name, model["name"], classes)
    assert abs(count - paper) <= tolerance * paper, f"{lineage_name} {role} {model['name']}: {count:.3f}M vs paper {paper}M ({note})"


def test_paper_recipe_is_the_trainers():
    """The recipe every planned job carries is accepted as is and steps lr 0.1 x 0.2 at 60/120/160."""
    from ban.tasks.image import Recipe

    recipe = Recipe.from_dict(PAPER_RECIPE)
    factors = [recipe.lr * recipe.lr_factor(epoch) for epoch in (0, 59, 60, 119, 120, 160, 199)]
    assert factors == pytest.approx([0.1, 0.1, 0.02, 0.02, 0.004, 0.0008, 0.0008])


def test_table1_and_2_use_the_63m_densenet_for_the_papers_112_33():
    for config_file, study in (("table1_cifar10.yaml", "table1_cifar10"), ("table2_cifar100_densenet.yaml", "table2_cifar100_densenet")):
        assert load(config_file)["studies"][study]["lineages"]["densenet-112-33"]["teacher"]["name"] == "densenet-bc-106-33"


# ---------------------------------------------------------------------------------------------
# Dry runs
# ---------------------------------------------------------------------------------------------


def _dry_run(config_file: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return run_snakemake(["--dry-run", "--forceall", "--nolock", "--ignore-incomplete", "--printshellcmds", "--cores", "1",
                          "--configfile", f"configs/{config_file}"], REPO, env, timeout=300)


def parse_plan(output: str) -> list[dict]:
    """Planned jobs: rule, first output path and (training jobs, tables) the shell command's args."""
    jobs: list[dict] = []
    for line in output.splitlines():
        rule = re.match(r"(?:local)?rule (\w+):$", line)
        if rule:
            jobs.append({"rule": rule.group(1), "output": None, "args": {}})
            continue
        if not jobs:
            continue
        out = re.match(r"\s+output: ([^,\s]+)", line)
        if out:
            jobs[-1]["output"] = Path(out.group(1))
        elif line.startswith("Shell command: "):
            words = shlex.split(line.removeprefix("Shell command: "))
            jobs[-1]["args"] = {w: words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--spec", "--paper")}
    return jobs


@pytest.fixture(scope="module")
def plans() -> dict[str, tuple[int, str, list[dict]]]:
    done = {}
    for name in CONFIGS:
        run = _dry_run(name)
        out = run.stdout + run.stderr
        done[name] = (run.returncode, out, parse_plan(out))
    return done


def own_jobs(plans: dict, config_file: str) -> list[dict]:
    """The planned jobs of the config's own studies (not of config.yaml's, merged in by Snakemake)."""
    returncode, output, jobs = plans[config_file]
    assert returncode == 0, f"snakemake --dry-run --configfile configs/{config_file} failed:\n{output[-4000:]}"
    studies = set(load(config_file)["studies"])
    return [j for j in jobs if j["output"] is not None and j["output"].parts[1] in studies]


@pytest.mark.parametrize("config_file", CONFIGS)
def test_dry_run_plans_the_hand_counted_jobs(plans, config_file):
    mine = own_jobs(plans, config_file)
    assert "This was a dry-run" in plans[config_file][1]
    counted = {study: dict(Counter(j["rule"] for j in mine if j["output"].parts[1] == study))
               for study in EXPECTED_JOBS[config_file]}
    assert counted == EXPECTED_JOBS[config_file]
    assert len(mine) == EXPECTED_TOTALS[config_file] == sum(sum(r.values()) for r in EXPECTED_JOBS[config_file].values())


@pytest.mark.parametrize("config_file", CONFIGS)
def test_planned_training_specs_follow_the_config(plans, config_file):
    """Every training job: its member, model, objective, the paper's recipe and seeds, CIFAR download."""
    studies = load(config_file)["studies"]
    seen = set()
    for job in own_jobs(plans, config_file):
        if job["rule"] not in ("teacher", "generation", "control"):
            continue
        spec = json.loads(job["args"]["--spec"])
        study, lineage_name, seed_dir, member = job["output"].parts[1:5]
        assert (spec["study"], spec["lineage"], f"seed{spec['seed']}", spec["member"]) == (study, lineage_name, seed_dir, member)
        s, lineage = studies[study], studies[study]["lineages"][lineage_name]
        model = lineage["teacher"] if member == "gen0" else lineage.get("student", lineage["teacher"])
        assert spec["model"] == {"name": model["name"], "args": model.get("args", {})}
        if model["name"].startswith("wrn-"):
            assert spec["model"]["args"] == {"dropout": 0.3}
        expected_objective = {"teacher": "ce", "generation": "ban"}.get(job["rule"], member)
        assert spec["objective"]["name"] == expected_objective
        assert spec["recipe"] == PAPER_RECIPE
        assert spec["dataset"]["name"] == s["dataset"]["name"] and spec["dataset"]["download"] is True
        seen.add((study, lineage_name, spec["seed"]))
    assert seen == {(st, name, seed) for st, s in studies.items() for name in s["lineages"] for seed in SEEDS}


@pytest.mark.parametrize("config_file", CONFIGS)
def test_table_jobs_carry_the_paper_numbers(plans, config_file):
    from ban.report.tables import normalize_paper

    studies = load(config_file)["studies"]
    tables = {j["output"].parts[1]: j for j in own_jobs(plans, config_file) if j["rule"] == "table"}
    assert set(tables) == set(studies)
    for study, s in studies.items():
        paper = s["paper"]
        assert set(paper) <= set(s["lineages"]), f"{study}: paper rows without a lineage"
        normalize_paper(paper)  # every key is a table column
        assert all(0.0 < v < 100.0 for row in paper.values() for v in row.values())
        assert json.loads(tables[study]["args"]["--paper"]) == paper


def test_table2_densenet_80_120_as_in_the_paper():
    """No BAN-3 for 80-120, and its Ens*3 averages the teacher with BAN-1 and BAN-2."""
    from ban.study import ensemble_members

    study = load("table2_cifar100_densenet.yaml")["studies"]["table2_cifar100_densenet"]
    lineage = study["lineages"]["densenet-80-120"]
    assert lineage["generations"] == 2 and ensemble_members(lineage, 3) == ["gen0", "gen1", "gen2"]
    assert "BAN-3" not in study["paper"]["densenet-80-120"]
    for name in ("densenet-112-33", "densenet-90-60", "densenet-80-80"):
        assert ensemble_members(study["lineages"][name], 3) == ["gen1", "gen2", "gen3"]


@pytest.mark.parametrize("config_file", CONFIGS)
def test_shared_teachers_come_from_a_same_architecture_lineage(config_file):
    """A teacher_checkpoint names another lineage's gen0 of the same config and architecture,
    so the one teacher of a paper row is trained once per seed."""
    studies = load(config_file)["studies"]
    for study, name, lineage in lineages(config_file):
        path = lineage.get("teacher_checkpoint")
        if path is None:
            continue
        parts = path.split("/")
        assert parts[0] == "results" and parts[3] == "seed{seed}" and parts[4:] == ["gen0", "model.pt"], path
        source = studies[parts[1]]["lineages"][parts[2]]
        assert "teacher_checkpoint" not in source and source["teacher"] == lineage["teacher"], (name, path)
