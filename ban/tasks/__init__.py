"""Tasks: image classification and language modelling, looked up by name (no torch import here).

A task owns what differs between the two: its recipe, its epoch loop and its scoring live in
``ban.tasks.image`` / ``ban.tasks.text`` (torch, loaded by ``Task.trainer()``); this module holds
the torch-free part that ensembles, tables and plots read — which scores a ``metrics.json`` of
the task carries, which one is the headline, which history key the training curves plot, which
tables a study writes, and how saved predictions average into an ensemble.

Every dataset names its task (``data.task``), and every ``metrics.json`` records it (``task``).

A trainer module is a ``ban.tasks.contract.Trainer`` and its ``Loop`` an ``EpochLoop`` (the
Protocols ``ban.lifecycle``, the lifecycle, calls; a test holds every task to them).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Callable

import numpy as np

from ban.metrics import PROB_FLOOR, classification_scores, perplexity


class UnknownTaskError(ValueError):
    """A task name that is neither ``image`` nor ``text``."""


@dataclass(frozen=True)
class TableScore:
    """A score shown in a table: ``split`` labels its Markdown rows ("" = no label), ``tag`` goes
    between column name and statistic in CSV headers ("" for the main score)."""

    key: str
    split: str = ""
    tag: str = ""


@dataclass(frozen=True)
class TableView:
    """One table a study writes: ``<stem>.{csv,md,tex}`` titled ``title`` showing ``scores``."""

    stem: str
    title: str
    scores: tuple[TableScore, ...]


def average_probs(predictions: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Image ensembles: ``p_ens = mean_k probs_k`` over ``[N, C]`` (float64), scored like one model."""
    mean = np.mean([p["probs"].astype(np.float64) for p in predictions], axis=0)
    return classification_scores(mean, predictions[0]["labels"])


def average_target_probs(predictions: list[dict[str, np.ndarray]]) -> dict[str, float]:
    """Text ensembles: ``p_ens(target) = mean_k target_probs_k``; perplexity ``exp(−mean log p_ens)``."""
    test = np.mean([p["target_probs"].astype(np.float64) for p in predictions], axis=0)
    scores = {"test_ppl": perplexity(test), "test_nll": float(-np.mean(np.log(np.maximum(test, PROB_FLOOR))))}
    if "val_target_probs" in predictions[0]:
        scores["val_ppl"] = perplexity(np.mean([p["val_target_probs"].astype(np.float64) for p in predictions], axis=0))
    return scores


@dataclass(frozen=True)
class Task:
    """The torch-free description of a task (see the module docstring)."""

    name: str
    module: str
    score_keys: tuple[str, ...]
    primary: str
    primary_label: str
    curve_key: str
    curve_label: str
    tables: tuple[TableView, ...]
    paper_splits: tuple[str, ...]
    paper_title: str
    average: Callable[[list[dict[str, np.ndarray]]], dict[str, float]]

    def trainer(self) -> ModuleType:
        """The task's torch module (recipe, epoch loop, scoring)."""
        return importlib.import_module(self.module)


TASKS: dict[str, Task] = {
    "image": Task(
        name="image",
        module="ban.tasks.image",
        score_keys=("test_error", "test_nll", "test_ece"),
        primary="test_error",
        primary_label="test error (%)",
        curve_key="test_error",
        curve_label="test error (%)",
        tables=(
            TableView("table", "Test error (%)", (TableScore("test_error"),)),
            TableView("table_nll", "Test NLL (nats)", (TableScore("test_nll"),)),
            TableView("table_ece", "Test ECE (%, 15 bins)", (TableScore("test_ece"),)),
        ),
        paper_splits=("test",),
        paper_title="test error (%)",
        average=average_probs,
    ),
    "text": Task(
        name="text",
        module="ban.tasks.text",
        score_keys=("val_ppl", "test_ppl", "test_nll"),
        primary="test_ppl",
        primary_label="test perplexity",
        curve_key="val_ppl",
        curve_label="val perplexity",
        tables=(
            TableView(
                "table", "Perplexity (test and val)", (TableScore("test_ppl", "test"), TableScore("val_ppl", "val", "val"))
            ),
        ),
        paper_splits=("test", "val"),
        paper_title="perplexity",
        average=average_target_probs,
    ),
}

ALL_SCORE_KEYS = ("test_error", "test_nll", "test_ece", "val_ppl", "test_ppl")
"""Every score key of every task, in the order the metrics frame holds them."""


def get_task(name: str) -> Task:
    """The task ``name``; else ``UnknownTaskError`` listing the tasks."""
    if name not in TASKS:
        raise UnknownTaskError(f"task must be one of {', '.join(repr(t) for t in TASKS)}; got {name!r}")
    return TASKS[name]


def table_stems(task: str, paper: bool = False) -> list[str]:
    """The table file stems a study of ``task`` writes (``table_paper`` too when it lists the paper's numbers)."""
    return [view.stem for view in get_task(task).tables] + (["table_paper"] if paper else [])
