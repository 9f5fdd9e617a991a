"""Collapse detection: each rule on hand-built scores at and beside its threshold, and real tiny
trainings through the image task and ``python -m ban train``'s job end."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from ban.collapse import CHANCE_MARGIN, ONE_CLASS_SHARE, chance_error, collapse_reasons, collapse_scores, warn_if_collapsed

BALANCED = [0, 1, 2, 3] * 5  # 20 test predictions, 25% per class
FALLING = [{"train_loss": 1.4}, {"train_loss": 1.1}, {"train_loss": 0.8}]


def test_the_constants_are_the_rules():
    assert (CHANCE_MARGIN, ONE_CLASS_SHARE) == (5.0, 0.95)
    assert chance_error(4) == 75.0 and chance_error(10) == 90.0 and chance_error(2) == 50.0


def test_a_healthy_member_has_no_reason():
    assert collapse_reasons({"train_error": 12.5}, FALLING, 4, BALANCED) == []
    assert collapse_scores({"train_error": 12.5}, FALLING, 4, BALANCED) == {"collapsed": False, "collapse_reasons": []}


@pytest.mark.parametrize("classes, train_error, collapsed", [
    (4, 70.0, True),    # 4 classes: chance 75 %, threshold 75 − 5 = 70: exactly at it is collapsed
    (4, 69.99, False),
    (4, 75.0, True),
    (10, 85.0, True),   # 10 classes: 90 − 5
    (10, 84.9, False),
    (2, 45.0, True),    # 2 classes: 50 − 5
    (2, 44.5, False),
])
def test_a_train_error_within_five_points_of_chance(classes, train_error, collapsed):
    reasons = collapse_reasons({"train_error": train_error}, FALLING, classes, list(range(classes)) * 5)
    assert reasons == ([f"train error {train_error:.2f}% is within 5 points of chance ({chance_error(classes):.2f}%)"]
                       if collapsed else [])


@pytest.mark.parametrize("predicted, collapsed", [
    ([2] * 19 + [0], False),            # 19 / 20 = 95 % exactly: not more than 95 %
    ([2] * 20, True),                   # 100 %
    ([1] * 39 + [3], True),             # 39 / 40 = 97.5 %
    ([1] * 94 + [0, 2, 3, 0, 2, 3], False),  # 94 %
    (np.array([3] * 96 + [0] * 4), True),    # 96 %, as an array
])
def test_more_than_95_percent_of_the_predictions_in_one_class(predicted, collapsed):
    reasons = collapse_reasons({"train_error": 10.0}, FALLING, 4, predicted)
    if collapsed:
        top = int(np.bincount(predicted).argmax())
        share = 100.0 * np.bincount(predicted).max() / len(predicted)
        assert reasons == [f"{share:.1f}% of the test predictions are class {top} (more than 95%)"]
    else:
        assert reasons == []


@pytest.mark.parametrize("losses, collapsed", [
    ([1.0, 1.0], True),          # equal to the first epoch's: never fell below it
    ([1.0, 0.999], False),
    ([1.0, 1.2, 1.1], True),
    ([1.0, 3.0, 0.99], False),   # falls below in the last epoch
    ([5.0], False),              # one epoch: the rule needs two
    ([], False),
])
def test_a_training_loss_that_never_falls_below_the_first_epoch(losses, collapsed):
    history = [{"epoch": i + 1, "train_loss": loss} for i, loss in enumerate(losses)]
    reasons = collapse_reasons({"train_error": 10.0}, history, 4, BALANCED)
    assert reasons == ([f"the training loss never fell below its first epoch's ({losses[0]:.4g}; lowest later "
                        f"{min(losses[1:]):.4g})"] if collapsed else [])


def test_without_a_train_error_or_predictions_only_the_loss_rule_applies():
    """A language model: no train_error, no argmax predictions, ``num_classes`` the vocabulary."""
    assert collapse_reasons({"test_ppl": 9999.0}, FALLING, 10000, None) == []
    reasons = collapse_reasons({"test_ppl": 9999.0}, [{"train_loss": 9.2}, {"train_loss": 9.3}], 10000, None)
    assert len(reasons) == 1 and reasons[0].startswith("the training loss never fell")


def test_every_reason_at_once_and_the_warning_line():
    history = [{"train_loss": 1.3}, {"train_loss": 1.4}]
    scores = collapse_scores({"train_error": 75.0}, history, 4, [0] * 20)
    assert scores["collapsed"] is True and len(scores["collapse_reasons"]) == 3
    stream = io.StringIO()
    warn_if_collapsed("results/t/cnn/seed0/gen0", scores, stream)
    line = stream.getvalue()
    assert line == f"warning: results/t/cnn/seed0/gen0: collapsed ({'; '.join(scores['collapse_reasons'])})\n"
    healthy = io.StringIO()
    warn_if_collapsed("results/t/cnn/seed0/gen0", {"collapsed": False, "collapse_reasons": []}, healthy)
    warn_if_collapsed("results/t/cnn/seed0/gen0", {}, healthy)  # a metrics.json from before the keys
    assert healthy.getvalue() == ""


def collapsing(spec: dict) -> dict:
    """The tiny member with its lr multiplied by 20 after the first epoch (``step`` schedule,
    milestone 1): the network that learned in epoch 1 (loss 1.35 < ln 4) blows up in epoch 2 and
    ends predicting one class, its loss above epoch 1's."""
    spec["recipe"].update(schedule="step", milestones=[1], gamma=20.0)
    return spec


