"""Study expansion (ban.study): what each member's spec holds."""

import copy

import yaml

from ban.study import member_spec
from tests.workflow.conftest import TINY


def config(**dataset):
    loaded = yaml.safe_load(TINY.read_text())
    loaded["studies"]["tiny"]["dataset"].update(dataset)
    return loaded


def test_per_seed_subsets_take_the_study_seed_and_first_leaves_the_spec_alone():
    per_seed = config(train_subset=100, subset_seed="per_seed")
    for seed in (0, 1):
        specs = [member_spec(per_seed, "tiny", "cnn", seed, m) for m in ("gen0", "gen1", "cwtm", "ind1")]
        assert {spec["dataset"]["subset_seed"] for spec in specs} == {seed}  # every member of a seed: one subset
    assert per_seed["studies"]["tiny"]["dataset"]["subset_seed"] == "per_seed"  # the config is not changed
    plain = config(train_subset=100)
    before = copy.deepcopy(plain)
    assert "subset_seed" not in member_spec(plain, "tiny", "cnn", 1, "gen1")["dataset"]  # default: byte-identical specs
    assert plain == before
