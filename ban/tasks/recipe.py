"""What both tasks' recipes share: construction from a config dict and the common checks."""

from __future__ import annotations

from dataclasses import fields
from typing import TypeVar

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
