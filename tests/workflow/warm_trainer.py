"""``python -m ban train`` for the jobs of the workflow tests, run in processes forked from one that
has already imported torch.

A tiny training spends about two seconds of CPU importing torch and a fraction of a second
training, and the workflow tests run about a hundred of them. The jobs find ``python`` first in
``tests/workflow/warm_python/`` (``conftest.project_env``): that script runs anything but
``python -m ban train ARGS`` with the real interpreter, and that command as this module's client.

The client connects to the server's Unix socket (``$BAN_TEST_WARM_TRAINER``) and sends its
arguments, working directory and environment as one JSON message, with its stdin, stdout and
stderr attached (``SCM_RIGHTS``). The server, which has imported torch and nothing of the project,
forks a child that becomes what ``python -m ban train ARGS`` would have been there: the working
directory, ``os.environ``, ``sys.path`` (the folder, then ``PYTHONPATH``), ``sys.argv``, the three
streams, its own process group; then it runs the ``ban`` package as ``__main__``. The server sends
the child's exit status back (``128 + N`` for a signal ``N``), and the client exits with it; each
request's arguments are a line of ``requests.log`` beside the socket.

A client that ends before its trainer (killed with its job, a SIGTERM from Snakemake) closes its
connection; the server then kills the trainer's process group at once, as a killed job's trainer
is killed. The server ends, killing its trainers, when the test process that started it closes its
stdin. Tests about processes themselves (killed runs, timeouts, SLURM) run fresh trainers.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HEADER = struct.Struct("!Q")
WARM_PYTHON = Path(__file__).with_name("warm_python")
"""The folder of the ``python`` the jobs find first on their ``PATH``."""


def client(argv: list[str]) -> int:
    """Run ``python ARGV`` (``-m ban train ...``) in the server; return its exit status."""
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):  # ending closes the connection: the trainer ends
        signal.signal(signum, lambda signum, frame: os._exit(128 + signum))
    request = json.dumps({"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(os.environ["BAN_TEST_WARM_TRAINER"])
        socket.send_fds(sock, [HEADER.pack(len(request))], [0, 1, 2])
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(64):
            answer += chunk
    return int(answer) if answer.strip() else 1


def read_request(conn: socket.socket) -> tuple[dict, list[int]]:
    header, fds, _, _ = socket.recv_fds(conn, HEADER.size, 3)
    (size,) = HEADER.unpack(header)
    body = b""
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ConnectionError("the client went away")
        body += chunk
    return json.loads(body), fds


def become_trainer(request: dict, fds: list[int]) -> None:
    """In the forked child: the state of a fresh ``python -m ban ...`` (``forked.become``), then the
    ``ban`` package as ``__main__``."""
    import runpy

    from forked import become  # this script's folder

    become(request, ["ban", *request["argv"][2:]], lambda: tuple(fds),  # runpy puts ban/__main__.py's path first
           lambda: runpy.run_module("ban", run_name="__main__", alter_sys=True))


def serve(path: str) -> None:
    import forked  # noqa: F401 - this script's folder: what each child becomes a fresh process with
    import torch  # noqa: F401 - what every child shares

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    children: dict[int, socket.socket] = {}  # trainer pid -> its client's connection
    try:
        while True:
            readable, _, _ = select.select([listener, sys.stdin, *children.values()], [], [], 0.05)
            if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1024):
                return  # the test process has ended
            if listener in readable:
                conn, _ = listener.accept()
                try:
                    request, fds = read_request(conn)
                except (ConnectionError, OSError, ValueError):
                    conn.close()
                else:
                    with open(os.path.join(os.path.dirname(path), "requests.log"), "a") as log:  # what it ran, for tests
                        log.write(json.dumps(request["argv"]) + "\n")
                    pid = os.fork()
                    if pid == 0:
                        listener.close()
                        for other in children.values():
                            other.close()
                        conn.close()
                        become_trainer(request, fds)
                    try:  # as the child does itself: the group exists before a kill can be asked for
                        os.setpgid(pid, pid)
                    except OSError:
                        pass
                    for fd in fds:
                        os.close(fd)
                    children[pid] = conn
            for pid, conn in children.items():
                if conn in readable and not conn.recv(1):  # the client is gone: so is its trainer
                    try:
                        os.killpg(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            while children:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if not pid:
                    break
                code = os.waitstatus_to_exitcode(status)
                conn = children.pop(pid)
                try:
                    conn.sendall(f"{128 - code if code < 0 else code}\n".encode())
                except OSError:
                    pass
                conn.close()
    finally:
        for pid in children:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


class WarmTrainer:
    """The test process's ``warm_trainer.py`` server, started on first use; ``env()`` names its socket
    and the real interpreter for ``WARM_PYTHON/python``, which a job finds first on its ``PATH``."""

    def __init__(self) -> None:
        self.server: subprocess.Popen | None = None
        self.socket: Path | None = None

    def env(self) -> dict[str, str]:
        if self.socket is None:
            self.socket = Path(tempfile.mkdtemp(prefix="warm-trainer-")) / "socket"
            atexit.register(shutil.rmtree, self.socket.parent, True)
        if self.server is None or self.server.poll() is not None:
            self.socket.unlink(missing_ok=True)
            env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
            self.server = subprocess.Popen([sys.executable, __file__, str(self.socket)], stdin=subprocess.PIPE,
                                           stdout=subprocess.PIPE, env=env, text=True, cwd=self.socket.parent)
            if self.server.stdout.readline() != "ready\n":
                raise RuntimeError(f"{Path(__file__).name} did not start (return code {self.server.wait()})")
        return {"BAN_TEST_WARM_TRAINER": str(self.socket), "BAN_TEST_PYTHON": sys.executable}

    def requests(self) -> list[list[str]]:
        """The command lines it has run, in order."""
        log = self.socket and self.socket.with_name("requests.log")
        return [json.loads(line) for line in log.read_text().splitlines()] if log and log.exists() else []

    def trainers(self) -> list[int]:
        """The pids of its trainers now running."""
        if self.server is None:
            return []
        path = Path(f"/proc/{self.server.pid}/task/{self.server.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []


SERVER = WarmTrainer()


if __name__ == "__main__":
    if sys.argv[1] == "--client":
        sys.exit(client(sys.argv[2:]))
    serve(sys.argv[1])
