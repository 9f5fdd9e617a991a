"""Leaf helpers every trainer shares: the one-line training error, the device, autocast.

Imports nothing of ``ban``, and torch only inside the functions that use it: ``TrainingError`` is
raised by the recipe checks, which the Snakefile and every job run before (or without) a training.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class TrainingError(ValueError):
    """A run that cannot start or cannot go on (bad recipe, divergence); one-line message."""


def resolve_device(device: str) -> torch.device:
    """``auto`` → CUDA when available, else CPU; a CUDA device without CUDA → ``TrainingError``."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise TrainingError(f"device {device!r} requested but CUDA is not available")
    return torch.device(device)


def precision_in_effect(device: torch.device, precision: str, auto_bf16: bool = True) -> str:
    """``bf16`` when ``precision`` is bf16, or auto on CUDA with ``auto_bf16`` (image models); else ``fp32``."""
    return "bf16" if precision == "bf16" or (auto_bf16 and precision == "auto" and device.type == "cuda") else "fp32"


def autocast(device: torch.device, precision: str, auto_bf16: bool = True):
    """bf16 autocast when ``precision`` is bf16, or auto on CUDA with ``auto_bf16``; fp32 otherwise.

    With ``auto_bf16`` (image models) the weight-cast cache is off: each weight is cast once per
    forward anyway, and a cache would keep casts alive across CUDA graph recordings. Language
    models (``auto_bf16=False``) run fp32 unless bf16 is asked for, with the default cache."""
    if precision_in_effect(device, precision, auto_bf16) == "fp32":
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False if auto_bf16 else None)
