"""Study expansion (ban.study): what each member's spec holds."""

import copy

import pytest
import yaml

from ban.identity import training_spec
from ban.study import StudyError, iter_members, member_spec
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


def tuned(**lineage):
    """The tiny study with a validation split, a last-epoch recipe and ``lineage`` keys on cnn."""
    loaded = config(val_split=0.25)
    loaded["studies"]["tiny"]["recipe"]["select"] = "last"
    loaded["studies"]["tiny"]["lineages"]["cnn"].update(lineage)
    return loaded


def recipe_of(loaded, member, key="select"):
    return member_spec(loaded, "tiny", "cnn", 1, member)["recipe"].get(key)


def test_teacher_recipe_reaches_the_label_trained_members_only():
    grid = {"recipe.weight_decay": [0.001]}
    early_teacher = tuned(teacher_recipe={"select": "best_val"}, tuning=grid)
    assert {m: recipe_of(early_teacher, m) for m in ("gen0", "ind1", "tune1", "gen1", "gen2", "cwtm", "ban_l")} == {
        "gen0": "best_val", "ind1": "best_val", "tune1": "best_val", "gen1": "last", "gen2": "last", "cwtm": "last", "ban_l": "last"}
    # and vice versa: students stop early, the teacher trains to the end
    loaded = tuned(recipe={"select": "best_val"}, teacher_recipe={"select": "last"}, tuning=grid)
    assert [recipe_of(loaded, m) for m in ("gen0", "ind1", "tune1", "gen1", "dkpp")] == ["last", "last", "last", "best_val", "best_val"]
    # an override still applies last
    loaded["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"gen0": {"recipe": {"select": "best_val"}}}
    assert recipe_of(loaded, "gen0") == "best_val" and recipe_of(loaded, "ind1") == "last"
    # the study's other recipe keys are kept beneath
    assert member_spec(early_teacher, "tiny", "cnn", 1, "gen0")["recipe"]["epochs"] == 3


def test_tuning_points_in_product_order_with_the_teachers_seed_and_setting():
    loaded = tuned(tuning={"objective_args.label_smoothing": [0, 0.1], "recipe.select": ["last", "best_val"]})
    members = [m for _, _, seed, m in iter_members(loaded) if seed == 0]
    assert members[-6:] == ["tune1", "tune2", "tune3", "tune4", "ens2", "indep2"]
    specs = [member_spec(loaded, "tiny", "cnn", 1, f"tune{i}") for i in range(1, 5)]
    assert [(s["objective"]["args"], s["recipe"]["select"]) for s in specs] == [
        ({}, "last"), ({}, "best_val"), ({"label_smoothing": 0.1}, "last"), ({"label_smoothing": 0.1}, "best_val")]
    assert [s["tuning_point"] for s in specs][1] == {"objective_args.label_smoothing": 0, "recipe.select": "best_val"}
    teacher = member_spec(loaded, "tiny", "cnn", 1, "gen0")
    assert {s["train_seed"] for s in specs} == {teacher["train_seed"]} == {1000}
    assert all(s["objective"]["name"] == "ce" and s["model"] == teacher["model"] for s in specs)
    # the point of the teacher's own setting (ε = 0: no argument) is the teacher's training
    assert training_spec(specs[0]) == training_spec(teacher) and "tuning_point" not in teacher
    assert training_spec(specs[1]) != training_spec(teacher)


def test_a_tuning_grid_needs_a_validation_split_and_tuning_keys():
    loaded = tuned(tuning={"recipe.select": ["last", "best_val"]})
    loaded["studies"]["tiny"]["dataset"]["val_split"] = 0.0
    with pytest.raises(StudyError, match=r"^studies\.tiny\.dataset\.val_split: must be > 0 .* lineage 'cnn'"):
        list(iter_members(loaded))
    for key in ("objective_args.temperature", "select", "model.args"):
        with pytest.raises(StudyError, match=rf"^studies\.tiny\.lineages\.cnn\.tuning\.{key}: not a tuning key \(allowed: recipe"):
            list(iter_members(tuned(tuning={key: [1]})))


@pytest.mark.parametrize("rate, refused", [(0.5, True), (0.7, True), (0.49, False)])
def test_pairwise_label_noise_must_leave_the_true_class_the_majority(rate, refused):
    loaded = config(label_noise={"rate": rate, "kind": "pairwise"})
    if refused:
        with pytest.raises(StudyError, match=rf"^studies\.tiny\.dataset\.label_noise\.rate: {rate} with kind pairwise .*below 0\.5\)$"):
            list(iter_members(loaded))
    else:
        assert list(iter_members(loaded))
    assert list(iter_members(config(label_noise={"rate": 0.7, "kind": "symmetric"})))
