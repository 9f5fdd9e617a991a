"""Files written whole or not at all, copied without sharing an inode, and hashed (no torch).

- ``atomic_write(path, write)``: ``write(tmp)`` on a temporary sibling with an unpredictable name
  (``mkstemp``), ``fsync``, then ``os.replace`` onto ``path``: a reader sees the old file or the
  complete new one. Finished files get the user's umask. A full disk is one line
  (:class:`DiskFullError`) naming the folder, the bytes needed and the bytes free; the file keeps
  its previous content.
- ``write_bytes`` / ``write_json``: ``atomic_write`` of bytes, of canonical JSON (indent 2, sorted
  keys, newline).
- ``copy_file(source, dest)``: a copy that shares no inode with ``source``: a reflink (``FICLONE``)
  where the file system has them, else a byte copy; written atomically like ``atomic_write``.
- ``sha256_file(path)``: sha256 of a file's bytes.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable

FICLONE = 0x40049409
"""ioctl number of Linux's FICLONE (share extents copy-on-write: a reflink)."""


class DiskFullError(ValueError):
    """No space left to write a file; the message names the folder and the bytes needed."""


def sha256_file(path: Path) -> str:
    """sha256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def free_space(folder: Path) -> str:
    """``"N bytes free"`` in ``folder``'s file system (``"free space unknown"`` when it cannot be read)."""
    try:
        return f"{shutil.disk_usage(folder).free:,} bytes free"
    except OSError:
        return "free space unknown"


def raise_if_full(err: OSError, path: Path, size: int | None) -> None:
    """Raise :class:`DiskFullError` naming ``path``'s folder when ``err`` is a full disk or quota."""
    if err.errno not in (errno.ENOSPC, errno.EDQUOT):
        return
    needed = f"{size:,} bytes needed" if size is not None else "bytes needed unknown"
    raise DiskFullError(f"{Path(path).parent}: no space left on device to write {Path(path).name} ({needed}, "
                        f"{free_space(Path(path).parent)}); free space there and rerun (a training resumes from its "
                        "last resume.pt)") from None


def atomic_write(path: Path, write: Callable[[Path], None], size: int | None = None) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, fsync it, then rename it to ``path``.
    ``size``: the bytes to be written, named by the :class:`DiskFullError` of a full disk."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise_if_full(err, path, size)
        raise
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; finished files get the usual permissions
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise_if_full(err, path, size)
        raise


def write_bytes(path: Path, data: bytes) -> None:
    atomic_write(path, lambda tmp: tmp.write_bytes(data), size=len(data))


def json_bytes(obj: Any) -> bytes:
    """Canonical JSON: indent 2, sorted keys, a final newline."""
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def write_json(path: Path, obj: Any) -> None:
    write_bytes(path, json_bytes(obj))


def _clone_or_copy(source: Path, tmp: Path) -> None:
    with open(source, "rb") as src, open(tmp, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError:
            pass  # no reflinks on this file system (or across file systems): copy the bytes
        shutil.copyfileobj(src, dst, 1 << 20)


def copy_file(source: Path, dest: Path) -> None:
    """Copy ``source`` to ``dest`` atomically, sharing no inode: a reflink where the file system
    has them, else a byte copy. ``dest`` gets the current time and the user's umask."""
    source = Path(source)
    try:
        size = source.stat().st_size
    except OSError:
        size = None
    atomic_write(dest, lambda tmp: _clone_or_copy(source, tmp), size=size)
