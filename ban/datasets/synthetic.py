"""The generated image dataset ``synthetic``: learnable class prototypes plus noise, as ``ImageData``.

Its arguments decide every value (``ban.datasets.files``: its data digest is ``"generated"``).
The generated text corpus ``synthetic_text`` is in ``ban.datasets.text``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ban.datasets.image import ImageData
from ban.datasets.registry import DATASETS, DatasetError

SYNTHETIC_MAX_VALUES = 2**30
"""The most float32 values ``synthetic`` makes (images and class prototypes, 4 GiB): a larger
dataset is a typo in its sizes, and would fail in an allocation deep in torch."""


@DATASETS.register("synthetic")
def load_synthetic(
    root: Path | None = None,
    download: bool = False,
    n_train: int = 512,
    n_test: int = 256,
    channels: int = 1,
    size: int = 16,
    num_classes: int = 4,
    noise: float = 1.0,
    data_seed: int = 1234,
) -> ImageData:
    """Deterministic learnable images: ``x = prototype[y] + noise * N(0, 1)``, then normalised.

    Each class prototype is a ``[channels, 4, 4]`` standard normal pattern (from a generator seeded
    with ``data_seed``) bilinearly upsampled to ``size x size``, so it is smooth and survives small shifts.
    Labels are balanced (``i % num_classes``) and shuffled. Mean/std are the train set's per channel.
    """
    if min(n_train, n_test, channels, num_classes) < 1 or size < 4 or noise < 0:
        raise DatasetError(
            f"synthetic needs n_train, n_test, channels, num_classes >= 1, size >= 4, noise >= 0; "
            f"got {n_train}, {n_test}, {channels}, {num_classes}, {size}, {noise}"
        )
    values = (n_train + n_test + num_classes) * channels * size * size
    if values > SYNTHETIC_MAX_VALUES:
        raise DatasetError(
            f"synthetic: n_train {n_train} + n_test {n_test} images and num_classes {num_classes} prototypes of "
            f"{channels}x{size}x{size} are {values} values, more than 2^30 (4 GiB of float32); lower n_train, n_test, channels or size"
        )
    generator = torch.Generator().manual_seed(int(data_seed))
    coarse = torch.randn(num_classes, channels, 4, 4, generator=generator)
    prototypes = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=True)

    def sample(count: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = (torch.arange(count) % num_classes)[torch.randperm(count, generator=generator)]
        images = prototypes[labels] + noise * torch.randn(count, channels, size, size, generator=generator)
        return images, labels.to(torch.int64)

    train_x, train_y = sample(int(n_train))
    test_x, test_y = sample(int(n_test))
    mean_t = train_x.mean(dim=(0, 2, 3), keepdim=True)
    std_t = train_x.std(dim=(0, 2, 3), keepdim=True, unbiased=False).clamp_min(1e-8)
    return ImageData(
        name="synthetic",
        train_x=(train_x - mean_t) / std_t,
        train_y=train_y,
        test_x=(test_x - mean_t) / std_t,
        test_y=test_y,
        num_classes=int(num_classes),
        in_channels=int(channels),
        mean=tuple(mean_t.flatten().tolist()),
        std=tuple(std_t.flatten().tolist()),
    )
