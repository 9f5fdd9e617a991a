"""The tasks' recipes (no torch import): ``ImageRecipe`` and ``TextRecipe``, their construction
from a config dict with the checks, and ``recipe_with_defaults``, the recipe a spec asks for with
every default spelled out (what a training's identity hashes, ``ban.identity``)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Optional, TypeVar

from ban.runtime import TrainingError

R = TypeVar("R")

PRECISIONS = ("auto", "fp32", "bf16")


def recipe_from_dict(cls: type[R], values: dict, label: str = "recipe") -> R:
    """``cls(**values)`` after refusing unknown keys; then the checks every recipe needs:
    ``epochs`` a positive integer and ``precision`` one of ``PRECISIONS``. Raises a one-line
    ``TrainingError`` naming the key (``label`` names the recipe kind in the unknown-key message)."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TrainingError(f"unknown {label} key(s) {unknown}; valid: {sorted(known)}")
    recipe = cls(**values)
    if not isinstance(recipe.epochs, int) or recipe.epochs < 1:
        raise TrainingError(f"recipe.epochs must be a positive integer, got {recipe.epochs!r}")
    if recipe.precision not in PRECISIONS:
        raise TrainingError(f"recipe.precision must be one of {', '.join(PRECISIONS)}; got {recipe.precision!r}")
    return recipe


def require(condition: bool, message: str) -> None:
    """Raise ``TrainingError(message)`` unless ``condition``."""
    if not condition:
        raise TrainingError(message)


SCHEDULES = ("step", "cosine", "constant")
SELECTIONS = ("last", "best_val")


@dataclass
class ImageRecipe:
    """SGD recipe; the defaults are the paper's (Nesterov 0.9, wd 5e-4 on every parameter, lr 0.1 × 0.2
    at milestones, batch 128, crop + flip).

    ``decay_norm_and_bias: false`` is an opt-in deviation: weight decay then skips every 1-D
    parameter (BatchNorm scales and shifts, biases), as many modern recipes do; the paper's
    Wide-ResNet recipe decays them all.

    ``select`` chooses the weights a member keeps: ``last`` (the paper's: those after the last
    epoch) or ``best_val`` (early stopping: those after the epoch with the lowest error on the
    validation split, ``dataset.val_split``; the earliest such epoch). The test set never chooses."""

    epochs: int = 200
    batch_size: int = 128
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    decay_norm_and_bias: bool = True
    schedule: str = "step"
    milestones: list[int] = field(default_factory=lambda: [60, 120, 160])
    gamma: float = 0.2
    augment: bool = True
    crop_padding: int = 4
    precision: str = "auto"
    channels_last: str | bool = "auto"
    cuda_graphs: str | bool = "auto"
    eval_batch_size: int = 1024
    eval_every: int = 1
    select: str = "last"

    @classmethod
    def from_dict(cls, values: dict) -> "ImageRecipe":
        recipe = recipe_from_dict(cls, values)
        require(recipe.batch_size >= 1 and recipe.lr > 0, "recipe.batch_size and recipe.lr must be positive")
        require(isinstance(recipe.eval_every, int) and recipe.eval_every >= 1,
                f"recipe.eval_every must be a positive integer, got {recipe.eval_every!r}")
        require(recipe.schedule in SCHEDULES, f"recipe.schedule must be one of {', '.join(SCHEDULES)}; got {recipe.schedule!r}")
        require(recipe.select in SELECTIONS, f"recipe.select must be one of {', '.join(SELECTIONS)}; got {recipe.select!r}")
        for key in ("channels_last", "cuda_graphs"):
            value = getattr(recipe, key)
            require(value in ("auto", True, False), f"recipe.{key} must be auto, true or false; got {value!r}")
        return recipe

    def evaluates(self, epoch: int) -> bool:
        """Whether the test set is scored after epoch ``epoch`` (1-based): every ``eval_every``-th
        epoch and always the last."""
        return epoch % self.eval_every == 0 or epoch == self.epochs

    def lr_factor(self, epoch: int) -> float:
        """Multiplier of ``lr`` during epoch ``epoch`` (0-based)."""
        if self.schedule == "step":
            return self.gamma ** sum(epoch >= m for m in self.milestones)
        if self.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * epoch / self.epochs))
        return 1.0


@dataclass
class TextRecipe:
    """SGD recipe of a language model; defaults are the paper's LSTM recipe (batch 32, lr 1 × 0.25 on plateau)."""

    epochs: int = 40
    batch_size: int = 32
    lr: float = 1.0
    momentum: float = 0.0
    weight_decay: float = 0.0
    bptt: int = 35
    clip: float = 5.0
    sum_over_steps: bool = True
    schedule: str = "plateau"
    plateau_factor: float = 0.25
    plateau_threshold: float = 0.0
    eval_batch_size: int = 10
    precision: str = "fp32"

    @classmethod
    def from_dict(cls, values: dict) -> "TextRecipe":
        recipe = recipe_from_dict(cls, values, "text recipe")
        require(min(recipe.batch_size, recipe.bptt, recipe.eval_batch_size) >= 1 and recipe.lr > 0 and recipe.clip > 0,
                "recipe.batch_size, bptt, eval_batch_size, lr and clip must be positive")
        require(recipe.schedule in ("plateau", "constant"), f"text recipe.schedule must be plateau or constant, got {recipe.schedule!r}")
        require(0 < recipe.plateau_factor <= 1 and recipe.plateau_threshold >= 0,
                "recipe.plateau_factor must be in (0, 1] and plateau_threshold >= 0")
        return recipe

    def decays(self, previous_ppl: Optional[float], ppl: float) -> bool:
        """Whether the lr is multiplied by ``plateau_factor`` after an epoch ending at ``ppl``."""
        if self.schedule != "plateau" or previous_ppl is None:
            return False
        improvement = previous_ppl - ppl
        return improvement <= 0 or improvement < self.plateau_threshold


RECIPES = {"image": ImageRecipe, "text": TextRecipe}
"""The recipe of each task (``ban.tasks``)."""


def recipe_with_defaults(task: str, values: dict) -> dict:
    """``values`` over the defaults of ``task``'s recipe: ``{"weight_decay": 5e-4}`` and ``{}`` give
    the same dict for an image member. Keys the recipe does not know are kept as they are (the
    recipe's own checks refuse them); an unknown task returns ``values`` unchanged."""
    recipe = RECIPES.get(task)
    if recipe is None:
        return dict(values)
    return {**asdict(recipe()), **values}
