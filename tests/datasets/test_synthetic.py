"""The generated image dataset ``synthetic`` (ban/datasets/synthetic.py)."""

import pytest
import torch

from ban.datasets import DatasetError, load_dataset


def test_synthetic_is_deterministic_with_shapes():
    first = load_dataset("synthetic", n_train=64, n_test=32, channels=3, size=12, num_classes=5)
    second = load_dataset("synthetic", n_train=64, n_test=32, channels=3, size=12, num_classes=5)
    assert first.train_x.shape == (64, 3, 12, 12) and first.test_x.shape == (32, 3, 12, 12)
    assert first.train_x.dtype == torch.float32 and first.train_y.dtype == torch.int64
    assert (first.num_classes, first.in_channels, len(first.mean), len(first.std)) == (5, 3, 3, 3)
    for field in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(first, field), getattr(second, field))
    other = load_dataset("synthetic", n_train=64, n_test=32, channels=3, size=12, num_classes=5, data_seed=7)
    assert not torch.equal(first.train_x, other.train_x)
    assert set(first.train_y.tolist()) == set(range(5))


def test_synthetic_is_normalised_and_learnable():
    data = load_dataset("synthetic")
    assert data.train_x.mean(dim=(0, 2, 3)).abs().max() < 1e-5
    assert (data.train_x.std(dim=(0, 2, 3), unbiased=False) - 1).abs().max() < 1e-4
    class_means = torch.stack([data.train_x[data.train_y == k].mean(0) for k in range(data.num_classes)])
    predicted = torch.cdist(data.test_x.flatten(1), class_means.flatten(1)).argmin(1)
    assert (predicted == data.test_y).float().mean() > 0.9


def test_bad_synthetic_kwargs_are_rejected():
    with pytest.raises(DatasetError, match="synthetic needs"):
        load_dataset("synthetic", num_classes=0)
