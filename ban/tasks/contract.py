"""The contract between the member lifecycle (``ban.lifecycle``) and a task's trainer module, as
``typing.Protocol`` classes (no torch import): what ``ban.tasks.image`` and ``ban.tasks.text``
provide and ``ban.lifecycle`` calls. ``tests/tasks/test_contract.py`` holds every task to it.

A trainer module (``Task.trainer()``) is a :class:`Trainer`: its ``Recipe`` turns the spec's
recipe dict into a checked recipe, ``model_info``/``build``/``prepare`` make the model,
``load_teacher`` reads a teacher's ``model.pt``, ``score`` scores a model that is not trained
(an imported teacher, ``ban evaluate``), and ``Loop`` runs the epochs as an :class:`EpochLoop`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


class EpochLoop(Protocol):
    """One training's epochs: per epoch ``train_epoch`` (the history row's training part), then
    ``end_epoch`` (schedule, held-out scores; the completed row); ``state_dict`` /
    ``load_state_dict`` and ``generators`` are what ``resume.pt`` keeps; ``final_scores`` gives the
    scores and the predictions of the finished member from its epochs' ``history`` rows."""

    generators: dict[str, Any]
    divergence_hint: str

    def describe(self) -> str: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...

    def train_epoch(self, epoch: int) -> dict: ...

    def end_epoch(self, epoch: int, row: dict, history: list[dict]) -> dict: ...

    def epoch_line(self, row: dict, epochs: int) -> str: ...

    def final_scores(self, history: list[dict]) -> tuple[dict, dict]: ...


class Trainer(Protocol):
    """A task's trainer module (see the module docstring)."""

    Recipe: Any
    Loop: Any  # Loop(model, teacher, objective, objective_args, recipe, data, device, seed) -> EpochLoop

    def model_info(self, spec: dict, data: Any) -> dict: ...

    def build(self, info: dict, data: Any) -> Any: ...

    def prepare(self, model: Any, recipe: Any, device: Any) -> Any: ...

    def load_teacher(self, path: Path, data: Any, recipe: Any, device: Any) -> Any: ...

    def score(self, model: Any, data: Any, recipe: dict, device: Any) -> tuple[dict, dict]: ...


LOOP_ARGUMENTS = ("model", "teacher", "objective", "objective_args", "recipe", "data", "device", "seed")
"""The arguments ``ban.lifecycle`` constructs a task's ``Loop`` with, in order."""
