"""Datasets as whole-split tensors: ``load_dataset(name, ...)`` → ``ImageData`` or ``TextData``.

One registry (``ban.datasets.registry.DATASETS``), filled by the loader modules
(``import_loaders``): the image datasets ``fashion_mnist`` (``ban.datasets.fashion_mnist``),
``cifar10`` and ``cifar100`` (``ban.datasets.cifar``) and ``synthetic`` (``ban.datasets.synthetic``),
which share ``ban.datasets.image``; the text corpora (``ptb``, ``wordnet``, ``synthetic_text``) in
``ban.datasets.text``. Importing this package is cheap (no torch): ``dataset_task(name)`` tells the
workflow a dataset's task at DAG time.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ban.datasets.noise import LabelNoiseError, check_label_noise, noisy_labels
from ban.datasets.registry import DATASET_TASKS, DATASETS, DatasetError, dataset_task

__all__ = ["DATASETS", "DATASET_TASKS", "DatasetError", "dataset_task", "import_loaders", "load_dataset", "stratified_subset"]


def import_loaders() -> None:
    """Import every loader module: each registers its datasets in ``DATASETS`` on import."""
    from ban.datasets import cifar, fashion_mnist, synthetic, text  # noqa: F401


def load_dataset(
    name: str,
    root: str | os.PathLike = "data",
    download: bool = False,
    val_split: float = 0.0,
    seed: int = 0,
    train_subset: int = 0,
    subset_seed: str | int = "first",
    label_noise: dict | None = None,
    **kwargs: Any,
):
    """Load dataset ``name`` from ``root``; hold out a seeded random ``val_split`` fraction of train.

    The held-out images are removed from ``train_x``/``train_y``; the split is a function of
    ``seed`` only (``seed`` is the hold-out seed, never passed to the loader: give the same one to
    every member of a study). ``kwargs`` go to the dataset's loader (e.g. ``data_seed`` of
    ``synthetic``, ``verify`` of the CIFARs). ``train_subset > 0`` keeps that many training
    images: with ``subset_seed: "first"`` (the default) the first ones; with an integer
    ``subset_seed`` (a study's ``per_seed``: the study seed) a class-stratified random subset,
    ``stratified_subset``. ``label_noise: {rate, kind, seed}`` (image datasets) then corrupts the
    training and validation labels (``ban.datasets.noise``; the workflow sets ``seed`` to the study
    seed, so every member of a seed sees the same noisy labels) and keeps the clean training labels
    as ``clean_train_y``; test labels stay clean. Unknown names raise ``UnknownNameError``.
    """
    from ban.datasets.image import hold_out_validation

    import_loaders()
    loader, parsed = DATASETS.get(name)
    if not 0.0 <= float(val_split) < 1.0:
        raise DatasetError(f"val_split must be in [0, 1), got {val_split!r}")
    data = loader(root=Path(root), download=bool(download), **parsed, **kwargs)
    if data.task == "text" and (val_split > 0 or train_subset > 0):
        raise DatasetError(f"val_split and train_subset do not apply to text dataset {name!r} (it has its own splits)")
    if val_split > 0:
        data = hold_out_validation(data, float(val_split), seed)
    if subset_seed != "first" and (isinstance(subset_seed, bool) or not isinstance(subset_seed, int) or subset_seed < 0):
        raise DatasetError(f"subset_seed must be 'first' or a seed (a non-negative integer), got {subset_seed!r}")
    if subset_seed != "first" and not 0 < train_subset < len(data.train_y):
        raise DatasetError(f"subset_seed {subset_seed!r} draws a subset: train_subset must be between 1 and the "
                           f"{len(data.train_y)} training images, got {train_subset}")
    if train_subset > 0 and subset_seed == "first":
        data = dataclasses.replace(data, train_x=data.train_x[:train_subset], train_y=data.train_y[:train_subset])
    elif train_subset > 0:
        keep = stratified_subset(data.train_y.numpy(), train_subset, subset_seed)  # numpy indices index tensors too
        data = dataclasses.replace(data, train_x=data.train_x[keep], train_y=data.train_y[keep])
    if label_noise is not None:
        data = add_label_noise(data, label_noise)
    return data


def add_label_noise(data, label_noise: dict):
    """``data`` with noisy training (and validation) labels and the clean ones in ``clean_train_y``."""
    if data.task != "image":
        raise DatasetError(f"label_noise applies to image datasets, not to text dataset {data.name!r}")
    try:
        rate, kind, seed = check_label_noise(label_noise)
        splits = [data.train_y] + ([data.val_y] if data.val_y is not None else [])
        noisy = noisy_labels([y.numpy() for y in splits], data.num_classes, rate, kind, seed)
    except LabelNoiseError as err:
        raise DatasetError(str(err)) from None
    changed = {"train_y": data.train_y.new_tensor(noisy[0]), "clean_train_y": data.train_y}
    if data.val_y is not None:
        changed["val_y"] = data.val_y.new_tensor(noisy[1])
    return dataclasses.replace(data, **changed)


SUBSET_STREAM = 0x5B5E7
"""The entropy word that sets the subset draw's stream apart from every other use of a seed."""


def stratified_subset(labels, size: int, seed: int):
    """Sorted indices of a class-stratified random subset of ``size`` of ``labels`` (numpy ints).

    Class c, with ``n_c`` of the ``N`` labels, gets ``floor(size · n_c / N)`` indices, and the
    ``size − Σ floor`` classes with the largest remainders one more (ties: the lower class); each
    class's indices are drawn without replacement by ``numpy.random.default_rng(SeedSequence([seed,
    SUBSET_STREAM]))``, class by class in class order."""
    import numpy as np

    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    exact = size * counts / len(labels)
    quota = np.floor(exact).astype(np.int64)
    extra = size - int(quota.sum())
    order = sorted(range(len(classes)), key=lambda i: (-(exact[i] - quota[i]), classes[i]))
    quota[order[:extra]] += 1
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), SUBSET_STREAM]))
    chosen = [rng.choice(np.flatnonzero(labels == c), size=int(q), replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(chosen))
