"""Shared fixtures: a tiny learnable spec and one torch thread (small ops are faster that way here).

Marked ``slow`` here, by rule: every test under ``tests/workflow/`` (real Snakemake runs) and
``tests/bench/`` (the benchmark scripts: trainings, Snakemake, fresh processes timed), and every
test marked ``torch_process`` (it starts a fresh Python process that imports torch: seconds each).
``pytest -m "not slow"`` (``make test-fast``) runs the rest."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

SLOW_FOLDERS = tuple(Path(__file__).resolve().parent / name for name in ("workflow", "bench"))

TINY_SPEC = {
    "study": "t",
    "lineage": "cnn",
    "seed": 0,
    "member": "gen0",
    "dataset": {"name": "synthetic", "n_train": 256, "n_test": 128, "size": 12, "num_classes": 4, "noise": 1.0},
    "model": {"name": "cnn", "args": {"width": 4, "hidden": 16}},
    "objective": {"name": "ce", "args": {}},
    "recipe": {"epochs": 3, "batch_size": 32, "lr": 0.05, "schedule": "cosine", "augment": True, "crop_padding": 2},
    "train_seed": 0,
}


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_spec():
    """A spec that trains the small CNN on the synthetic dataset in well under a second."""
    return copy.deepcopy(TINY_SPEC)


def pytest_collection_modifyitems(config, items):
    """Mark ``slow`` every collected test whose file lies under one of ``SLOW_FOLDERS`` or that is
    marked ``torch_process``."""
    for item in items:
        path = item.path.resolve()
        if any(path.is_relative_to(folder) for folder in SLOW_FOLDERS) or item.get_closest_marker("torch_process"):
            item.add_marker(pytest.mark.slow)
