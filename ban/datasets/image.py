"""Image datasets as whole-split tensors (``ImageData``), registered in ``DATASETS``.

Every split is held in one float32 tensor ``[N, C, H, W]`` normalised per channel as
``x = (pixel / 255 - mean[c]) / std[c]`` with the dataset's training-set statistics, and one
int64 label tensor ``[N]``. No per-sample ``Dataset``/``DataLoader`` is involved: tensors are
built straight from the raw arrays, and batches are slices of them.

Registered datasets: ``fashion_mnist``, ``cifar10``, ``cifar100``, ``synthetic``.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
import pickle
import shutil
import zlib
from pathlib import Path
from typing import Optional

import numpy as np
import torch

from ban.datasets.files import FASHION_MNIST_FILES
from ban.datasets.registry import DATASETS, DatasetError
from ban.files import atomic_write

SYSTEM_DATA_ENV = "BAN_SYSTEM_DATA"
"""Environment variable overriding the folder of the Debian package ``dataset-fashion-mnist``."""

DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"

# Per-channel mean/std of the training set's pixels scaled to [0, 1] (population std over all pixels).
FASHION_MNIST_STATS = ((0.2860406,), (0.3530242,))
CIFAR10_STATS = ((0.4913997, 0.4821584, 0.4465309), (0.2470322, 0.2434851, 0.2615878))
CIFAR100_STATS = ((0.5070752, 0.4865489, 0.4409178), (0.2673343, 0.2564385, 0.2761505))


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


# ----------------------------------------------------------------------------- Fashion-MNIST


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


# ----------------------------------------------------------------------------- CIFAR


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles of ``bytes`` call it (latin-1 only)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin-1")


def _pickle_globals() -> dict[tuple[str, str], object]:
    """The only callables and classes an array pickle may name: numpy's ndarray reconstruction
    (``numpy.core`` in numpy 1 and Python 2 pickles, ``numpy._core`` in numpy 2), ``dtype``, the
    builtin containers that older protocols build by a call, and latin-1 ``_codecs.encode``."""
    try:
        import numpy._core as core  # numpy 2
    except ImportError:  # numpy 1
        import numpy.core as core
    allowed: dict[tuple[str, str], object] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _latin1_encode,
    }
    for package in ("numpy.core", "numpy._core"):
        allowed[(f"{package}.multiarray", "_reconstruct")] = core.multiarray._reconstruct
        allowed[(f"{package}.numeric", "_frombuffer")] = core.numeric._frombuffer
    for module in ("builtins", "__builtin__"):
        for kind in (set, frozenset, bytes, bytearray, complex):
            allowed[(module, kind.__name__)] = kind
    return allowed


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds numpy arrays, dtypes, containers, strings, bytes and numbers only:
    any other global a pickle names (``os.system`` in a ``__reduce__``) raises before it is looked up."""

    allowed = _pickle_globals()

    def find_class(self, module: str, name: str):
        try:
            return self.allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused: it calls {module}.{name}, which would run code") from None

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("refused: it refers to a persistent object, which would run code")


def read_array_pickle(path: Path) -> object:
    """The object in the pickle file ``path`` (Python 2 strings decoded as latin-1, as torchvision
    reads CIFAR), built from numpy arrays, dtypes, builtin containers, strings, bytes and numbers
    only: a pickle that names any other callable is never run, and raises a one-line
    ``DatasetError`` ``<path>: refused: it calls <module>.<name>, which would run code (...)``;
    an unreadable one ``<path>: unreadable pickle (...)``."""
    try:
        with open(path, "rb") as handle:
            return _ArrayUnpickler(handle, encoding="latin1").load()
    except pickle.UnpicklingError as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        if reason.startswith("refused:"):
            raise DatasetError(f"{path}: {reason} (CIFAR files hold only arrays, lists, strings and numbers)") from None
        raise DatasetError(f"{path}: unreadable pickle ({reason})") from None
    except (EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError, MemoryError) as err:
        raise DatasetError(f"{path}: unreadable pickle ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})") from None


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


# ----------------------------------------------------------------------------- synthetic


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
