"""CIFAR's restricted unpickler (ban/datasets/array_pickle.py); the refusals through the CIFAR loader are in test_cifar.py."""

import pickle

import numpy as np
import pytest

from ban.datasets.array_pickle import read_array_pickle


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_array_pickles_of_every_protocol_are_read(tmp_path, protocol):
    entry = {"data": np.arange(12, dtype=np.uint8).reshape(2, 6), "labels": [1, 2], "names": {"a", "b"},
             "raw": b"\x00\xff", "empty": b"", "buffer": bytearray(b"ab"), "pair": (1.5, 2j), "f": np.zeros(3, ">f8")}
    path = tmp_path / "entry.pickle"
    path.write_bytes(pickle.dumps(entry, protocol=protocol))
    loaded = read_array_pickle(path)
    assert set(loaded) == set(entry) and all(np.array_equal(loaded[k], entry[k]) for k in ("data", "f"))
    assert all(loaded[k] == entry[k] for k in ("labels", "names", "raw", "empty", "buffer", "pair"))
