"""Reading a member's ``predictions.npz`` (numpy only): every array, or one line naming the file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


class PredictionsError(ValueError):
    """A predictions file that cannot be read; ``reason`` says why without the path."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.reason = reason


def load_predictions(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of ``path`` loaded into memory; a missing, truncated or foreign file raises
    ``PredictionsError`` ("unreadable predictions (<error type>)")."""
    try:
        with np.load(path) as arrays:
            return {key: arrays[key] for key in arrays.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise PredictionsError(Path(path), f"unreadable predictions ({type(err).__name__})") from None
