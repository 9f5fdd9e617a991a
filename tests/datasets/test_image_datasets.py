import gzip
import os
import pickle
import pickletools
import shlex
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ban.datasets import DATASETS, DatasetError, load_dataset
from ban.datasets.image import (
    CIFAR10_STATS,
    CIFAR100_STATS,
    DEBIAN_FASHION_MNIST_DIR,
    SYSTEM_DATA_ENV,
    ImageData,
    read_array_pickle,
)
from ban.registry import UnknownNameError

debian_files = pytest.mark.skipif(
    not Path(DEBIAN_FASHION_MNIST_DIR, "train-images-idx3-ubyte.gz").is_file(),
    reason="Debian package dataset-fashion-mnist not installed",
)


def test_registry_lists_datasets():
    assert {"fashion_mnist", "cifar10", "cifar100", "synthetic"} <= set(DATASETS.names())


def test_unknown_name_lists_valid_names():
    with pytest.raises(UnknownNameError, match="fashion_mnist.*synthetic|synthetic.*fashion_mnist"):
        load_dataset("mnist-ish")


# ----------------------------------------------------------------------------- Fashion-MNIST


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


# ----------------------------------------------------------------------------- CIFAR


def write_cifar(root: Path, hundred: bool, per_file: int = 3, seed: int = 0, dump=pickle.dump) -> dict:
    """Write CIFAR pickles in torchvision's on-disk format (``dump(obj, handle)``: Python 3's
    pickle.dump by default); return the arrays written per split."""
    rng = np.random.default_rng(seed)
    num_classes = 100 if hundred else 10
    folder = root / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    folder.mkdir(parents=True)
    label_key = "fine_labels" if hundred else "labels"
    train_files = ["train"] if hundred else [f"data_batch_{i}" for i in range(1, 6)]
    written = {"train": ([], []), "test": ([], [])}
    for split, names in (("train", train_files), ("test", ["test" if hundred else "test_batch"])):
        for name in names:
            data = rng.integers(0, 256, size=(per_file, 3072), dtype=np.uint8)
            labels = rng.integers(0, num_classes, size=per_file).tolist()
            entry = {"batch_label": name, "data": data, label_key: labels, "filenames": [f"{i}.png" for i in labels]}
            if hundred:
                entry["coarse_labels"] = [i // 5 for i in labels]
            with open(folder / name, "wb") as handle:
                dump(entry, handle)
            written[split][0].append(data)
            written[split][1].extend(labels)
    meta = {"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": [f"s{i}" for i in range(20)]}
    if not hundred:
        meta = {"label_names": [f"c{i}" for i in range(10)], "num_cases_per_batch": per_file, "num_vis": 3072}
    with open(folder / ("meta" if hundred else "batches.meta"), "wb") as handle:
        dump(meta, handle)
    return {split: (np.concatenate(arrays), labels) for split, (arrays, labels) in written.items()}


@pytest.mark.parametrize("name, hundred, stats", [("cifar10", False, CIFAR10_STATS), ("cifar100", True, CIFAR100_STATS)])
def test_cifar_loads_torchvision_format(tmp_path, name, hundred, stats):
    written = write_cifar(tmp_path, hundred)
    data = load_dataset(name, root=tmp_path, verify=False)
    n_train = 3 if hundred else 15
    assert data.train_x.shape == (n_train, 3, 32, 32) and data.test_x.shape == (3, 3, 32, 32)
    assert (data.num_classes, data.in_channels) == (100 if hundred else 10, 3)
    assert data.train_y.tolist() == written["train"][1] and data.test_y.tolist() == written["test"][1]
    mean = torch.tensor(stats[0]).view(1, 3, 1, 1)
    std = torch.tensor(stats[1]).view(1, 3, 1, 1)
    # rows are channel-major: data[n, c * 1024 + h * 32 + w]
    expected = (torch.from_numpy(written["train"][0]).view(-1, 3, 32, 32).float() / 255 - mean) / std
    torch.testing.assert_close(data.train_x, expected)


class Python2Pickler(pickle._Pickler):
    """Protocol 2 as Python 2 wrote the distributed CIFAR files: every ``str`` and ``bytes`` a
    Python 2 byte string (BINSTRING), numpy's reconstructor named ``numpy.core.multiarray``."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_python2_string(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    def save_global(self, obj, name=None):
        if getattr(obj, "__name__", None) == "_reconstruct":
            self.write(pickle.GLOBAL + b"numpy.core.multiarray\n_reconstruct\n")
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    dispatch[str] = save_python2_string
    dispatch[bytes] = save_python2_string


def dump_python2(obj, handle) -> None:
    Python2Pickler(handle, protocol=2).dump(obj)


@pytest.mark.parametrize("name, hundred, stats", [("cifar10", False, CIFAR10_STATS), ("cifar100", True, CIFAR100_STATS)])
def test_cifar_reads_the_distributed_python2_pickles(tmp_path, name, hundred, stats):
    """The restricted reader takes the files as distributed (Python 2 protocol 2 pickles)."""
    written = write_cifar(tmp_path, hundred, dump=dump_python2)
    folder = tmp_path / ("cifar-100-python" if hundred else "cifar-10-batches-py")
    ops = {(op.name, arg) for op, arg, _ in pickletools.genops((folder / ("train" if hundred else "data_batch_1")).read_bytes())}
    assert ("GLOBAL", "numpy.core.multiarray _reconstruct") in ops and ("SHORT_BINSTRING", "data") in ops
    data = load_dataset(name, root=tmp_path, verify=False)
    assert data.train_y.tolist() == written["train"][1] and data.test_y.tolist() == written["test"][1]
    mean, std = (torch.tensor(v).view(1, 3, 1, 1) for v in stats)
    expected = (torch.from_numpy(written["test"][0]).view(-1, 3, 32, 32).float() / 255 - mean) / std
    torch.testing.assert_close(data.test_x, expected)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_array_pickles_of_every_protocol_are_read(tmp_path, protocol):
    entry = {"data": np.arange(12, dtype=np.uint8).reshape(2, 6), "labels": [1, 2], "names": {"a", "b"},
             "raw": b"\x00\xff", "empty": b"", "buffer": bytearray(b"ab"), "pair": (1.5, 2j), "f": np.zeros(3, ">f8")}
    path = tmp_path / "entry.pickle"
    path.write_bytes(pickle.dumps(entry, protocol=protocol))
    loaded = read_array_pickle(path)
    assert set(loaded) == set(entry) and all(np.array_equal(loaded[k], entry[k]) for k in ("data", "f"))
    assert all(loaded[k] == entry[k] for k in ("labels", "names", "raw", "empty", "buffer", "pair"))


class RunsCode:
    """An object whose pickle calls os.system: unpickling it runs a shell command."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.marker))}",))


