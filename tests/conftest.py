"""Shared fixtures: a tiny learnable spec and one torch thread (small ops are faster that way here)."""

from __future__ import annotations

import copy

import pytest
import torch

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
