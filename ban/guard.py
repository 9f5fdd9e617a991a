"""One writer per member folder, and a writer that stops when the workflow that started it is gone.

``member_lock(out_dir)`` holds an exclusive ``flock`` on ``<out_dir>/.writer.lock`` for as long
as a trainer writes into the folder; the file names the holder (pid, host, start time). A second
trainer on the same folder waits up to ``wait_seconds`` for it and then refuses with one line
naming the holder. The kernel drops the lock when its process dies, however it dies.

``watch_workflow(pid)`` starts a daemon thread that checks every ``interval`` seconds whether
process ``pid`` (the Snakemake that started the job: the rules pass ``--watch-pid $PPID``) is
still the same process; when it is gone the trainer's main thread gets ``WorkflowGone`` (a
``SystemExit``) at its next Python instruction, so atomic writes in progress are rolled back and
the last ``resume.pt`` stays the last finished epoch. ``SIGTERM`` (a SLURM time limit,
``scancel``) ends the trainer the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import threading
import time
from pathlib import Path

LOCK_FILE = ".writer.lock"


class MemberBusyError(ValueError):
    """Another process writes the member folder; the message names it."""


class WorkflowGone(SystemExit):
    """The workflow process that started this trainer has ended (or the trainer was sent SIGTERM)."""


@contextlib.contextmanager
def member_lock(out_dir: Path, wait_seconds: float = 30.0, poll: float = 0.5):
    """Hold the folder's writer lock for the ``with`` block (see the module docstring)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_FILE
    handle = open(path, "a+")
    try:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise MemberBusyError(
                        f"{out_dir} is being written by {holder}; waited {wait_seconds:.0f}s "
                        "(rerun when that process has ended)"
                    ) from None
                time.sleep(poll)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        handle.flush()
        yield path
    finally:
        handle.close()  # closing the descriptor releases the lock


def process_start(pid: int) -> str | None:
    """The start time of process ``pid`` (``/proc/<pid>/stat`` field 22), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"
        return "?"  # no /proc (not Linux): the pid exists, its start time is unknown
    return stat.rsplit(")", 1)[1].split()[19]


_gone: list[str] = []


def _terminate(signum, frame):
    reason = _gone[0] if _gone else f"stopped by signal {signum}"
    raise WorkflowGone(f"{reason}; resume.pt holds the last finished epoch")


def watch_workflow(pid: int, interval: float = 2.0) -> threading.Thread | None:
    """Stop this process (``WorkflowGone`` in the main thread) once process ``pid`` has ended.

    Also installs a ``SIGTERM`` handler that raises ``WorkflowGone``. Returns the watcher thread
    (None when ``pid`` is already gone: then the process stops at once)."""
    signal.signal(signal.SIGTERM, _terminate)
    started = process_start(pid)
    if started is None:
        raise WorkflowGone(f"stopped: workflow process {pid} has ended; resume.pt holds the last finished epoch")

    def watch() -> None:
        while process_start(pid) == started:
            time.sleep(interval)
        _gone.append(f"stopped: workflow process {pid} has ended")
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name=f"watch-{pid}", daemon=True)
    thread.start()
    return thread
