"""What the config asks of each member (ban.plan): specs, identities, shared trainings, comparisons."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from ban.fingerprint import RuleCode
from ban.plan import Comparison, compare, planned_members, same_training
from ban.status import load_config

TINY = Path(__file__).resolve().parent / "workflow" / "tiny.yaml"


def config_with_a_second_study(tmp_path: Path) -> dict:
    config = yaml.safe_load(TINY.read_text())
    second = copy.deepcopy(config["studies"]["tiny"])
    second["seeds"] = [1]
    second["lineages"] = {"renamed": {**second["lineages"]["cnn"], "generations": 1, "controls": ["cwtm"], "ensembles": []}}
    config["studies"]["again"] = second
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return load_config(tmp_path / "config.yaml")


def test_a_second_study_of_the_same_trainings_shares_them(tmp_path):
    planned = planned_members(config_with_a_second_study(tmp_path), RuleCode(), root=tmp_path)
    same = same_training(planned)
    assert same == {("tiny", "cnn", 1, m): ("again", "renamed", 1, m) for m in ("gen0", "gen1", "cwtm", "ind1")}  # "again" first
    assert all(planned[a].identity == planned[b].identity for a, b in same.items())
    assert planned[("tiny", "cnn", 0, "gen0")].identity != planned[("tiny", "cnn", 1, "gen0")].identity


def test_compare_names_a_changed_identity_older_code_and_another_environment(tmp_path):
    planned = planned_members(config_with_a_second_study(tmp_path), RuleCode(), root=tmp_path)[("tiny", "cnn", 0, "gen1")]
    env = {"python": "3.11.7", "torch": "2.14.1", "numpy": "2.4.6", "device": "cpu", "cpu_capability": "avx2"}
    same = {"identity": planned.identity, "code": planned.spec["code"], "environment": env}
    assert compare(planned, same, env) == Comparison(False, False, ())
    assert compare(planned, {**same, "environment": {**env, "torch": "2.13.0"}}, env).changes == ("torch 2.13.0 -> 2.14.1",)
    assert compare(planned, {**same, "identity": "other"}, env) == Comparison(True, False, ())
    assert compare(planned, {**same, "identity": "other", "code": "0123"}, env) == Comparison(True, True, ())
