"""CIFAR-10/100 (ban/datasets/cifar.py): torchvision's on-disk format, Python 2 pickles, refused and broken files."""

import os
import pickle
import pickletools
import shlex
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from ban.datasets import DatasetError, load_dataset
from ban.datasets.cifar import CIFAR10_STATS, CIFAR100_STATS


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
