"""The store of finished trainings: each one kept once under its store key, checked by hash.

**A training's identity is the hash of everything that decides its bytes, and of nothing else**
(``ban.identity``): its dataset and a digest of the data it reads, model, objective, recipe, random
streams, code fingerprint and its teacher's identity, and no names or paths. A store entry is
keyed on the identity and what it leaves to the machine, the numerics environment (library
versions, device kind, CPU kernel level; ``ban.environment``) and the teacher's bytes::

    <store>/<store key>/{predictions.npz, model.pt, metrics.json, record.json}
    record.json = {"format": "ban.store/2", "key", "identity", "store_key", "environment",
                   "teacher_identity", "teacher_sha256", "checkpoint_sha256",
                   "training": training_spec, "files": {name: sha256}, "placed": [member folders]}

So one entry serves every study, lineage and sweep cell that asks for the same training in the
same environment; a restore never crosses environments.

- :meth:`Store.keep`: a finished trainer copies its three outputs in (reflinks where the file
  system has them, else byte copies: no inode is shared with ``results/``, so nothing written to a
  results file reaches the store, and a restore changes no other folder's files). The entry is
  built in a temporary folder with an unpredictable name and renamed into place; an entry of the
  same key is moved aside first and deleted only once the new one is in place.
- :meth:`Store.restore`: a training job whose key is kept takes the outputs back instead of
  training, after checking that the entry is what its key says: the record's identity,
  environment and teacher hash give the key it is filed under, every file has its recorded
  sha256, and the stored ``metrics.json`` records the same identity, key and file hashes. Only
  content that contradicts its key is damage: such an entry is removed (the member then trains
  again). A file that cannot be read (permission, I/O error) or copied (a full disk) is one line
  in the job's log; nothing is deleted and the member trains. The restored ``metrics.json`` names
  the member that asked (``ban.identity.member_fields``; the labels of the member that trained
  it, ``LABEL_KEYS``, are dropped).
- Every read and write of an entry holds the entry's lock (``.locks/<key>.lock``, ``flock``);
  :meth:`Store.training` holds ``.locks/<key>.train`` for a whole training, so two jobs (two
  studies, two clones sharing the store) that ask for the same training at the same time train it
  once: the second waits and restores.

The store is ``$BAN_STORE``, else ``.ban-store`` in the project (the working directory of the
workflow and its jobs); ``$BAN_STORE=off`` (the workflow's ``store: off``) turns it off: nothing is
restored or kept. Files and folders get the user's umask. :meth:`Store.unused` lists the entries
no member folder uses (no folder in ``placed`` holds a ``metrics.json`` recording the entry's
identity and file hashes); ``prune`` deletes only those. No torch import: a restore costs a Python
start and a few file hashes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from ban.files import copy_file, free_space, sha256_file, write_json
from ban.identity import LABEL_KEYS, OUTPUT_FILES, RECORDED_FILES, Identity, member_fields, store_key, training_spec

ENV = "BAN_STORE"
OFF = "off"
"""``$BAN_STORE=off``: no store."""
DEFAULT_DIR = ".ban-store"
"""The store, relative to the project root, when ``$BAN_STORE`` is not set."""
FORMAT = "ban.store/2"
RECORD = "record.json"
LOCKS = ".locks"

__all__ = ["OUTPUT_FILES", "RECORDED_FILES", "Entry", "Store", "StoreError", "sha256_file", "store_dir"]


class StoreError(ValueError):
    """A store that cannot be used at all (its path is a file); one line naming it."""


def store_dir(project: Path = Path(".")) -> Path | None:
    """The store in effect (absolute), or None when ``$BAN_STORE`` is ``off``."""
    value = os.environ.get(ENV)
    if value == OFF:
        return None
    return Path(value or Path(project) / DEFAULT_DIR).absolute()


def use_default_store(project: Path = Path("."), enabled: bool = True) -> Path | None:
    """Set ``$BAN_STORE`` to the store in effect (``off`` when not ``enabled``), so that every job
    of the workflow uses it; a store path that exists and is not a folder is a :class:`StoreError`."""
    if not enabled:
        os.environ[ENV] = OFF
        return None
    folder = store_dir(project)
    if folder is not None:
        check_store_path(folder)
        os.environ[ENV] = str(folder)
    return folder


def check_store_path(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise StoreError(f"store {folder}: a file, not a folder (${ENV}, else {DEFAULT_DIR} in the project, names the "
                         f"store of finished trainings; move the file or set ${ENV} to a folder, or to {OFF})")


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


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


class Unusable(Exception):
    """An entry that cannot be used now: ``damaged`` (its content contradicts its key) or not."""

    def __init__(self, message: str, damaged: bool):
        super().__init__(message)
        self.damaged = damaged


class Store:
    """The store at ``root`` (see the module docstring)."""

    def __init__(self, root: Path | None = None):
        self.root = Path(root).absolute() if root is not None else store_dir()
        if self.root is not None:
            check_store_path(self.root)

    @property
    def enabled(self) -> bool:
        return self.root is not None

    def entry(self, key: str) -> Path:
        return self.root / key

    @contextlib.contextmanager
    def _flock(self, key: str, suffix: str, log: Callable[[str], None] | None = None) -> Iterator[None]:
        folder = self.root / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{key}.{suffix}", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if log is not None:
                    log(f"waiting: another job trains the same identity (store key {key[:12]}…); restoring its result after")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def training(self, key: str, log: Callable[[str], None] = print) -> Iterator[None]:
        """Hold the key's training lock (see the module docstring); a no-op without a store, and
        where the lock cannot be taken (a read-only store: the job then trains as if alone)."""
        with contextlib.ExitStack() as held:
            if self.enabled:
                try:
                    held.enter_context(self._flock(key, "train", log))
                except OSError as err:
                    log(f"warning: store {self.root}: cannot lock {key[:12]}… ({_reason(err)}); training without the lock")
            yield

    def check(self, key: str, identity: str | None = None) -> dict:
        """The record of the entry ``key`` when it is intact (module docstring); else :class:`Unusable`."""
        entry = self.entry(key)
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise Unusable(f"{RECORD} is missing", damaged=True) from None
        except OSError as err:
            raise Unusable(f"{entry / RECORD}: {_reason(err)}", damaged=False) from None
        except ValueError:
            raise Unusable(f"{RECORD} is not JSON", damaged=True) from None
        try:
            filed_as = store_key(record["identity"], record["environment"], record["teacher_sha256"])
            files = {name: record["files"][name] for name in OUTPUT_FILES}
        except (KeyError, TypeError, AttributeError):
            raise Unusable(f"{RECORD} lacks its identity, environment or file hashes", damaged=True) from None
        if record.get("key") != key or filed_as != key or (identity is not None and record["identity"] != identity):
            raise Unusable(f"{RECORD} describes another training than the one filed under {key[:12]}…", damaged=True)
        for name in OUTPUT_FILES:
            try:
                actual = sha256_file(entry / name)
            except FileNotFoundError:
                raise Unusable(f"{name} is missing", damaged=True) from None
            except OSError as err:
                raise Unusable(f"{entry / name}: {_reason(err)}", damaged=False) from None
            if actual != files[name]:
                raise Unusable(f"{name} does not match its recorded sha256", damaged=True)
        try:
            metrics = json.loads((entry / "metrics.json").read_text(encoding="utf-8"))
            agrees = (metrics.get("identity") == record["identity"] and metrics.get("store_key") == key
                      and all(metrics["files"][name] == files[name] for name in RECORDED_FILES))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            agrees = False
        if not agrees:
            raise Unusable("its metrics.json records another training or other files than record.json", damaged=True)
        return record

    def restore(self, identity: Identity, out_dir: Path, spec: dict, log: Callable[[str], None] = print) -> dict | None:
        """Put the kept outputs of ``identity`` into ``out_dir`` (checked, ``metrics.json`` last and
        naming ``spec``'s member) and return the metrics; ``None`` when nothing usable is kept."""
        if not self.enabled or not self.entry(identity.key).is_dir():
            return None
        entry = self.entry(identity.key)
        out_dir = Path(out_dir)
        try:
            with self._flock(identity.key, "lock"):
                try:
                    self.check(identity.key, identity.hash)
                except Unusable as problem:
                    if problem.damaged:
                        log(f"store entry {entry} is damaged ({problem}): removed; training again")
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        log(f"store entry {entry} cannot be read ({problem}): left as it is; training instead")
                    return None
                metrics = json.loads((entry / "metrics.json").read_text(encoding="utf-8"))
                for name in RECORDED_FILES[::-1]:  # predictions.npz, model.pt
                    copy_file(entry / name, out_dir / name)
                metrics = {**{k: v for k, v in metrics.items() if k not in LABEL_KEYS}, **member_fields(spec)}
                write_json(out_dir / "metrics.json", metrics)
                self._place(entry, out_dir)
        except OSError as err:
            where = f"{out_dir}: no space left ({free_space(out_dir)})" if err.errno in (errno.ENOSPC, errno.EDQUOT) else _reason(err)
            log(f"cannot restore from the store {entry} ({where}); nothing deleted; training instead")
            return None
        except ValueError as err:  # DiskFullError from an atomic write
            log(f"cannot restore from the store {entry} ({err}); nothing deleted; training instead")
            return None
        log(f"restored from the store: {entry} (sha256 verified; no training)")
        return metrics

    def keep(self, identity: Identity, out_dir: Path, spec: dict, log: Callable[[str], None] = print) -> bool:
        """Keep copies of the finished outputs in ``out_dir`` under ``identity.key``. Never fails the
        training: a store that cannot take them (full disk, no permission) costs a line in the log
        and leaves ``out_dir`` and any entry there as they are. Returns whether the entry is kept."""
        if not self.enabled:
            return False
        out_dir = Path(out_dir)
        entry = self.entry(identity.key)
        tmp = aside = None
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with self._flock(identity.key, "lock"):
                tmp = Path(tempfile.mkdtemp(prefix=f".{os.getpid()}.", suffix=".tmp", dir=self.root))
                os.chmod(tmp, 0o777 & ~_umask())
                files = {}
                for name in OUTPUT_FILES:
                    copy_file(out_dir / name, tmp / name)
                    files[name] = sha256_file(tmp / name)
                record = {"format": FORMAT, "key": identity.key, **identity.record(), "training": training_spec(spec),
                          "files": files, "placed": [str(out_dir.absolute())]}
                write_json(tmp / RECORD, record)
                if entry.exists():
                    try:
                        self.check(identity.key)
                    except Unusable as problem:
                        if not problem.damaged:
                            raise OSError(errno.EACCES, f"an entry of this key is there and cannot be read ({problem}); left as it is")
                    aside = Path(tempfile.mkdtemp(prefix=f".{os.getpid()}.", suffix=".old", dir=self.root))
                    os.rename(entry, aside / "entry")
                try:
                    os.rename(tmp, entry)
                except OSError:
                    if aside is not None:
                        os.rename(aside / "entry", entry)
                    raise
                tmp = None
        except (OSError, ValueError) as err:
            need = sum((out_dir / n).stat().st_size for n in OUTPUT_FILES if (out_dir / n).exists())
            full = isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT) or "no space left" in str(err)
            reason = f"no space left ({need:,} bytes needed, {free_space(self.root)})" if full else (
                _reason(err) if isinstance(err, OSError) else str(err))
            log(f"warning: not kept in the store {self.root}: {reason}; the outputs in {out_dir} are complete "
                "but a later rerun of this member will train it again")
            return False
        finally:
            for leftover in (tmp, aside):
                if leftover is not None:
                    shutil.rmtree(leftover, ignore_errors=True)
        return True

    def _place(self, entry: Path, out_dir: Path) -> None:
        """Add ``out_dir`` to the entry's ``placed`` list (best effort: only prune reads it)."""
        try:
            record = json.loads((entry / RECORD).read_text(encoding="utf-8"))
            folder = str(Path(out_dir).absolute())
            if folder not in record.get("placed", []):
                record["placed"] = [*record.get("placed", []), folder]
                write_json(entry / RECORD, record)
        except (OSError, ValueError, AttributeError):
            pass

    def entries(self) -> list[Entry]:
        """Every entry, in name order (temporary folders and locks are not entries)."""
        if not self.enabled or not self.root.is_dir():
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
        """Whether a member folder uses the entry: a folder it was placed in holds a ``metrics.json``
        recording the entry's identity and the sha256 of its model.pt and predictions.npz."""
        if entry.record is None:
            return False
        want = {name: entry.record["files"].get(name) for name in RECORDED_FILES}
        for folder in entry.record.get("placed", []):
            try:
                metrics = json.loads((Path(str(folder)) / "metrics.json").read_text(encoding="utf-8"))
                files = metrics.get("files") or {}
                if metrics.get("identity") == entry.record.get("identity") and all(files.get(n) == want[n] for n in RECORDED_FILES):
                    return True
            except (OSError, ValueError, AttributeError, TypeError):
                continue
        return False

    def unused(self) -> list[Entry]:
        """The entries no member folder uses (what :meth:`prune` deletes)."""
        return [entry for entry in self.entries() if not self.in_use(entry)]

    def stale_temporaries(self) -> list[Path]:
        """Temporary folders of trainers that are gone (``.<pid>.<random>.tmp`` or ``.old``)."""
        if not self.enabled or not self.root.is_dir():
            return []
        stale = []
        for path in sorted(self.root.glob(".*.*")):
            if path.name == LOCKS or path.suffix not in (".tmp", ".old"):
                continue
            pid = path.name.split(".")[1]
            if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
                stale.append(path)
        return stale

    def prune(self) -> list[Path]:
        """Delete the unused entries and stale temporaries; return what was deleted."""
        removed = []
        for path in [entry.path for entry in self.unused()] + self.stale_temporaries():
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        for lock in self.root.glob(f"{LOCKS}/*.*") if self.enabled else ():
            if not self.entry(lock.stem).exists():  # a lock of a pruned (or never kept) entry
                with contextlib.suppress(OSError):
                    with open(lock, "a+") as handle:  # not while a job holds it
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        lock.unlink()
        return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
