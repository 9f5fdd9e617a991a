"""What every image dataset shares: whole-split tensors (``ImageData``) and the helpers its loaders use.

Every split is held in one float32 tensor ``[N, C, H, W]`` normalised per channel as
``x = (pixel / 255 - mean[c]) / std[c]`` with the dataset's training-set statistics, and one
int64 label tensor ``[N]``. No per-sample ``Dataset``/``DataLoader`` is involved: tensors are
built straight from the raw arrays, and batches are slices of them.

The image loaders, registered in ``DATASETS``: ``fashion_mnist`` (``ban.datasets.fashion_mnist``),
``cifar10`` and ``cifar100`` (``ban.datasets.cifar``), ``synthetic`` (``ban.datasets.synthetic``).
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Optional

import torch

from ban.datasets.registry import DatasetError


@dataclasses.dataclass
class ImageData:
    """All splits of an image classification dataset as tensors.

    ``*_x``: float32 ``[N, C, H, W]``, normalised ``(pixel - mean[c]) / std[c]``; ``*_y``: int64 ``[N]``.
    ``val_x``/``val_y`` are ``None`` unless a validation hold-out was requested; ``clean_train_y``
    is ``None`` unless the training labels carry label noise (it then holds the clean ones).
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int
    in_channels: int
    mean: tuple
    std: tuple
    val_x: Optional[torch.Tensor] = None
    val_y: Optional[torch.Tensor] = None
    task: str = "image"
    clean_train_y: Optional[torch.Tensor] = None

    def to(self, device: torch.device | str) -> "ImageData":
        """A copy whose tensors live on ``device`` (tensors already there are shared, not copied)."""
        moved = {
            field.name: getattr(self, field.name).to(device)
            for field in dataclasses.fields(self)
            if isinstance(getattr(self, field.name), torch.Tensor)
        }
        return dataclasses.replace(self, **moved)


def hold_out_validation(data: ImageData, val_split: float, seed: int) -> ImageData:
    """Move ``round(val_split * N)`` training images, chosen by a permutation seeded with ``seed``, to val."""
    n_train = data.train_y.shape[0]
    n_val = int(round(val_split * n_train))
    if not 0 < n_val < n_train:
        raise DatasetError(f"val_split {val_split} of {n_train} training images leaves an empty split")
    order = torch.randperm(n_train, generator=torch.Generator().manual_seed(int(seed)))
    val_index, train_index = order[:n_val].sort().values, order[n_val:].sort().values
    return dataclasses.replace(
        data,
        train_x=data.train_x[train_index],
        train_y=data.train_y[train_index],
        val_x=data.train_x[val_index],
        val_y=data.train_y[val_index],
    )


def normalise_uint8(pixels: torch.Tensor, mean: tuple, std: tuple) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` -> float32 ``(pixels / 255 - mean[c]) / std[c]``."""
    std_t = torch.tensor(std, dtype=torch.float64)
    scale = (1.0 / (255.0 * std_t)).to(torch.float32).view(1, -1, 1, 1)
    shift = (-torch.tensor(mean, dtype=torch.float64) / std_t).to(torch.float32).view(1, -1, 1, 1)
    return pixels.to(torch.float32).mul_(scale).add_(shift)


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(dataset_class: type, root: Path, folder: Path) -> None:
    """Download through torchvision's ``dataset_class(root, download=True)``; failure is a DatasetError."""
    try:
        dataset_class(str(root), train=True, download=True)
    except Exception as error:  # torchvision raises RuntimeError/URLError/OSError with multi-line text
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DatasetError(f"download of {dataset_class.__name__} into {folder} failed: {first_line}") from None