def test_real_trainings_through_the_image_task(tiny_spec, tmp_path):
    from ban.lifecycle import run_member

    healthy = run_member(tiny_spec, tmp_path / "healthy", log=lambda _: None)
    assert healthy["collapsed"] is False and healthy["collapse_reasons"] == []
    collapsed = run_member(collapsing(tiny_spec), tmp_path / "collapsed", log=lambda _: None)
    assert collapsed["collapsed"] is True
    reasons = collapsed["collapse_reasons"]
    assert len(reasons) == 3, reasons
    assert reasons[0].startswith("train error 75.00% is within 5 points of chance (75.00%)")
    assert reasons[1].startswith("100.0% of the test predictions are class")
    assert reasons[2].startswith("the training loss never fell below its first epoch's")
    with np.load(tmp_path / "collapsed/predictions.npz") as saved:
        assert len(np.unique(saved["probs"].argmax(axis=1))) == 1
    assert json.loads((tmp_path / "collapsed/metrics.json").read_text())["collapse_reasons"] == reasons


def test_the_training_job_ends_with_one_warning_line(tiny_spec, tmp_path, monkeypatch, capsys):
    from ban.cli import main

    monkeypatch.setenv("BAN_STORE", "off")
    out = tmp_path / "results/t/cnn/seed0/gen0"
    assert main(["train", "--spec", json.dumps(tiny_spec), "--out", str(out), "--device", "cpu"]) == 0
    assert "warning" not in capsys.readouterr().err
    collapsed = tmp_path / "results/t/cnn/seed0/collapsed"
    assert main(["train", "--spec", json.dumps(collapsing(tiny_spec)), "--out", str(collapsed), "--device", "cpu"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    reasons = json.loads((collapsed / "metrics.json").read_text())["collapse_reasons"]
    assert lines == [f"warning: {collapsed}: collapsed ({'; '.join(reasons)})"]


def test_a_collapsed_training_restored_from_the_store_is_warned_about_too(tiny_spec, tmp_path, monkeypatch, capsys):
    from ban.cli import main

    monkeypatch.setenv("BAN_STORE", str(tmp_path / "store"))
    spec = json.dumps(collapsing(tiny_spec))
    first, second = tmp_path / "results/a/cnn/seed0/gen0", tmp_path / "results/b/cnn/seed0/gen0"
    assert main(["train", "--spec", spec, "--out", str(first), "--device", "cpu"]) == 0
    capsys.readouterr()
    assert main(["train", "--spec", spec, "--out", str(second), "--device", "cpu"]) == 0
    captured = capsys.readouterr()
    assert "restored" in captured.out  # from the store, not trained again
    reasons = json.loads((second / "metrics.json").read_text())["collapse_reasons"]
    assert [line for line in captured.err.splitlines() if line.strip()] == [f"warning: {second}: collapsed ({'; '.join(reasons)})"]
