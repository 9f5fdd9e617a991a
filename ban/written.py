"""Report files against what their jobs wrote (no torch import).

The report rules (tables, plots, claims, regime maps) end with ``python -m ban record <outputs>``:
for each output it writes ``<RECORD_DIR>/<output path>.json`` = ``{"sha256", "size",
"mtime_ns"}``, one small file per output, so parallel jobs never share a record.

On every invocation, dry runs included (the Snakefile, outside cluster jobs), ``move_aside_edited``
compares each target that has a record: a file whose size and mtime are the recorded ones is
unchanged (one ``stat``); else its sha256 decides. An edited file (another sha256) is moved to
``<file>.edited`` (``.edited.2``, … when taken), so the hand edit is kept, and its record removed:
the report is a derived file, so Snakemake rebuilds it as missing. One line names each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ban.store import sha256_file

RECORD_DIR = Path(".snakemake/ban/written")


def record_path(file: str | os.PathLike, record_dir: Path = RECORD_DIR) -> Path:
    """Where the record of ``file`` lies: its path (without a leading ``/``) under ``record_dir``, plus ``.json``."""
    relative = Path(os.path.normpath(file))
    relative = relative.relative_to(relative.anchor) if relative.is_absolute() else relative
    return Path(record_dir) / f"{relative}.json"


def record_written(files: list[str | os.PathLike], record_dir: Path = RECORD_DIR) -> list[Path]:
    """Record the sha256, size and mtime of each of ``files`` (each written atomically); the records."""
    records = []
    for file in files:
        stat = os.stat(file)
        record = record_path(file, record_dir)
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"sha256": sha256_file(Path(file)), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}),
                       encoding="utf-8")
        os.replace(tmp, record)
        records.append(record)
    return records


def is_edited(file: Path, record: Path) -> bool:
    """Whether ``file`` differs from what its ``record`` says its job wrote (False without a
    readable record or without the file)."""
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
        stat = os.stat(file)
    except (OSError, ValueError):
        return False
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        return False
    if [stat.st_size, stat.st_mtime_ns] == [recorded.get("size"), recorded.get("mtime_ns")]:
        return False
    return sha256_file(file) != recorded["sha256"]


def aside_name(file: Path) -> Path:
    """``<file>.edited``, or ``<file>.edited.<n>`` for the first free n ≥ 2."""
    candidate, n = file.with_name(f"{file.name}.edited"), 2
    while candidate.exists():
        candidate, n = file.with_name(f"{file.name}.edited.{n}"), n + 1
    return candidate


def move_aside_edited(files: list[str | os.PathLike], record_dir: Path = RECORD_DIR) -> list[str]:
    """Move each edited file of ``files`` (``is_edited``) aside and remove its record, so that it is
    rebuilt; one line per file moved."""
    lines = []
    for file in map(Path, files):
        record = record_path(file, record_dir)
        if not record.is_file() or not is_edited(file, record):
            continue
        aside = aside_name(file)
        os.replace(file, aside)
        record.unlink(missing_ok=True)
        lines.append(f"{file}: changed since its job wrote it (sha256 differs from {record}); "
                     f"kept as {aside}, rebuilt as missing")
    return lines