@pytest.mark.parametrize("file", ["batches.meta", "data_batch_3"])
def test_a_cifar_pickle_that_would_run_code_is_refused_unrun(tmp_path, file):
    write_cifar(tmp_path, hundred=False)
    path = tmp_path / "cifar-10-batches-py" / file
    marker = tmp_path / "ran"
    entry = pickle.loads(path.read_bytes())
    entry["filenames" if "filenames" in entry else "num_vis"] = RunsCode(marker)
    path.write_bytes(pickle.dumps(entry))
    with pytest.raises(DatasetError) as raised:
        load_dataset("cifar10", root=tmp_path, verify=False)
    message = str(raised.value)
    assert message.startswith(f"{path}: refused: it calls {os.system.__module__}.system, which would run code") and "\n" not in message
    assert not marker.exists()


def test_a_truncated_cifar_pickle_is_one_line(tmp_path):
    write_cifar(tmp_path, hundred=False)
    path = tmp_path / "cifar-10-batches-py" / "test_batch"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError) as raised:
        load_dataset("cifar10", root=tmp_path, verify=False)
    assert str(raised.value).startswith(f"{path}: unreadable pickle (") and "\n" not in str(raised.value)


def test_cifar_checks_md5_by_default(tmp_path):
    write_cifar(tmp_path, hundred=False)
    with pytest.raises(DatasetError, match="checksum mismatch: .*cifar-10-batches-py"):
        load_dataset("cifar10", root=tmp_path)


@pytest.mark.parametrize("name, folder", [("cifar10", "cifar-10-batches-py"), ("cifar100", "cifar-100-python")])
def test_missing_cifar_without_download_names_folder(tmp_path, name, folder):
    with pytest.raises(DatasetError, match=f"missing in {tmp_path / folder}.*download"):
        load_dataset(name, root=tmp_path, download=False)


def test_cifar_meta_with_wrong_class_count_is_rejected(tmp_path):
    write_cifar(tmp_path, hundred=False)
    with open(tmp_path / "cifar-10-batches-py" / "batches.meta", "wb") as handle:
        pickle.dump({"label_names": ["a", "b"]}, handle)
    with pytest.raises(DatasetError, match="2 classes, expected 10"):
        load_dataset("cifar10", root=tmp_path, verify=False)


# ----------------------------------------------------------------------------- synthetic


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


def test_bad_synthetic_kwargs_are_rejected():
    with pytest.raises(DatasetError, match="synthetic needs"):
        load_dataset("synthetic", num_classes=0)


def test_to_moves_all_tensors():
    data = load_dataset("synthetic", n_train=16, n_test=8, val_split=0.25)
    moved = data.to("meta")
    assert isinstance(moved, ImageData)
    for field in ("train_x", "train_y", "val_x", "val_y", "test_x", "test_y"):
        assert getattr(moved, field).device.type == "meta"
        assert getattr(data, field).device.type == "cpu"
    assert (moved.num_classes, moved.mean) == (data.num_classes, data.mean)


def test_read_idx_reads_the_format_and_refuses_a_bad_header(tmp_path):
    from ban.datasets.image import read_idx

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

    from ban.datasets.image import FASHION_MNIST_STATS, normalise_uint8

    root, data = staged_fashion
    for train, x, y in ((True, data.train_x, data.train_y), (False, data.test_x, data.test_y)):
        source = FashionMNIST(str(root), train=train, download=False)
        assert torch.equal(normalise_uint8(source.data.unsqueeze(1), *FASHION_MNIST_STATS), x)
        assert torch.equal(source.targets, y)
