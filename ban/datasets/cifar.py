"""CIFAR-10 and CIFAR-100 (``cifar10``, ``cifar100``): torchvision's pickles as ``ImageData``.

File names and md5s are torchvision's (``CIFAR10``/``CIFAR100``); the pickles are read by the
restricted unpickler (``ban.datasets.array_pickle``), so a file that would run code is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ban.datasets.array_pickle import read_array_pickle
from ban.datasets.image import ImageData, fetch, md5_of, normalise_uint8
from ban.datasets.registry import DATASETS, DatasetError

# Per-channel mean/std of the training set's pixels scaled to [0, 1] (population std over all pixels).
CIFAR10_STATS = ((0.4913997, 0.4821584, 0.4465309), (0.2470322, 0.2434851, 0.2615878))
CIFAR100_STATS = ((0.5070752, 0.4865489, 0.4409178), (0.2673343, 0.2564385, 0.2761505))


def _entry(path: Path, *keys: str):
    """``read_array_pickle(path)[key]`` for each key (one value for one key); a file that is no
    mapping holding them raises a one-line ``DatasetError``."""
    loaded = read_array_pickle(path)
    missing = [key for key in keys if not isinstance(loaded, dict) or key not in loaded]
    if missing:
        raise DatasetError(f"{path}: not a CIFAR pickle (no {', '.join(repr(k) for k in missing)})")
    return loaded[keys[0]] if len(keys) == 1 else tuple(loaded[key] for key in keys)


def read_cifar(root: Path, download: bool, verify: bool, hundred: bool) -> ImageData:
    """Read torchvision's CIFAR-10/100 pickles (``data`` uint8 ``[n, 3072]`` in CHW order, labels list).

    File names and md5s come from torchvision's ``CIFAR10``/``CIFAR100`` classes; with ``verify``
    every file's md5 is checked. ``download`` fetches the archive through torchvision when files are missing.
    """
    from torchvision.datasets import CIFAR10, CIFAR100

    spec = CIFAR100 if hundred else CIFAR10
    folder = root / spec.base_folder
    meta_entry = (spec.meta["filename"], spec.meta["md5"])
    listed = list(spec.train_list) + list(spec.test_list) + [meta_entry]
    if download and not all((folder / name).is_file() for name, _ in listed):
        fetch(spec, root, folder)
    missing = [name for name, _ in listed if not (folder / name).is_file()]
    if missing:
        raise DatasetError(
            f"{spec.__name__} files missing in {folder}: {', '.join(missing)} (set download: true to fetch them)"
        )
    if verify:
        for name, md5 in listed:
            if md5_of(folder / name) != md5:
                raise DatasetError(f"checksum mismatch: {folder / name}")

    num_classes = 100 if hundred else 10
    label_key = "fine_labels" if hundred else "labels"
    class_names = _entry(folder / spec.meta["filename"], spec.meta["key"])
    if len(class_names) != num_classes:
        raise DatasetError(f"{folder / spec.meta['filename']} names {len(class_names)} classes, expected {num_classes}")

    mean, std = CIFAR100_STATS if hundred else CIFAR10_STATS
    splits = []
    for file_list in (spec.train_list, spec.test_list):
        pixels, labels = [], []
        for name, _ in file_list:
            data, file_labels = _entry(folder / name, "data", label_key)
            pixels.append(np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32))
            labels.extend(file_labels)
        y = torch.tensor(labels, dtype=torch.int64)
        if y.numel() != sum(p.shape[0] for p in pixels) or (y.numel() and not 0 <= int(y.min()) <= int(y.max()) < num_classes):
            raise DatasetError(f"labels in {folder} do not match the images or lie outside 0..{num_classes - 1}")
        splits.append((normalise_uint8(torch.from_numpy(np.concatenate(pixels)), mean, std), y))
    return ImageData(
        name="cifar100" if hundred else "cifar10",
        train_x=splits[0][0],
        train_y=splits[0][1],
        test_x=splits[1][0],
        test_y=splits[1][1],
        num_classes=num_classes,
        in_channels=3,
        mean=mean,
        std=std,
    )


@DATASETS.register("cifar10")
def load_cifar10(root: Path, download: bool = False, verify: bool = True) -> ImageData:
    """CIFAR-10: 50000/10000 RGB 32x32 images, 10 classes, from ``<root>/cifar-10-batches-py``."""
    return read_cifar(root, download, verify, hundred=False)


@DATASETS.register("cifar100")
def load_cifar100(root: Path, download: bool = False, verify: bool = True) -> ImageData:
    """CIFAR-100: 50000/10000 RGB 32x32 images, 100 fine classes, from ``<root>/cifar-100-python``."""
    return read_cifar(root, download, verify, hundred=True)
