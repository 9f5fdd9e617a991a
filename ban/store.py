"""The store of finished trainings: each member's outputs, kept under its identity, checked by hash.

A member's **identity** is everything that decides its result: its spec (dataset, model, objective,
recipe, seed and the training code fingerprint) and the bytes of what it learns from, the
teacher's ``model.pt`` for a student and the imported checkpoint for a ``teacher_checkpoint``
lineage::

    identity = sha256(canonical JSON {"spec": spec,
                                      "teacher_sha256": sha256(teacher model.pt) or null,
                                      "checkpoint_sha256": sha256(spec["checkpoint"]) or null})

A trainer that finishes keeps its three outputs here (:meth:`Store.keep`); a training job whose
identity is kept takes them back (:meth:`Store.restore`) instead of training: after a killed
workflow, a reverted config or a deleted member folder. Nothing is trusted blindly:

- an entry is restored only when every file's sha256 matches its ``record.json``; a damaged entry
  is removed (the member then trains again);
- a student of another teacher has another identity, so it is never restored for this one.

Layout: ``<store>/<identity>/{predictions.npz, model.pt, metrics.json, record.json}`` with
``record.json`` = ``{"format", "identity", "spec", "teacher_sha256", "checkpoint_sha256",
"files": {name: sha256}, "placed": [member folders, absolute]}``. The files are hard links to the
member folder's files (no extra disk), or copies when the store is on another file system; so
``results/`` holds real files and deleting the store loses no result. Files and folders get the
user's umask. The store is ``$BAN_STORE``, else ``.ban-store`` in the project (the working
directory of the workflow and its jobs).

:meth:`Store.unused` lists the entries no member folder uses: none of its files has another hard
link and no folder in its ``placed`` list holds its ``metrics.json``. ``prune`` deletes only those.
No torch import: a restore costs a Python start and a few file hashes.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ENV = "BAN_STORE"
DEFAULT_DIR = ".ban-store"
"""The store, relative to the project root, when ``$BAN_STORE`` is not set."""
FORMAT = "ban.store/1"
RECORD = "record.json"
OUTPUT_FILES = ("predictions.npz", "model.pt", "metrics.json")
"""A finished member's outputs, in the order they are written and restored (``metrics.json`` last)."""
RECORDED_FILES = ("model.pt", "predictions.npz")
"""The outputs whose sha256 a finished member's ``metrics.json`` records (``files``)."""


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class Identity:
    """A member's identity (``hash``) and the source hashes it was computed from."""

    hash: str
    teacher_sha256: str | None = None
    checkpoint_sha256: str | None = None

    def record(self) -> dict:
        """The fields ``metrics.json`` records: the identity and what the member learned from."""
        return {"identity": self.hash, "teacher_sha256": self.teacher_sha256, "checkpoint_sha256": self.checkpoint_sha256}


def member_identity(spec: dict, teacher: Path | None = None) -> Identity:
    """The identity of the training ``spec`` describes, taught by the ``model.pt`` at ``teacher``."""
    teacher_sha = sha256_file(Path(teacher)) if teacher else None
    checkpoint = spec.get("checkpoint")
    checkpoint_sha = sha256_file(Path(checkpoint)) if checkpoint and Path(checkpoint).is_file() else None
    canonical = json.dumps({"spec": spec, "teacher_sha256": teacher_sha, "checkpoint_sha256": checkpoint_sha}, sort_keys=True)
    return Identity(hashlib.sha256(canonical.encode()).hexdigest(), teacher_sha, checkpoint_sha)


def store_dir(project: Path = Path(".")) -> Path:
    """The store in effect (absolute)."""
    return Path(os.environ.get(ENV) or Path(project) / DEFAULT_DIR).absolute()


def use_default_store(project: Path = Path(".")) -> Path:
    """Set ``$BAN_STORE`` to the store in effect, so that every job of the workflow uses it."""
    folder = store_dir(project)
    os.environ[ENV] = str(folder)
    return folder


def _link_or_copy(source: Path, dest: Path) -> None:
    """A hard link ``dest`` to ``source``; a copy where links cannot be made (another file system)."""
    try:
        os.link(source, dest)
    except OSError as err:
        if err.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copyfile(source, dest)


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _space_hint(folder: Path) -> str:
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes free"
    except OSError:
        return "free space unknown"


def _readable_record(record: object) -> bool:
    """Whether a parsed ``record.json`` has the shape the readers rely on: an object whose
    ``files`` is an object of strings and whose ``placed`` (when present) is a list of strings."""
    if not isinstance(record, dict) or not isinstance(record.get("files"), dict):
        return False
    placed = record.get("placed", [])
    return all(isinstance(v, str) for v in record["files"].values()) and isinstance(placed, list) and all(
        isinstance(folder, str) for folder in placed)


@dataclass(frozen=True)
class Entry:
    """One kept training: its folder and ``record.json`` (None when unreadable, or not of the
    layout in the module docstring: such an entry is never restored either)."""

    path: Path
    record: dict | None

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.path.iterdir() if p.is_file())


