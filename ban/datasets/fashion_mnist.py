"""Fashion-MNIST (``fashion_mnist``): the four IDX files, checked and staged, as ``ImageData``.

The files are taken from ``<root>/FashionMNIST/raw``, else from the ``.gz`` files of the Debian
package ``dataset-fashion-mnist`` (``$BAN_SYSTEM_DATA`` overrides its folder), else downloaded
through torchvision when ``download`` is set; every one is checked against ``FASHION_MNIST_FILES``.
"""

from __future__ import annotations

import gzip
import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import torch

from ban.datasets.files import FASHION_MNIST_FILES
from ban.datasets.image import ImageData, fetch, md5_of, normalise_uint8
from ban.datasets.registry import DATASETS, DatasetError
from ban.files import atomic_write

SYSTEM_DATA_ENV = "BAN_SYSTEM_DATA"
"""Environment variable overriding the folder of the Debian package ``dataset-fashion-mnist``."""

DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# Per-channel mean/std of the training set's pixels scaled to [0, 1] (population std over all pixels).
FASHION_MNIST_STATS = ((0.2860406,), (0.3530242,))


def system_fashion_mnist_dir() -> Path:
    """Folder of the Debian package's ``*-ubyte.gz`` files (``$BAN_SYSTEM_DATA`` overrides it)."""
    return Path(os.environ.get(SYSTEM_DATA_ENV) or DEBIAN_FASHION_MNIST_DIR)


def stage_gzip(source: Path, target: Path, md5: str) -> None:
    """Decompress ``source`` to ``target`` atomically (``ban.files.atomic_write``), checking ``md5`` of the result."""

    def decompress(tmp: Path) -> None:
        with open(tmp, "wb") as out, gzip.open(source, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 22)
        if md5_of(tmp) != md5:
            raise DatasetError(f"checksum mismatch: {source} (decompressed)")

    try:
        atomic_write(target, decompress)
    except (OSError, EOFError, zlib.error) as error:
        raise DatasetError(f"cannot decompress {source}: {error}") from None


def ensure_fashion_mnist_files(root: Path, download: bool) -> Path:
    """Make ``<root>/FashionMNIST/raw/<idx files>`` exist with the right checksums; return that folder.

    Each file is taken, in order, from: the raw folder itself (checked); a ``.gz`` there or in the
    system folder (gzip checked, then decompressed and checked); torchvision's download if allowed.
    """
    raw = root / "FashionMNIST" / "raw"
    system = system_fashion_mnist_dir()
    missing = []
    for name, sums in FASHION_MNIST_FILES.items():
        staged = raw / name
        if staged.exists():
            if md5_of(staged) != sums["md5"]:
                raise DatasetError(f"checksum mismatch: {staged}")
            continue
        source = next((d / f"{name}.gz" for d in (raw, system) if (d / f"{name}.gz").is_file()), None)
        if source is None:
            missing.append(name)
            continue
        if md5_of(source) not in sums["gz_md5"]:
            raise DatasetError(f"checksum mismatch: {source}")
        raw.mkdir(parents=True, exist_ok=True)
        stage_gzip(source, staged, sums["md5"])
    if missing and download:
        from torchvision.datasets import FashionMNIST

        fetch(FashionMNIST, root, raw)
        return ensure_fashion_mnist_files(root, download=False)
    if missing:
        raise DatasetError(
            f"Fashion-MNIST not found under {raw} or {system} (missing {', '.join(missing)}); "
            f"install the package dataset-fashion-mnist or set download: true"
        )
    return raw


IDX_UBYTE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """An IDX file of unsigned bytes (``0 0 0x08 ndim``, ``ndim`` big-endian int32 sizes, then the
    data) as a numpy array, read in one call (the staged files are flat: milliseconds, no torchvision)."""
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE:
        raise DatasetError(f"{path}: not an IDX file of unsigned bytes")
    ndim = int(raw[3])
    shape = tuple(int(size) for size in raw[4 : 4 + 4 * ndim].view(">i4"))
    data = raw[4 + 4 * ndim :]
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"{path}: IDX header says {shape}, the file holds {data.size} values")
    return data.reshape(shape)


@DATASETS.register("fashion_mnist")
def load_fashion_mnist(root: Path, download: bool = False) -> ImageData:
    """Fashion-MNIST: 60000/10000 grey 28x28 images, 10 classes, from the checked IDX files."""
    raw = ensure_fashion_mnist_files(root, download)
    mean, std = FASHION_MNIST_STATS
    splits = {}
    for train, prefix in ((True, "train"), (False, "t10k")):
        images = torch.from_numpy(read_idx(raw / f"{prefix}-images-idx3-ubyte").copy())
        labels = torch.from_numpy(read_idx(raw / f"{prefix}-labels-idx1-ubyte").astype(np.int64))
        splits[train] = (normalise_uint8(images.unsqueeze(1), mean, std), labels)
    return ImageData(
        name="fashion_mnist",
        train_x=splits[True][0],
        train_y=splits[True][1],
        test_x=splits[False][0],
        test_y=splits[False][1],
        num_classes=10,
        in_channels=1,
        mean=mean,
        std=std,
    )
