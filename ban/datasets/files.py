"""What each dataset reads from disk, and a digest of it (no torch import).

A training's identity (``ban.identity``) covers the data it learns from, not where that data
lives: ``data_digest(dataset)`` is

- ``fashion_mnist``: the md5s of its four IDX files (``FASHION_MNIST_FILES``); the loader refuses
  any other bytes, so the checksums are the content;
- ``cifar10``/``cifar100``: ``sha256`` over the name and sha256 of each file the loader reads
  (``CIFAR_FILES``), whether or not ``verify`` checks them against torchvision's md5s;
- ``ptb``: likewise over ``<folder>/ptb.{train,valid,test}.txt``; ``wordnet``: over
  ``<source>/data.{adj,adv,noun,verb}``;
- generated datasets (``synthetic``, ``synthetic_text``): ``"generated"``: their arguments, which
  are part of the identity, decide every value.

A file that is missing makes the digest ``missing:<path>`` (the training then stops with the
loader's own one-line error). ``sha256`` is a callable so that the workflow can remember hashes
by ``stat`` (``ban.integrity.HashMemo``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Callable

from ban.files import sha256_file

FASHION_MNIST_FILES: dict[str, dict[str, Any]] = {
    name: {"md5": md5, "gz_md5": gz_md5}
    for name, md5, gz_md5 in (
        ("train-images-idx3-ubyte", "f4a8712d7a061bf5bd6d2ca38dc4d50a",
         ("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "cf8536b0aa1a6ac5fa3f23001093305c")),
        ("train-labels-idx1-ubyte", "9018921c3c673c538a1fc5bad174d6f9",
         ("25c81989df183df01b3e8a0aad5dffbe", "10bea18fdb374794d4bb42e356e600c9")),
        ("t10k-images-idx3-ubyte", "8181f5470baa50b63fa0f6fddb340f0a",
         ("bef4ecab320f06d8554ea6380940ec79", "f78720b4224f21cce2f2ccf2d7a94c9a")),
        ("t10k-labels-idx1-ubyte", "15d484375f8d13e6eb1aabb0c3f46965",
         ("bb300cfdad3c16e7a12a480ee83cd310", "0d30e22e447f3c33dab9ed536400ac01")),
    )
}
"""Fashion-MNIST IDX files: name -> md5 of the uncompressed file (as torchvision reads it) and the
accepted md5s of its gzip: torchvision's upstream download and the Debian package's recompression
(same uncompressed bytes, different gzip header)."""

CIFAR_FILES: dict[str, tuple[str, tuple[str, ...]]] = {
    "cifar10": ("cifar-10-batches-py", tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch", "batches.meta")),
    "cifar100": ("cifar-100-python", ("train", "test", "meta")),
}
"""Each CIFAR's folder under ``root`` and the files its loader reads (torchvision's names)."""

WORDNET_DIR = "/usr/share/wordnet"
WORDNET_FILES = ("data.adj", "data.adv", "data.noun", "data.verb")
PTB_SPLITS = ("train", "valid", "test")
GENERATED = "generated"


def data_files(dataset: dict) -> list[Path] | None:
    """The files the loader of ``dataset`` (a spec's ``dataset`` mapping) reads; ``None`` for
    datasets whose content is not read from files (generated, or checked against fixed md5s)."""
    name = dataset.get("name")
    root = Path(dataset.get("root", "data"))
    if name in CIFAR_FILES:
        folder, names = CIFAR_FILES[name]
        return [root / folder / file for file in names]
    if name == "ptb":
        folder = Path(dataset["folder"]) if dataset.get("folder") is not None else root / "ptb"
        return [folder / f"ptb.{split}.txt" for split in PTB_SPLITS]
    if name == "wordnet":
        source = Path(dataset.get("source", WORDNET_DIR))
        return [source / file for file in WORDNET_FILES]
    return None


def data_digest(dataset: dict, sha256: Callable[[Path], str] = sha256_file) -> str:
    """The digest of the data ``dataset`` reads (see the module docstring)."""
    name = dataset.get("name")
    if name == "fashion_mnist":
        sums = {file: entry["md5"] for file, entry in FASHION_MNIST_FILES.items()}
        return "md5:" + hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()
    files = data_files(dataset)
    if files is None:
        return GENERATED
    digest = hashlib.sha256()
    for path in files:
        try:
            file_sha = sha256(path)
        except OSError:
            return f"missing:{os.fspath(path)}"
        digest.update(f"{path.name}\0{file_sha}\0".encode())
    return "sha256:" + digest.hexdigest()
