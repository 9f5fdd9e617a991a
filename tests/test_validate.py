"""`ban check`: every problem of a set of specs, one line each, before anything trains."""

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

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
    assert problems[2].startswith("t/cnn/seed0/cwtm: objective.name: unknown objective 'kd'")
    assert problems[3].startswith("t/cnn/seed0/dkpp: dataset.name: unknown dataset 'imagenet'")


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


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"objective": {"name": "ban", "args": {"temprature": 2.0}}},
         "objective.args.temprature = 2.0: not an argument of objective 'ban' (allowed: temperature)"),
        ({"objective": {"name": "ban_l", "args": {"label_weight": "1"}}}, "objective.args.label_weight = '1': must be a number"),
        ({"objective": {"name": "ce", "args": {"label_smoothing": 1.0}}},
         "objective 'ce' refuses {'label_smoothing': 1.0}: objective_args.label_smoothing must be in [0, 1)"),
        ({"objective": {"name": "dkpp", "args": {"generator": 3}}}, "objective.args.generator = 3: not an argument of objective 'dkpp'"),
        ({"dataset": {"name": "synthetic", "n_train": "256"}}, "dataset.n_train = '256': must be an integer"),
        ({"dataset": {"name": "synthetic", "n_trian": 256}}, "dataset.n_trian = 256: not an argument of dataset 'synthetic' (allowed:"),
        ({"dataset": {"name": "synthetic", "download": "yes"}}, "dataset.download = 'yes': must be true or false"),
        ({"model": {"name": "cnn", "args": {"widht": 4}}}, "unexpected keyword argument 'widht'"),
    ],
)
def test_arguments_are_checked_against_the_signatures(tiny_spec, change, expected):
    spec = {**tiny_spec, **change}
    if "objective" in change and change["objective"]["name"] != "ce":
        spec["member"] = "gen1"
    problems = check_specs([spec])
    assert len(problems) == 1 and "\n" not in problems[0], problems
    assert problems[0].startswith("t/cnn/seed0/") and expected in problems[0], problems


def test_an_unavailable_device_is_one_line(tiny_spec):
    problems = check_specs([tiny_spec], device="cuda" if not torch.cuda.is_available() else "cuda:99")
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    assert problems == ["device: device 'cuda' requested but CUDA is not available"]


def test_corrupt_finished_files_are_named_with_the_way_out(tiny_spec, tmp_path, monkeypatch):
    from ban.lifecycle import run_member

    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "results/t/cnn/seed0/gen0"
    run_member(tiny_spec, folder, log=lambda _: None)
    relative = "results/t/cnn/seed0/gen0"
    assert check_specs([tiny_spec], finished=[relative]) == []
    model = (folder / "model.pt").read_bytes()
    (folder / "model.pt").write_bytes(model[:5000])
    with np.load(folder / "predictions.npz") as arrays:
        np.savez(folder / "predictions.npz", probs=arrays["probs"][:100], labels=arrays["labels"][:100])
    (folder / "metrics.json").write_text("{not json")
    problems = check_specs([tiny_spec], finished=[relative])
    assert len(problems) == 3 and all("\n" not in p and p.endswith(f"delete {relative} to rebuild it") for p in problems)
    assert problems[0].startswith(f"{relative}/metrics.json: unusable metrics file")
    assert problems[1].startswith(f"{relative}/model.pt: unreadable or truncated checkpoint")
    assert problems[2].startswith(f"{relative}/predictions.npz: probs are 100×4, the test set is 128×4")
    (folder / "metrics.json").write_text(json.dumps({"task": "image", "test_error": 1.0}))
    assert "lacks score(s) test_nll, test_ece" in check_specs([tiny_spec], finished=[relative])[0]


@pytest.mark.torch_process
def test_a_synthetic_dataset_too_large_to_make_is_one_line(tiny_spec, tmp_path):
    """``n_train: 100000000000`` is refused by the pre-flight (``python -m ban check``, as the
    workflow runs it) before any allocation: one line naming the sizes and what is allowed."""
    spec = copy.deepcopy(tiny_spec)
    spec["dataset"]["n_train"] = 100_000_000_000
    (tmp_path / "specs.json").write_text(json.dumps({"specs": [spec], "device": "cpu"}))
    out = subprocess.run([sys.executable, "-m", "ban", "check", "--specs", str(tmp_path / "specs.json")], capture_output=True,
                         text=True, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}, timeout=300)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [
        "error: t/cnn/seed0/gen0: dataset: synthetic: n_train 100000000000 + n_test 128 images and num_classes 4 prototypes of "
        "1x12x12 are 14400000019008 values, more than 2^30 (4 GiB of float32); lower n_train, n_test, channels or size"]


@pytest.mark.parametrize(
    "dataset, batch_size, images",
    [({}, 257, 256), ({"train_subset": 100}, 128, 100), ({"val_split": 0.5}, 200, 128)],
    ids=["n_train", "train_subset", "val_split"],
)
def test_a_batch_larger_than_the_training_set_is_one_line(tiny_spec, dataset, batch_size, images):
    spec = {**tiny_spec, "dataset": {**tiny_spec["dataset"], **dataset}, "recipe": {**tiny_spec["recipe"], "batch_size": batch_size}}
    assert check_specs([spec]) == [
        f"t/cnn/seed0/gen0: recipe.batch_size = {batch_size} is larger than the {images} training images of synthetic "
        "(after dataset.train_subset and val_split); allowed: 1 to the training set's size"
    ]
    assert check_specs([{**spec, "recipe": {**spec["recipe"], "batch_size": images}}]) == []
