"""`python -m ban status`: missing, finished, finished on older code (ban.status, no torch)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ban.configfile import ALLOWED
from ban.environment import environment
from ban.fingerprint import RuleCode
from ban.plan import planned_members
from ban.status import FINISHED, MISSING, OLDER, load_config, member_statuses

REPO = Path(__file__).resolve().parents[1]
TINY = REPO / "tests" / "workflow" / "tiny.yaml"
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


@pytest.fixture
def project(tmp_path) -> Path:
    """The tiny study with one seed: gen0 on the current code, gen1 on other code, cwtm without a
    recorded code, ens2 on the current ensemble code; the other members are missing."""
    config = yaml.safe_load(TINY.read_text())
    config["studies"]["tiny"]["seeds"] = [0]
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    code = RuleCode()
    planned = planned_members(load_config(tmp_path / "config.yaml"), code)
    gen0 = {"code": code("training"), "identity": planned[("tiny", "cnn", 0, "gen0")].identity, "environment": environment()}
    for member, recorded in {"gen0": gen0, "gen1": {"code": "0123456789abcdef"}, "cwtm": {}, "ens2": {"code": code("ensemble")}}.items():
        folder = tmp_path / "results/tiny/cnn/seed0" / member
        folder.mkdir(parents=True)
        (folder / "metrics.json").write_text(json.dumps({"member": member} | recorded))
    return tmp_path


def test_member_states_follow_the_recorded_code(project):
    statuses = member_statuses(load_config(project / "config.yaml"), root=project)
    assert {s.member: s.state for s in statuses} == {
        "gen0": FINISHED, "gen1": OLDER, "gen2": MISSING, "ban_l": MISSING, "cwtm": OLDER, "dkpp": MISSING, "dkpp_fixed": MISSING,
        "ind1": MISSING, "ens2": FINISHED, "indep2": MISSING,
    }
    assert [s.member for s in statuses] == ["gen0", "gen1", "gen2", "ban_l", "cwtm", "dkpp", "dkpp_fixed", "ind1", "ens2", "indep2"]


def test_status_command_prints_a_table_and_counts(project):
    out = subprocess.run([sys.executable, "-m", "ban", "status"], cwd=project, capture_output=True, text=True,
                         env=ENV, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == "tiny: 10 members: 2 finished, 2 finished (older code), 6 missing"
    assert lines[1].split() == ["lineage", "seed", "member", "status"]
    assert lines[3].split() == ["cnn", "0", "gen1", "finished", "(older", "code)"]
    assert lines[4].split() == ["cnn", "0", "gen2", "missing"]


def test_status_refuses_an_invalid_config(project):
    (project / "bad.yaml").write_text(yaml.safe_dump({"studies": {"tiny": {"seeds": [0]}}}))
    out = subprocess.run([sys.executable, "-m", "ban", "status", "--configfile", "bad.yaml"], cwd=project, capture_output=True,
                         text=True, env=ENV)
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == "error: bad.yaml: studies.tiny: 'dataset' is a required property"


@pytest.mark.parametrize("name, why", [("results", "a folder, not a config file"), ("gone.yaml", "no such file"),
                                       ("latin1.yaml", "not UTF-8 text (byte 12)")])
def test_status_names_a_config_file_it_cannot_read(project, name, why):
    (project / "latin1.yaml").write_bytes(b"studies: caf\xe9\n")
    out = subprocess.run([sys.executable, "-m", "ban", "status", "--configfile", name], cwd=project, capture_output=True,
                         text=True, env=ENV)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [f"error: {name}: {why} ({ALLOWED})"]


@pytest.mark.parametrize("text, line", [
    ("studies: [\n", "error: bad.yaml: not valid YAML (expected the node content, but found '<stream end>' at line 2 column 1)"),
    ("- tiny\n", "error: bad.yaml: the top level is list, not a mapping (with studies: or sweeps:)"),
])
def test_status_names_a_config_file_that_is_not_a_mapping_of_yaml(project, text, line):
    (project / "bad.yaml").write_text(text)
    out = subprocess.run([sys.executable, "-m", "ban", "status", "--configfile", "bad.yaml"], cwd=project, capture_output=True,
                         text=True, env=ENV)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [line]


def test_status_names_a_sweep_cell_out_of_the_schemas_bounds(project):
    base = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    config = {"sweeps": {"long": {"base": base, "factors": {"recipe.epochs": [3, 1000000]}}}}
    (project / "sweep.yaml").write_text(yaml.safe_dump(config))
    out = subprocess.run([sys.executable, "-m", "ban", "status", "--configfile", "sweep.yaml"], cwd=project, capture_output=True,
                         text=True, env=ENV)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == ["error: sweep.yaml: studies.'long.epochs1000000'.recipe.epochs: 1000000 is greater than "
                                       "the maximum of 100000"]
