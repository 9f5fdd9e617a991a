"""The image task's recipe: weight decay on every parameter by default, fp32 final scores, the
eval-mode training error."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ban import checkpoint as ckpt_io
from ban.datasets import load_dataset
from ban.lifecycle import run_member
from ban.models import build_model
from ban.tasks.image import Recipe, parameter_groups, predict


def quiet(_line):
    pass


def test_weight_decay_reaches_batchnorm_and_biases_by_default():
    model = build_model("wrn-10-1", 1, 10)
    groups = parameter_groups(model, Recipe.from_dict({}))
    assert len(groups) == 1 and groups[0]["weight_decay"] == 5e-4
    assert len(groups[0]["params"]) == len(list(model.parameters()))
    bn_scales = [m.weight for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bn_scales and all(any(p is w for p in groups[0]["params"]) for w in bn_scales)


def test_decay_norm_and_bias_false_puts_1d_parameters_in_a_group_without_decay():
    model = build_model("wrn-10-1", 1, 10)
    decay, no_decay = parameter_groups(model, Recipe.from_dict({"decay_norm_and_bias": False}))
    assert decay["weight_decay"] == 5e-4 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim > 1 for p in decay["params"]) and all(p.ndim == 1 for p in no_decay["params"])
    bn_scales = [m.weight for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert all(any(p is w for p in no_decay["params"]) for w in bn_scales)


def test_decay_on_norm_parameters_changes_the_trained_weights(tiny_spec, tmp_path):
    run_member(tiny_spec, tmp_path / "a", log=quiet)
    tiny_spec["recipe"]["decay_norm_and_bias"] = False
    run_member(tiny_spec, tmp_path / "b", log=quiet)
    a = torch.load(tmp_path / "a/model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b/model.pt", weights_only=True)["state_dict"]
    one_d = [k for k, v in a.items() if v.ndim == 1 and v.is_floating_point() and "running" not in k]
    assert one_d and all(not torch.equal(a[k], b[k]) for k in one_d)


def test_final_scores_are_fp32_even_when_training_runs_in_bf16(tiny_spec, tmp_path):
    tiny_spec["recipe"]["precision"] = "bf16"  # bf16 autocast on the CPU too
    metrics = run_member(tiny_spec, tmp_path, log=quiet)
    ckpt = ckpt_io.load_model_checkpoint(tmp_path / "model.pt")
    model = ckpt_io.build_from_checkpoint(ckpt).to(memory_format=torch.channels_last)  # as trained
    data = load_dataset(**tiny_spec["dataset"])
    fp32 = predict(model, data.test_x, 1024, torch.device("cpu"), "fp32", True)
    bf16 = predict(model, data.test_x, 1024, torch.device("cpu"), "bf16", True)
    with np.load(tmp_path / "predictions.npz") as saved:
        assert np.array_equal(saved["probs"], fp32)
        assert not np.array_equal(saved["probs"], bf16)
    assert metrics["history"][-1]["test_error"] is not None


def test_metrics_hold_the_eval_mode_training_error(tiny_spec, tmp_path):
    metrics = run_member(tiny_spec, tmp_path, log=quiet)
    model = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(tmp_path / "model.pt"))
    data = load_dataset(**tiny_spec["dataset"])
    probs = predict(model, data.train_x, 1024, torch.device("cpu"), "fp32", False)
    expected = 100.0 * float(np.mean(probs.argmax(axis=1) != data.train_y.numpy()))
    assert metrics["train_error"] == expected and 0.0 <= expected < 40.0


def test_best_val_keeps_the_epoch_with_the_lowest_validation_error_and_never_reads_the_test_set(tiny_spec, tmp_path):
    """The kept weights are those of the epoch whose recorded val_error is lowest (ties: the earliest);
    the model's saved predictions are that epoch's weights' predictions; the test set is not used."""
    tiny_spec["dataset"]["val_split"] = 0.25
    tiny_spec["recipe"].update(epochs=6, select="best_val", lr=0.1)
    metrics = run_member(tiny_spec, tmp_path / "m", log=lambda _: None)
    errors = [row["val_error"] for row in metrics["history"]]
    assert metrics["selected_epoch"] == errors.index(min(errors)) + 1 and metrics["selected_val_error"] == min(errors)
    data = load_dataset(**tiny_spec["dataset"])
    model = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(tmp_path / "m/model.pt"))
    val = predict(model, data.val_x, 1024, torch.device("cpu"), "fp32", False)
    assert 100.0 * np.mean(val.argmax(1) != data.val_y.numpy()) == pytest.approx(min(errors))
    saved = np.load(tmp_path / "m/predictions.npz")["probs"]
    np.testing.assert_allclose(saved, predict(model, data.test_x, 1024, torch.device("cpu"), "fp32", False), atol=1e-6)

    # The choice cannot see the test set: the same run with other test images selects the same epoch.
    other = {**tiny_spec, "dataset": {**tiny_spec["dataset"], "n_test": 64}}
    again = run_member(other, tmp_path / "other", log=lambda _: None)
    assert again["selected_epoch"] == metrics["selected_epoch"] and [r["val_error"] for r in again["history"]] == errors


def test_best_val_without_a_validation_split_is_one_line(tiny_spec):
    from ban.runtime import TrainingError
    from ban.tasks.image import check_data

    with pytest.raises(TrainingError, match="recipe.select: best_val chooses the epoch on the validation split; set dataset.val_split"):
        check_data(Recipe.from_dict({"select": "best_val"}), load_dataset(**tiny_spec["dataset"]))
    with pytest.raises(TrainingError, match="recipe.select must be one of last, best_val"):
        Recipe.from_dict({"select": "best"})


def test_final_val_error_scores_the_kept_weights_on_the_validation_labels_the_study_gives(tiny_spec, tmp_path):
    """``val_error`` is the saved model's error on the validation split against its (noisy) labels,
    for ``last`` and ``best_val`` alike (where it is the selected epoch's); absent without a split."""
    from ban.tasks.image import score

    tiny_spec["dataset"].update(val_split=0.25, label_noise={"rate": 0.3, "kind": "symmetric", "seed": 0})
    data = load_dataset(**tiny_spec["dataset"])
    clean = load_dataset(**{**tiny_spec["dataset"], "label_noise": None})
    assert not torch.equal(data.val_y, clean.val_y)  # the validation labels are noisy
    for select in ("last", "best_val"):
        tiny_spec["recipe"].update(epochs=6, lr=0.1, select=select)
        metrics = run_member(tiny_spec, tmp_path / select, log=quiet)
        model = ckpt_io.build_from_checkpoint(ckpt_io.load_model_checkpoint(tmp_path / select / "model.pt"))
        val = predict(model, data.val_x, 1024, torch.device("cpu"), "fp32", False)
        assert metrics["val_error"] == pytest.approx(100.0 * float(np.mean(val.argmax(1) != data.val_y.numpy())))
        assert metrics["val_error"] != pytest.approx(100.0 * float(np.mean(val.argmax(1) != clean.val_y.numpy())))
        if select == "best_val":
            assert metrics["val_error"] == metrics["selected_val_error"]
        assert score(model, data, tiny_spec["recipe"], torch.device("cpu"))[0]["val_error"] == pytest.approx(metrics["val_error"])
    no_split = run_member({**tiny_spec, "dataset": {**tiny_spec["dataset"], "val_split": 0.0}, "recipe": {**tiny_spec["recipe"],
                           "select": "last"}}, tmp_path / "no_split", log=quiet)
    assert "val_error" not in no_split
