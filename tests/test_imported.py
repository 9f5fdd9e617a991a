"""A lineage's teacher_checkpoint: checked against the study, then evaluated as generation 0."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ban.checkpoint import CheckpointError, save_model
from ban.datasets import load_dataset
from ban.imported import check_teacher_checkpoint
from ban.lifecycle import run_member as train
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


def teacher_trained_on(tmp_path, tiny_spec, dataset: dict, embed: bool = True):
    """A teacher model.pt of the lineage's architecture recording ``dataset`` as its training data:
    in its spec (``embed``) or only in the metrics.json beside it."""
    path = teacher_file(tmp_path, tiny_spec)
    spec = {**tiny_spec, "dataset": dataset} if embed else {}
    args = tiny_spec["model"]["args"]
    info = {"name": "cnn", "args": args, "in_channels": 1, "num_classes": 4}
    save_model(path, build_model("cnn", 1, 4, **args), info, "synthetic", spec)
    if not embed:
        path.with_name("metrics.json").write_text(json.dumps({"dataset_spec": dataset}))
    return path


@pytest.mark.parametrize("embed", [True, False], ids=["spec in model.pt", "metrics.json beside it"])
@pytest.mark.parametrize(
    "change, message",
    [
        ({"data_seed": 7}, "dataset data_seed 7 there, 1234 here"),
        ({"train_subset": 100}, "dataset train_subset 100 there, 0 here"),
        ({"label_noise": {"rate": 0.2, "seed": 0}}, "dataset label_noise {'kind': 'symmetric', 'rate': 0.2, 'seed': 0} there, None here"),
    ],
)
def test_a_teacher_trained_on_other_data_is_refused(tiny_spec, tmp_path, change, message, embed):
    path = teacher_trained_on(tmp_path, tiny_spec, {**tiny_spec["dataset"], **change}, embed)
    data = load_dataset(**tiny_spec["dataset"])
    with pytest.raises(CheckpointError) as error:
        check_teacher_checkpoint({**tiny_spec, "checkpoint": str(path)}, data)
    assert str(error.value) == f"teacher_checkpoint {path}: trained on other data than the study's: {message}"


def test_where_the_data_lies_and_defaults_spelled_out_are_the_same_data(tiny_spec, tmp_path):
    elsewhere = {**tiny_spec["dataset"], "root": "/elsewhere", "download": True, "data_seed": 1234, "channels": 1,
                 "seed": 5, "subset_seed": 3}  # seeds that draw nothing: no val_split, no train_subset
    path = teacher_trained_on(tmp_path, tiny_spec, elsewhere)
    assert check_teacher_checkpoint({**tiny_spec, "checkpoint": str(path)}, load_dataset(**tiny_spec["dataset"]))
