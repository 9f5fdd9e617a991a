"""Collapse detection: whether a trained member learned nothing usable (no torch import).

A trained member is *collapsed* when at least one of these holds, each checked where its input
exists:

- **chance**: its final eval-mode ``train_error`` (image task) is within ``CHANCE_MARGIN`` points
  of chance, ``train_error ≥ 100·(1 − 1/C) − CHANCE_MARGIN`` for ``C`` classes;
- **one class**: more than ``ONE_CLASS_SHARE`` of its test predictions (argmax) are one class
  (image task; the language model's predictions hold only the true tokens' probabilities);
- **no progress**: its training loss never falls below its first epoch's,
  ``min(train_loss of epochs 2..E) ≥ train_loss of epoch 1`` (``E ≥ 2`` epochs; every task).

``collapse_reasons`` names each rule that holds in one line; ``collapse_scores`` gives the
``metrics.json`` keys ``collapsed`` and ``collapse_reasons``; ``warn_if_collapsed`` prints the
training job's one-line warning.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import numpy as np

CHANCE_MARGIN = 5.0
"""Points (%) below chance error, ``100·(1 − 1/C)``, at or above which a final ``train_error``
means the member did not fit its training data: collapsed when
``train_error ≥ 100·(1 − 1/C) − CHANCE_MARGIN``."""

ONE_CLASS_SHARE = 0.95
"""Share of the test predictions (argmax) above which one class means a collapsed member:
collapsed when ``max_c count(argmax = c) / N > ONE_CLASS_SHARE``."""


def chance_error(num_classes: int) -> float:
    """Error (%) of a constant guess among ``num_classes`` balanced classes: ``100·(1 − 1/C)``."""
    return 100.0 * (num_classes - 1) / num_classes


def collapse_reasons(scores: dict, history: list[dict], num_classes: int,
                     predicted_classes: Sequence[int] | np.ndarray | None) -> list[str]:
    """The rules of the module docstring that hold, one human-readable line each; empty when the
    member is healthy. ``scores``: the final scores (``train_error`` when the task has one);
    ``history``: the per-epoch rows (``train_loss``); ``predicted_classes``: the test
    predictions' argmax classes, ``None`` where the task has none."""
    reasons = []
    train_error = scores.get("train_error")
    if train_error is not None:
        chance = chance_error(num_classes)
        if train_error >= chance - CHANCE_MARGIN:
            reasons.append(f"train error {train_error:.2f}% is within {CHANCE_MARGIN:g} points of chance ({chance:.2f}%)")
    if predicted_classes is not None and len(predicted_classes):
        counts = np.bincount(np.asarray(predicted_classes, dtype=np.int64), minlength=num_classes)
        top = int(counts.argmax())
        share = int(counts[top]) / int(counts.sum())
        if share > ONE_CLASS_SHARE:
            reasons.append(f"{100.0 * share:.1f}% of the test predictions are class {top} "
                           f"(more than {100.0 * ONE_CLASS_SHARE:g}%)")
    losses = [row["train_loss"] for row in history if "train_loss" in row]
    if len(losses) >= 2 and min(losses[1:]) >= losses[0]:
        reasons.append(f"the training loss never fell below its first epoch's ({losses[0]:.4g}; "
                       f"lowest later {min(losses[1:]):.4g})")
    return reasons


def collapse_scores(scores: dict, history: list[dict], num_classes: int,
                    predicted_classes: Sequence[int] | np.ndarray | None) -> dict:
    """``{"collapsed": bool, "collapse_reasons": [...]}`` of a trained member (``collapse_reasons``)."""
    reasons = collapse_reasons(scores, history, num_classes, predicted_classes)
    return {"collapsed": bool(reasons), "collapse_reasons": reasons}


def warn_if_collapsed(folder: str | Path, metrics: dict, stream: TextIO | None = None) -> None:
    """Print ``warning: <folder>: collapsed (<reasons>)`` on one line (stderr by default) when
    ``metrics`` says the member collapsed."""
    if metrics.get("collapsed"):
        reasons = "; ".join(metrics.get("collapse_reasons", [])) or "see metrics.json"
        print(f"warning: {folder}: collapsed ({reasons})", file=stream or sys.stderr, flush=True)
