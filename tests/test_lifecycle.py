"""The member lifecycle on the image task (synthetic data): learning, determinism, resume, checkpoints."""

import json

import numpy as np
import pytest
import torch

from ban import checkpoint as ckpt_io
from ban.datasets import load_dataset
from ban.identity import member_identity, training_spec
from ban.lifecycle import run_member as train
from ban.metrics import nll
from ban.models import build_model
from ban.runtime import TrainingError
from ban.store import Store
from ban.tasks.image import Recipe, predict


def quiet(_line):
    pass


def without_timings(metrics):
    metrics = {k: v for k, v in metrics.items() if k != "wall_seconds"}
    metrics["history"] = [{k: v for k, v in row.items() if k not in ("seconds", "train_seconds")} for row in metrics["history"]]
    return metrics


def test_one_epoch_lowers_the_loss(tiny_spec, tmp_path):
    tiny_spec["recipe"]["epochs"] = 1
    data = load_dataset(**tiny_spec["dataset"])
    torch.manual_seed(tiny_spec["train_seed"])
    untrained = build_model("cnn", data.in_channels, data.num_classes, **tiny_spec["model"]["args"])
    before = nll(predict(untrained, data.test_x, 256, torch.device("cpu"), "fp32", False), data.test_y.numpy())
    metrics = train(tiny_spec, tmp_path, log=quiet)
    assert metrics["test_nll"] < before - 0.1


def test_training_writes_complete_artifacts(tiny_spec, tmp_path):
    metrics = train(tiny_spec, tmp_path, log=quiet)
    assert metrics["test_error"] < 30.0  # chance is 75 %
    assert sorted(p.name for p in tmp_path.iterdir()) == [".writer.lock", "metrics.json", "model.pt", "predictions.npz"]
    on_disk = json.loads((tmp_path / "metrics.json").read_text())
    assert on_disk["test_error"] == metrics["test_error"] and len(on_disk["history"]) == 3
    with np.load(tmp_path / "predictions.npz") as saved:
        assert saved["probs"].dtype == np.float32 and saved["probs"].shape == (128, 4)
        assert saved["labels"].dtype == np.int64
        assert np.allclose(saved["probs"].sum(axis=1), 1.0, atol=1e-5)


def test_same_seed_gives_identical_runs(tiny_spec, tmp_path):
    a = train(tiny_spec, tmp_path / "a", log=quiet)
    b = train(tiny_spec, tmp_path / "b", log=quiet)
    assert without_timings(a) == without_timings(b)
    assert (tmp_path / "a/predictions.npz").read_bytes() == (tmp_path / "b/predictions.npz").read_bytes()
    tiny_spec["train_seed"] = 7
    c = train(tiny_spec, tmp_path / "c", log=quiet)
    assert without_timings(c)["history"] != without_timings(a)["history"]


def test_checkpoint_round_trip_with_weights_only(tiny_spec, tmp_path):
    train(tiny_spec, tmp_path, log=quiet)
    raw = torch.load(tmp_path / "model.pt", weights_only=True)
    assert raw["format"] == "ban.model/1" and raw["model"]["name"] == "cnn" and raw["spec"] == training_spec(tiny_spec)
    assert not {"study", "lineage", "seed", "member"} & raw["spec"].keys() and "root" not in raw["spec"]["dataset"]
    model = ckpt_io.build_from_checkpoint(raw)
    data = load_dataset(**tiny_spec["dataset"])
    probs = predict(model, data.test_x, 1024, torch.device("cpu"), "fp32", True)
    with np.load(tmp_path / "predictions.npz") as saved:
        np.testing.assert_allclose(probs, saved["probs"], atol=1e-6)


@pytest.mark.parametrize("objective", ["ban", "ban_l", "cwtm", "dkpp"])
def test_students_learn_from_a_teacher(tiny_spec, tmp_path, objective):
    train(tiny_spec, tmp_path / "gen0", log=quiet)
    student = {**tiny_spec, "member": "gen1", "train_seed": 1, "objective": {"name": objective, "args": {}}}
    metrics = train(student, tmp_path / "gen1", teacher_path=tmp_path / "gen0/model.pt", log=quiet)
    assert metrics["objective"] == objective
    assert metrics["history"][-1]["train_loss"] < metrics["history"][0]["train_loss"]
    assert metrics["test_error"] < 65.0  # chance is 75 %


def test_a_student_records_its_teachers_confidence_on_the_views_it_trained_on(tiny_spec, tmp_path):
    """Without augmentation and with one batch per epoch every view is the training set itself, so
    the recorded means equal the teacher's max probability and entropy computed directly."""
    tiny_spec["recipe"].update(augment=False, batch_size=256)
    teacher = train(tiny_spec, tmp_path / "gen0", log=quiet)
    assert "teacher_max_prob" not in teacher and "teacher_max_prob" not in teacher["history"][0]
    student = {**tiny_spec, "member": "gen1", "train_seed": 1, "objective": {"name": "ban", "args": {}}}
    metrics = train(student, tmp_path / "gen1", teacher_path=tmp_path / "gen0/model.pt", log=quiet)
    path = tmp_path / "gen0/model.pt"
    model = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(path), path).eval()
    with torch.no_grad():
        probs = torch.softmax(model(load_dataset(**tiny_spec["dataset"]).train_x).double(), dim=-1)
    assert metrics["teacher_max_prob"] == pytest.approx(float(probs.amax(dim=-1).mean()), rel=1e-5)
    assert metrics["teacher_entropy"] == pytest.approx(float(-(probs * probs.log()).sum(dim=-1).mean()), rel=1e-5)
    assert [row["teacher_max_prob"] for row in metrics["history"]] == pytest.approx([metrics["teacher_max_prob"]] * 3, rel=1e-6)


