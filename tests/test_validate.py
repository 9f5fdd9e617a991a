"""`ban check`: every problem of a set of specs, one line each, before anything trains."""

import copy

from ban.validate import check_specs


def test_usable_specs_have_no_problems(tiny_spec):
    assert check_specs([tiny_spec, {**tiny_spec, "member": "gen1", "objective": {"name": "ban", "args": {}}}]) == []


def test_each_problem_is_one_line_naming_the_member(tiny_spec):
    bad_model = copy.deepcopy(tiny_spec)
    bad_model["model"]["name"] = "vgg-16"
    bad_recipe = copy.deepcopy(tiny_spec)
    bad_recipe.update(member="gen1")
    bad_recipe["recipe"]["epochs"] = 0
    bad_objective = copy.deepcopy(tiny_spec)
    bad_objective.update(member="cwtm", objective={"name": "kd", "args": {}})
    bad_data = copy.deepcopy(tiny_spec)
    bad_data.update(member="dkpp", dataset={"name": "imagenet"})
    problems = check_specs([bad_model, bad_recipe, bad_objective, bad_data])
    assert len(problems) == 4 and all("\n" not in p for p in problems)
    assert problems[0].startswith("t/cnn/seed0/gen0: unknown model 'vgg-16'; valid:")
    assert problems[1].startswith("t/cnn/seed0/gen1: recipe.epochs must be a positive integer")
    assert problems[2].startswith("t/cnn/seed0/cwtm: unknown objective 'kd'")
    assert problems[3].startswith("t/cnn/seed0/dkpp: dataset: unknown dataset 'imagenet'")


def test_teacher_checkpoint_is_checked_unless_this_run_writes_it(tiny_spec, tmp_path, monkeypatch):
    from tests.test_imported import teacher_file

    monkeypatch.chdir(tmp_path)
    # An old model.pt of lineage "a" with other classes: the run retrains it before lineage "b" reads it.
    source = {**tiny_spec, "lineage": "a"}
    produced = tmp_path / "results/t/a/seed0/gen0"
    produced.mkdir(parents=True)
    teacher_file(tmp_path, tiny_spec, num_classes=6).rename(produced / "model.pt")
    importer = {**tiny_spec, "lineage": "b", "checkpoint": "results/t/a/seed0/gen0/model.pt"}
    assert check_specs([source, importer]) == []
    # The same file from outside the run (no member writes it) is refused before anything runs.
    problems = check_specs([importer])
    assert len(problems) == 1 and problems[0].startswith("t/b/seed0/gen0: teacher_checkpoint results/t/a/seed0/gen0/model.pt")
    assert "its students cannot take the teacher's classes" in problems[0]
