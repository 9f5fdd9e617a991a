"""The state of a fresh ``python`` process, taken on by a child forked from a warm server
(``warm_snakemake.py``, ``warm_trainer.py``): imported by the servers, run as scripts from this folder."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

BASE_PATH = [entry for entry in sys.path[1:] if entry not in os.environ.get("PYTHONPATH", "").split(os.pathsep)]
"""``sys.path`` of a fresh interpreter, less the first entry (the server script's folder here, the
working directory under ``-m``) and the server's own ``PYTHONPATH``."""


def become(request: dict, argv: list[str], streams: Callable[[], tuple[int, int, int]], main: Callable[[], None]) -> None:
    """In a forked child: its own process group; ``streams()`` as stdin, stdout and stderr; the
    working directory ``request["cwd"]``, the environment ``request["env"]``, ``sys.path`` (that
    folder, then ``PYTHONPATH``, then a fresh interpreter's) and ``sys.argv``; then ``main()``, and
    the child exits with its status (a traceback and 1 for anything but ``SystemExit``)."""
    code = 1
    try:
        os.setpgrp()
        for fd, target in zip(streams(), (0, 1, 2)):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        extra = [entry for entry in request["env"].get("PYTHONPATH", "").split(os.pathsep) if entry]
        sys.path[:] = [os.getcwd(), *extra, *BASE_PATH]
        sys.argv = argv
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except BaseException:  # noqa: BLE001 - whatever it was, it is the child's failure to report
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001
                pass
        os._exit(code)
