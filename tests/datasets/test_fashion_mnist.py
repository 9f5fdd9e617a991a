"""Fashion-MNIST (ban/datasets/fashion_mnist.py): staging from the Debian package, checksums, the IDX reader."""

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from ban.datasets import DatasetError, load_dataset
from ban.datasets.fashion_mnist import DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_STATS, SYSTEM_DATA_ENV, read_idx
from ban.datasets.image import normalise_uint8

debian_files = pytest.mark.skipif(
    not Path(DEBIAN_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed",
)


@pytest.fixture(scope="module")
def staged_fashion(tmp_path_factory):
    """Fashion-MNIST staged from the Debian package into a fresh root, loaded once for the module."""
    root = tmp_path_factory.mktemp("fashion_root")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(SYSTEM_DATA_ENV, raising=False)
        data = load_dataset("fashion_mnist", root=root)
    return root, data


@debian_files
def test_fashion_mnist_stages_and_loads(staged_fashion):
    root, data = staged_fashion
    raw = root / "FashionMNIST" / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(
        ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    )
    assert data.train_x.shape == (60000, 1, 28, 28) and data.test_x.shape == (10000, 1, 28, 28)
    assert data.train_x.dtype == torch.float32 and data.train_y.dtype == torch.int64
    assert data.train_y.shape == (60000,) and data.test_y.shape == (10000,)
    assert (data.num_classes, data.in_channels, data.task) == (10, 1, "image")
    assert torch.equal(data.train_y.bincount(), torch.full((10,), 6000))
    assert abs(data.train_x.mean().item()) < 1e-3 and abs(data.train_x.std().item() - 1) < 1e-3
    assert abs(data.test_x.mean().item()) < 0.05
    assert data.val_x is None and data.val_y is None
    # pixel 0 of the IDX file is black: (0 - mean) / std
    assert data.train_x[0, 0, 0, 0].item() == pytest.approx(-data.mean[0] / data.std[0], rel=1e-5)


@debian_files
def test_fashion_mnist_second_call_reuses_staged_files(staged_fashion, tmp_path, monkeypatch):
    root, first = staged_fashion
    raw = root / "FashionMNIST" / "raw"
    stamps = {p.name: p.stat().st_mtime_ns for p in raw.iterdir()}
    monkeypatch.setenv(SYSTEM_DATA_ENV, str(tmp_path))  # empty: only the staged files can serve
    second = load_dataset("fashion_mnist", root=root, val_split=0.1, seed=5)
    assert {p.name: p.stat().st_mtime_ns for p in raw.iterdir()} == stamps
    assert second.train_x.shape[0] == 54000 and second.val_x.shape[0] == 6000
    assert torch.equal(second.test_x, first.test_x)


@debian_files
def test_corrupted_system_gzip_is_a_checksum_error(tmp_path, monkeypatch):
    system = tmp_path / "system"
    system.mkdir()
    corrupted = system / "train-labels-idx1-ubyte.gz"
    shutil.copy(Path(DEBIAN_FASHION_MNIST_DIR, corrupted.name), corrupted)
    content = bytearray(corrupted.read_bytes())
    content[100] ^= 0xFF
    corrupted.write_bytes(bytes(content))
    monkeypatch.setenv(SYSTEM_DATA_ENV, str(system))
    with pytest.raises(DatasetError, match=f"checksum mismatch: {corrupted}"):
        load_dataset("fashion_mnist", root=tmp_path / "root")
    assert not (tmp_path / "root" / "FashionMNIST" / "raw" / "train-labels-idx1-ubyte").exists()


@debian_files
def test_corrupted_staged_file_is_a_checksum_error_and_kept(tmp_path, monkeypatch):
    raw = tmp_path / "root" / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    staged = raw / "train-labels-idx1-ubyte"
    content = bytearray(gzip.decompress(Path(DEBIAN_FASHION_MNIST_DIR, staged.name + ".gz").read_bytes()))
    content[-1] = (content[-1] + 1) % 10
    staged.write_bytes(bytes(content))
    monkeypatch.setenv(SYSTEM_DATA_ENV, str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match=f"checksum mismatch: {staged}"):
        load_dataset("fashion_mnist", root=tmp_path / "root")
    assert staged.read_bytes() == bytes(content)


def test_missing_fashion_mnist_without_download_names_root_and_package(tmp_path, monkeypatch):
    monkeypatch.setenv(SYSTEM_DATA_ENV, str(tmp_path / "empty"))
    with pytest.raises(DatasetError) as error:
        load_dataset("fashion_mnist", root=tmp_path / "root", download=False)
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "root") in message and "dataset-fashion-mnist" in message and "download" in message


def test_read_idx_reads_the_format_and_refuses_a_bad_header(tmp_path):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2, 3, 4], dtype=">i4").tobytes() + images.tobytes())
    assert np.array_equal(read_idx(path), images)
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2, 3, 5], dtype=">i4").tobytes() + images.tobytes())
    with pytest.raises(DatasetError, match="IDX header says"):
        read_idx(path)
    path.write_bytes(b"\x1f\x8b\x08\x00")  # a gzip, not an IDX file
    with pytest.raises(DatasetError, match="not an IDX file"):
        read_idx(path)


@debian_files
def test_fashion_mnist_reader_equals_torchvisions(staged_fashion):
    """Our IDX reader (no torchvision import at training start) gives torchvision's tensors exactly."""
    from torchvision.datasets import FashionMNIST

    root, data = staged_fashion
    for train, x, y in ((True, data.train_x, data.train_y), (False, data.test_x, data.test_y)):
        source = FashionMNIST(str(root), train=train, download=False)
        assert torch.equal(normalise_uint8(source.data.unsqueeze(1), *FASHION_MNIST_STATS), x)
        assert torch.equal(source.targets, y)
