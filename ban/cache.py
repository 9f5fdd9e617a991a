"""The between-workflow output cache of the training rules: where it lives, its size, pruning.

The training rules are marked ``cache: "omit-software"`` and the profiles run Snakemake with
``--cache``: after a training job succeeds, Snakemake moves its three outputs into the cache
folder (``$SNAKEMAKE_OUTPUT_CACHE``; the Snakefile defaults it to ``DEFAULT_DIR`` below the
project) under the job's provenance hash — rule, parameters (the member's spec with its code
fingerprint) and the hashes of the jobs it reads — and leaves symbolic links in ``results/``.
A job whose hash is in the cache is not run: its links are made again. So any spec a member was
ever trained with is restored in seconds by going back to it, and ``rm -rf results`` loses
nothing that a rerun cannot link back.

The cache grows by one ``model.pt``, ``predictions.npz`` and ``metrics.json`` per trained spec.
``prune(cache_dir, results_dir)`` deletes the entries no link below ``results_dir`` points to
(the specs that are not current); deleting the cache folder itself would leave ``results/``
with dangling links.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV = "SNAKEMAKE_OUTPUT_CACHE"
DEFAULT_DIR = ".snakemake-cache"
"""The cache folder, relative to the project root, when ``$SNAKEMAKE_OUTPUT_CACHE`` is not set."""


def cache_dir(project: Path = Path(".")) -> Path:
    """The cache folder in effect (absolute: Snakemake's links point to it)."""
    return Path(os.environ.get(ENV) or Path(project) / DEFAULT_DIR).absolute()


def use_default_cache(project: Path = Path(".")) -> Path:
    """Set ``$SNAKEMAKE_OUTPUT_CACHE`` to ``<project>/DEFAULT_DIR`` unless it is set; create the
    folder (Snakemake needs it to exist). Called by the Snakefile before Snakemake opens the cache."""
    folder = cache_dir(project)
    os.environ[ENV] = str(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@dataclass(frozen=True)
class Usage:
    entries: int
    linked: int
    bytes_total: int
    bytes_unlinked: int


def linked_entries(results_dir: Path, cache: Path) -> set[Path]:
    """The cache files that links below ``results_dir`` point to."""
    cache = cache.resolve()
    linked = set()
    for root, _, files in os.walk(results_dir):
        for name in files:
            path = Path(root, name)
            if path.is_symlink():
                target = path.resolve()
                if target.parent == cache:
                    linked.add(target)
    return linked


def usage(cache: Path, results_dir: Path = Path("results")) -> Usage:
    """How many cache files there are and how many bytes they hold, in all and unlinked."""
    files = [p for p in cache.iterdir() if p.is_file()] if cache.is_dir() else []
    linked = linked_entries(results_dir, cache)
    sizes = {p.resolve(): p.stat().st_size for p in files}
    unlinked = sum(size for path, size in sizes.items() if path not in linked)
    return Usage(len(files), sum(1 for p in sizes if p in linked), sum(sizes.values()), unlinked)


def prune(cache: Path, results_dir: Path = Path("results")) -> list[Path]:
    """Delete the cache files no link below ``results_dir`` points to; return them."""
    linked = linked_entries(results_dir, cache)
    removed = []
    for path in sorted(cache.iterdir()) if cache.is_dir() else []:
        if path.is_file() and path.resolve() not in linked:
            path.unlink()
            removed.append(path)
    return removed