def test_student_without_teacher_is_refused(tiny_spec, tmp_path):
    tiny_spec["objective"]["name"] = "ban"
    with pytest.raises(TrainingError, match="needs a teacher"):
        train(tiny_spec, tmp_path, log=quiet)


def test_interrupted_run_resumes_bit_for_bit(tiny_spec, tmp_path):
    reference = train(tiny_spec, tmp_path / "ref", log=quiet)

    def die_in_epoch_3(line):
        if line.startswith("epoch   2/3"):
            raise KeyboardInterrupt  # after epoch 2's line, before its resume checkpoint: epoch 1 is saved

    with pytest.raises(KeyboardInterrupt):
        train(tiny_spec, tmp_path / "run", log=die_in_epoch_3)
    state = torch.load(tmp_path / "run/resume.pt", weights_only=True)
    assert state["epoch"] == 1 and not (tmp_path / "run/metrics.json").exists()
    lines = []
    resumed = train(tiny_spec, tmp_path / "run", log=lines.append)
    assert lines[0].startswith("resumed from epoch 1")
    assert without_timings(resumed) == without_timings(reference)
    assert (tmp_path / "run/model.pt").read_bytes() != b""
    a = torch.load(tmp_path / "ref/model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "run/model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (tmp_path / "ref/model.pt").read_bytes() == (tmp_path / "run/model.pt").read_bytes()
    assert not (tmp_path / "run/resume.pt").exists()


def test_identical_trainings_write_identical_files(tiny_spec, tmp_path):
    train(tiny_spec, tmp_path / "a", log=quiet)
    train(tiny_spec, tmp_path / "b", log=quiet)
    for name in ("model.pt", "predictions.npz"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_removed_outputs_of_a_finished_member_are_restored_from_the_store(tiny_spec, tmp_path):
    store = Store(tmp_path / "store")
    reference = train(tiny_spec, tmp_path / "m", log=quiet, store=store)
    files = {name: (tmp_path / "m" / name).read_bytes() for name in ("model.pt", "predictions.npz")}
    for name in ("model.pt", "predictions.npz", "metrics.json"):
        (tmp_path / "m" / name).unlink()  # what Snakemake does to a job a killed workflow left incomplete
    lines = []
    again = train(tiny_spec, tmp_path / "m", log=lines.append, store=store)
    assert len(lines) == 1 and lines[0].startswith("restored from the store") and "no training" in lines[0]
    assert {name: (tmp_path / "m" / name).read_bytes() for name in files} == files
    assert again == reference
    lines = []
    train({**tiny_spec, "train_seed": 7}, tmp_path / "m", log=lines.append, store=store)  # another spec: trained
    assert any(line.startswith("epoch") for line in lines)
    assert len(store.entries()) == 2


def test_resume_state_of_another_identity_is_discarded(tiny_spec, tmp_path):
    tiny_spec["recipe"]["epochs"] = 1
    train(tiny_spec, tmp_path / "x", log=quiet)
    other = member_identity({**tiny_spec, "train_seed": 5})
    ckpt_io.save_torch({"format": ckpt_io.RESUME_FORMAT, "identity": other.hash}, tmp_path / "y/resume.pt")
    lines = []
    train(tiny_spec, tmp_path / "y", log=lines.append)
    assert not any(line.startswith("resumed") for line in lines)


def test_divergence_stops_with_a_clear_message(tiny_spec, tmp_path):
    tiny_spec["recipe"].update(lr=1e6, schedule="constant", epochs=2)
    with pytest.raises(TrainingError, match="diverged in epoch 1"):
        train(tiny_spec, tmp_path, log=quiet)
    assert not (tmp_path / "model.pt").exists() and not (tmp_path / "metrics.json").exists()


def test_eval_every_scores_every_nth_epoch_and_the_last(tiny_spec, tmp_path):
    every = train(tiny_spec, tmp_path / "every", log=quiet)
    tiny_spec["recipe"]["eval_every"] = 2
    sparse = train(tiny_spec, tmp_path / "sparse", log=quiet)
    assert [row["test_error"] is None for row in sparse["history"]] == [True, False, False]
    assert sparse["history"][1]["test_error"] == every["history"][1]["test_error"]
    assert sparse["test_error"] == every["test_error"] == every["history"][-1]["test_error"]
    assert [row["train_loss"] for row in sparse["history"]] == [row["train_loss"] for row in every["history"]]


def test_recipe_rejects_bad_values():
    with pytest.raises(TrainingError, match="epochs must be a positive integer"):
        Recipe.from_dict({"epochs": 0})
    with pytest.raises(TrainingError, match="unknown recipe key"):
        Recipe.from_dict({"epoch": 3})
    with pytest.raises(TrainingError, match="recipe.cuda_graphs must be auto, true or false; got 'yes'"):
        Recipe.from_dict({"cuda_graphs": "yes"})
    with pytest.raises(TrainingError, match="recipe.eval_every must be a positive integer, got 0"):
        Recipe.from_dict({"eval_every": 0})
    assert Recipe.from_dict({"schedule": "step", "milestones": [2, 4], "gamma": 0.2}).lr_factor(4) == pytest.approx(0.04)
