"""A lineage's teacher_checkpoint: checked against the study, then evaluated as generation 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ban.checkpoint import CheckpointError, save_model
from ban.datasets import load_dataset
from ban.imported import check_teacher_checkpoint
from ban.member import run_member as train
from ban.models import build_model


def teacher_file(tmp_path, spec, dataset="synthetic", num_classes=4, name="cnn", args=None):
    args = spec["model"]["args"] if args is None else args
    path = tmp_path / f"{dataset}-{num_classes}-{name}" / "model.pt"
    path.parent.mkdir()
    info = {"name": name, "args": args, "in_channels": 1, "num_classes": num_classes}
    save_model(path, build_model(name, 1, num_classes, **args), info, dataset, {})
    return path


def test_trained_teacher_is_evaluated_not_trained(tiny_spec, tmp_path):
    trained = train(tiny_spec, tmp_path / "trained", log=lambda line: None)
    imported_spec = {**tiny_spec, "checkpoint": str(tmp_path / "trained" / "model.pt")}
    imported = train(imported_spec, tmp_path / "imported", log=lambda line: None)
    assert imported["objective"] == "imported" and imported["epochs"] == 0
    assert imported["history"] == trained["history"] and len(imported["history"]) == 3  # from metrics.json beside it
    assert imported["test_error"] == trained["test_error"]
    assert imported["test_nll"] == pytest.approx(trained["test_nll"], rel=1e-6)
    a, b = np.load(tmp_path / "trained/predictions.npz"), np.load(tmp_path / "imported/predictions.npz")
    np.testing.assert_allclose(a["probs"], b["probs"], rtol=1e-5, atol=1e-7)
    assert json.loads((tmp_path / "imported/metrics.json").read_text())["imported_from"] == imported_spec["checkpoint"]


def test_teacher_without_metrics_beside_it_has_no_history(tiny_spec, tmp_path):
    path = teacher_file(tmp_path, tiny_spec)
    imported = train({**tiny_spec, "checkpoint": str(path)}, tmp_path / "out", log=lambda line: None)
    assert imported["history"] == [] and 0.0 <= imported["test_error"] <= 100.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 6}, "predicts 6 classes, the study's synthetic has 4; its students cannot take the teacher's classes"),
        ({"dataset": "fashion_mnist", "num_classes": 4}, "trained on 'fashion_mnist', the study's dataset is 'synthetic'"),
        ({"args": {"width": 8, "hidden": 16}}, "the lineage's teacher is"),
    ],
)
def test_unfit_teacher_checkpoint_is_refused_in_one_line(tiny_spec, tmp_path, kwargs, message):
    path = teacher_file(tmp_path, tiny_spec, **kwargs)
    data = load_dataset(**tiny_spec["dataset"])
    with pytest.raises(CheckpointError, match="teacher_checkpoint") as error:
        check_teacher_checkpoint({**tiny_spec, "checkpoint": str(path)}, data)
    assert message in str(error.value) and "\n" not in str(error.value) and str(path) in str(error.value)


def test_missing_teacher_checkpoint_names_the_file(tiny_spec, tmp_path):
    data = load_dataset(**tiny_spec["dataset"])
    with pytest.raises(CheckpointError, match=r"teacher_checkpoint: .*nowhere\.pt: checkpoint not found"):
        check_teacher_checkpoint({**tiny_spec, "checkpoint": str(tmp_path / "nowhere.pt")}, data)
