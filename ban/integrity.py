"""Finished member folders checked against what they record (no torch import).

The Snakefile runs this on every invocation, dry runs included, so that a damaged, replaced or
stale result never passes as current. For each finished trained member (a ``metrics.json`` that
records ``files``, the sha256 of ``model.pt`` and ``predictions.npz``):

- each recorded file that exists has the recorded sha256 (else it changed after training);
- a student whose ``metrics.json`` records ``teacher_sha256`` was trained on its teacher's current
  ``model.pt``, unless the workflow retrains it anyway (its ``metrics.json`` is older than the
  teacher's ``model.pt``, so Snakemake's mtime trigger reruns it).

A missing file is no problem here: every member file is a target of the run, so it is rebuilt.
A dangling link (its target is gone, say a deleted cache folder of an earlier version) holds no
data and stops Snakemake's planning: ``remove_dangling`` removes it, so it is rebuilt as missing.
Each problem is one line naming the file and the way out (delete the member folder; the next run
rebuilds it, from the store when an intact copy of that training is kept).

Hashes are remembered in a JSON file by (device, inode, size, mtime), so an unchanged study costs
one ``stat`` per file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ban.files import sha256_file, write_bytes
from ban.identity import RECORDED_FILES


class HashMemo:
    """sha256 of files, remembered by ``(st_dev, st_ino, st_size, st_mtime_ns)`` in ``path``."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else None
        self.known: dict[str, list] = {}
        self.changed = False
        if self.path and self.path.is_file():
            try:
                known = json.loads(self.path.read_text(encoding="utf-8"))
                self.known = known if isinstance(known, dict) else {}
            except (OSError, ValueError):
                self.known = {}

    def sha256(self, file: Path) -> str:
        stat = os.stat(file)
        key = [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]
        name = str(Path(file).absolute())
        remembered = self.known.get(name)
        if isinstance(remembered, list) and remembered[:4] == key:
            return remembered[4]
        digest = sha256_file(file)
        self.known[name] = [*key, digest]
        self.changed = True
        return digest

    def save(self) -> None:
        """Write the memo (atomically) when it learned something; a failure costs only speed."""
        if not (self.path and self.changed):
            return
        try:
            write_bytes(self.path, json.dumps(self.known).encode())
        except (OSError, ValueError):
            pass


def _recorded(folder: Path) -> dict | None:
    try:
        metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # missing (rebuilt) or unreadable (named by the pre-flight check)
    return metrics if isinstance(metrics, dict) and isinstance(metrics.get("files"), dict) else None


def folder_problems(folder: Path, teacher: Path | None, memo: HashMemo) -> list[str]:
    """Problems of one trained member folder (``teacher``: its teacher's folder, None for
    members that learn from labels), one line each."""
    folder = Path(folder)
    recorded = _recorded(folder)
    if recorded is None:
        return []
    problems = []
    for name in RECORDED_FILES:
        path = folder / name
        if path.is_file() and name in recorded["files"] and memo.sha256(path) != recorded["files"][name]:
            problems.append(f"{path}: not the file this member's training wrote (its sha256 differs from the one "
                            f"{folder}/metrics.json records); delete {folder} to rebuild it")
    teacher_sha = recorded.get("teacher_sha256")
    teacher_model = Path(teacher) / "model.pt" if teacher is not None else None
    if teacher_sha and teacher_model is not None and teacher_model.is_file():
        newer_teacher = teacher_model.stat().st_mtime_ns > (folder / "metrics.json").stat().st_mtime_ns
        if not newer_teacher and memo.sha256(teacher_model) != teacher_sha:
            problems.append(f"{folder}: trained on another teacher than {teacher_model} holds now (teacher sha256 "
                            f"{teacher_sha[:12]}…, now {memo.sha256(teacher_model)[:12]}…); delete {folder} to retrain it")
    return problems


def finished_problems(members: list[tuple[str, str | None]], memo: HashMemo | None = None) -> list[str]:
    """Problems of every ``(member folder, teacher folder or None)``, one line each."""
    memo = memo or HashMemo()
    problems = []
    for folder, teacher in members:
        problems += folder_problems(Path(folder), Path(teacher) if teacher else None, memo)
    memo.save()
    return problems


def remove_dangling(paths: list[str]) -> list[str]:
    """Remove each of ``paths`` that is a symbolic link to nothing; return the removed ones."""
    removed = []
    for path in map(Path, paths):
        if path.is_symlink() and not path.exists():
            path.unlink()
            removed.append(str(path))
    return removed
