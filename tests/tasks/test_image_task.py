"""The image task's recipe: weight decay on every parameter by default, fp32 final scores, the
eval-mode training error."""

from __future__ import annotations

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.datasets import load_dataset
from ban.member import run_member
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
