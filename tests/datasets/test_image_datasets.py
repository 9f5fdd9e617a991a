"""What the image datasets share (ban/datasets/image.py) and load_dataset's registry, hold-out and subsets."""

import numpy as np
import pytest
import torch

from ban.datasets import DATASETS, DatasetError, import_loaders, load_dataset
from ban.datasets.image import ImageData
from ban.registry import UnknownNameError


def test_import_loaders_registers_every_image_dataset():
    import_loaders()
    assert {"fashion_mnist", "cifar10", "cifar100", "synthetic"} <= set(DATASETS.names())


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="fashion_mnist.*synthetic|synthetic.*fashion_mnist"):
        load_dataset("mnist-ish")


def test_val_split_holds_out_disjoint_seeded_subset():
    full = load_dataset("synthetic")
    split = load_dataset("synthetic", val_split=0.25, seed=1)
    assert split.train_x.shape[0] == 384 and split.val_x.shape[0] == 128 and split.val_y.shape == (128,)
    assert torch.equal(split.test_x, full.test_x)

    def positions(x):  # index of each row in the full training set (rows are distinct)
        distance = torch.cdist(x.flatten(1), full.train_x.flatten(1), compute_mode="donot_use_mm_for_euclid_dist")
        assert distance.min(1).values.max() < 1e-4
        return distance.argmin(1)

    train_at, val_at = positions(split.train_x), positions(split.val_x)
    assert set(train_at.tolist()).isdisjoint(val_at.tolist())
    assert sorted(train_at.tolist() + val_at.tolist()) == list(range(512))
    assert torch.equal(split.val_y, full.train_y[val_at]) and torch.equal(split.train_y, full.train_y[train_at])
    assert torch.equal(load_dataset("synthetic", val_split=0.25, seed=1).val_x, split.val_x)
    assert not torch.equal(load_dataset("synthetic", val_split=0.25, seed=2).val_x, split.val_x)


def test_per_seed_subsets_are_class_stratified_seeded_draws_and_first_is_unchanged():
    full = load_dataset("synthetic", num_classes=3)  # 512 training images
    first = load_dataset("synthetic", num_classes=3, train_subset=100)
    assert torch.equal(first.train_x, full.train_x[:100]) and torch.equal(first.train_y, full.train_y[:100])
    counts = torch.bincount(full.train_y, minlength=3).numpy()
    for seed in (0, 1):
        drawn = load_dataset("synthetic", num_classes=3, train_subset=100, subset_seed=seed)
        # largest-remainder quotas of 100 · n_c / 512
        exact = 100 * counts / 512
        got = torch.bincount(drawn.train_y, minlength=3).numpy()
        assert got.sum() == 100 and np.all(np.abs(got - exact) < 1) and np.all(got >= np.floor(exact))
        again = load_dataset("synthetic", num_classes=3, train_subset=100, subset_seed=seed)
        assert torch.equal(again.train_x, drawn.train_x)  # a seed always draws the same images
        rows = torch.cdist(drawn.train_x.flatten(1), full.train_x.flatten(1)).argmin(1)
        assert rows.tolist() == sorted(set(rows.tolist())) and torch.equal(full.train_y[rows], drawn.train_y)
        assert torch.equal(drawn.test_x, full.test_x)  # the test set is never subsampled
    other = load_dataset("synthetic", num_classes=3, train_subset=100, subset_seed=1)
    assert not torch.equal(load_dataset("synthetic", num_classes=3, train_subset=100, subset_seed=0).train_x, other.train_x)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"subset_seed": 0}, "train_subset must be between 1 and the 512"),
    ({"subset_seed": -1, "train_subset": 10}, "subset_seed must be 'first' or a seed"),
    ({"subset_seed": "per_seed", "train_subset": 10}, "subset_seed must be 'first' or a seed"),
])
def test_bad_subset_seeds_are_rejected(kwargs, message):
    with pytest.raises(DatasetError, match=message):
        load_dataset("synthetic", **kwargs)


@pytest.mark.parametrize("val_split", [-0.1, 1.0, 0.0001])
def test_bad_val_split_is_rejected(val_split):
    with pytest.raises(DatasetError, match="val_split"):
        load_dataset("synthetic", val_split=val_split)


def test_to_moves_all_tensors():
    data = load_dataset("synthetic", n_train=16, n_test=8, val_split=0.25)
    moved = data.to("meta")
    assert isinstance(moved, ImageData)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert getattr(moved, field).device.type == "meta"
        assert getattr(data, field).device.type == "cpu"
    assert (moved.num_classes, moved.mean) == (data.num_classes, data.mean)