class Store:
    """The store at ``root`` (see the module docstring)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root).absolute() if root is not None else store_dir()

    def entry(self, identity: str) -> Path:
        return self.root / identity

    def damage(self, identity: str) -> str | None:
        """Why the entry of ``identity`` cannot be used (None when it is intact): a missing or
        unreadable record, a missing file, or a file whose sha256 is not the recorded one."""
        entry = self.entry(identity)
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            return f"unreadable {RECORD} ({type(err).__name__})"
        if not isinstance(record, dict) or record.get("identity") != identity or not isinstance(record.get("files"), dict):
            return f"{RECORD} is not this identity's"
        for name in OUTPUT_FILES:
            try:
                actual = sha256_file(entry / name)
            except OSError:
                return f"{name} is missing"
            if actual != record["files"].get(name):
                return f"{name} does not match its recorded sha256"
        return None

    def restore(self, identity: str, out_dir: Path, log: Callable[[str], None] = print) -> dict | None:
        """Put the kept outputs of ``identity`` into ``out_dir`` (verified by hash, ``metrics.json``
        last, each renamed into place with the current time) and return the metrics; ``None``
        when nothing intact is kept (a damaged entry is removed, with a line in the log)."""
        entry = self.entry(identity)
        if not entry.is_dir():
            return None
        problem = self.damage(identity)
        if problem is not None:
            log(f"store entry {entry} is damaged ({problem}): removed; training again")
            shutil.rmtree(entry, ignore_errors=True)
            return None
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for name in OUTPUT_FILES:
            tmp = out_dir / f".{name}.restore"
            tmp.unlink(missing_ok=True)
            _link_or_copy(entry / name, tmp)
            os.utime(tmp)  # newer than the inputs it was trained from, as a fresh output would be
            os.replace(tmp, out_dir / name)
        self._place(entry, out_dir)
        log(f"restored from the store: {entry} (sha256 verified; no training)")
        return json.loads((out_dir / "metrics.json").read_text(encoding="utf-8"))

    def keep(self, identity: Identity, out_dir: Path, spec: dict, log: Callable[[str], None] = print) -> bool:
        """Keep the finished outputs in ``out_dir`` under ``identity`` (replacing an entry of the same
        identity: the member folder's files are the current ones). Never fails the training:
        a store that cannot take them (full disk, no permission) costs a line in the log and
        leaves ``out_dir`` as it is. Returns whether the entry is kept."""
        out_dir = Path(out_dir)
        entry = self.entry(identity.hash)
        tmp = self.root / f".{identity.hash}.{os.getpid()}.tmp"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            files = {}
            for name in OUTPUT_FILES:
                _link_or_copy(out_dir / name, tmp / name)
                files[name] = sha256_file(tmp / name)
            record = {"format": FORMAT, **identity.record(), "spec": spec, "files": files,
                      "placed": [str(out_dir.absolute())]}
            _write_json(tmp / RECORD, record)
            shutil.rmtree(entry, ignore_errors=True)
            os.rename(tmp, entry)
        except OSError as err:
            shutil.rmtree(tmp, ignore_errors=True)
            need = sum((out_dir / n).stat().st_size for n in OUTPUT_FILES if (out_dir / n).exists())
            reason = (f"no space left ({need:,} bytes needed, {_space_hint(self.root)})" if err.errno == errno.ENOSPC
                      else (err.strerror or type(err).__name__))
            log(f"warning: not kept in the store {self.root}: {reason}; the outputs in {out_dir} are complete "
                "but a later rerun of this member will train it again")
            return False
        return True

    def _place(self, entry: Path, out_dir: Path) -> None:
        """Add ``out_dir`` to the entry's ``placed`` list (best effort: only prune reads it)."""
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
            folder = str(Path(out_dir).absolute())
            if folder not in record.get("placed", []):
                record["placed"] = [*record.get("placed", []), folder]
                _write_json(entry / RECORD, record)
        except (OSError, ValueError):
            pass

    def entries(self) -> list[Entry]:
        """Every entry, in name order (temporary folders of trainers at work are not entries)."""
        if not self.root.is_dir():
            return []
        found = []
        for path in sorted(self.root.iterdir()):
            if path.is_dir() and not path.name.startswith("."):
                try:
                    record = json.loads((path / RECORD).read_text(encoding="utf-8"))
                except (OSError, ValueError):
                    record = None
                found.append(Entry(path, record if _readable_record(record) else None))
        return found

    @staticmethod
    def in_use(entry: Entry) -> bool:
        """Whether a member folder uses the entry: one of its files has another hard link, or a
        folder it was placed in holds a ``metrics.json`` with its bytes (a copy)."""
        files = [entry.path / name for name in OUTPUT_FILES]
        if any(p.is_file() and p.stat().st_nlink > 1 for p in files):
            return True
        if entry.record is None:
            return False
        metrics_sha = entry.record.get("files", {}).get("metrics.json")
        for folder in entry.record.get("placed", []):
            placed = Path(folder) / "metrics.json"
            try:
                if placed.is_file() and sha256_file(placed) == metrics_sha:
                    return True
            except OSError:
                continue
        return False

    def unused(self) -> list[Entry]:
        """The entries no member folder uses (what :meth:`prune` deletes)."""
        return [entry for entry in self.entries() if not self.in_use(entry)]

    def stale_temporaries(self) -> list[Path]:
        """Temporary folders of trainers that are gone (``.<identity>.<pid>.tmp``)."""
        if not self.root.is_dir():
            return []
        stale = []
        for path in sorted(self.root.glob(".*.tmp")):
            pid = path.name.rsplit(".", 2)[-2]
            if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
                stale.append(path)
        return stale

    def prune(self) -> list[Path]:
        """Delete the unused entries and stale temporaries; return what was deleted."""
        removed = []
        for path in [entry.path for entry in self.unused()] + self.stale_temporaries():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        return removed
