"""Datasets as whole-split tensors: ``load_dataset(name, ...)`` → ``ImageData`` or ``TextData``.

One registry (``ban.datasets.registry.DATASETS``); the image loaders (``fashion_mnist``,
``cifar10``, ``cifar100``, ``synthetic``) live in ``ban.datasets.image``, the text corpora
(``ptb``, ``wordnet``, ``synthetic_text``) in ``ban.datasets.text``. Importing this package is
cheap (no torch): ``dataset_task(name)`` tells the workflow a dataset's task at DAG time.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ban.datasets.registry import DATASET_TASKS, DATASETS, DatasetError, dataset_task

__all__ = ["DATASETS", "DATASET_TASKS", "DatasetError", "dataset_task", "load_dataset"]


def load_dataset(
    name: str,
    root: str | os.PathLike = "data",
    download: bool = False,
    val_split: float = 0.0,
    seed: int = 0,
    train_subset: int = 0,
    **kwargs: Any,
):
    """Load dataset ``name`` from ``root``; hold out a seeded random ``val_split`` fraction of train.

    The held-out images are removed from ``train_x``/``train_y``; the split is a function of
    ``seed`` only (``seed`` is the hold-out seed, never passed to the loader: give the same one to
    every member of a study). ``kwargs`` go to the dataset's loader (e.g. ``data_seed`` of
    ``synthetic``, ``verify`` of the CIFARs). ``train_subset > 0`` keeps only the first that many
    training images (quick runs and benchmarks). Unknown names raise ``UnknownNameError``.
    """
    from ban.datasets import image, text  # noqa: F401  (the loaders register on import)

    loader, parsed = DATASETS.get(name)
    if not 0.0 <= float(val_split) < 1.0:
        raise DatasetError(f"val_split must be in [0, 1), got {val_split!r}")
    data = loader(root=Path(root), download=bool(download), **parsed, **kwargs)
    if data.task == "text" and (val_split > 0 or train_subset > 0):
        raise DatasetError(f"val_split and train_subset do not apply to text dataset {name!r} (it has its own splits)")
    if val_split > 0:
        data = image.hold_out_validation(data, float(val_split), seed)
    if train_subset > 0:
        data = dataclasses.replace(data, train_x=data.train_x[:train_subset], train_y=data.train_y[:train_subset])
    return data
