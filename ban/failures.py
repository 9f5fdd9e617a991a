"""The one-line errors of a run's failed jobs, for the console (no torch import).

Every job writes its log under ``logs/``; ``python -m ban`` ends a failed job's log with one line
``error: …`` (``ban.cli``). Snakemake's own log file of a run (the ``log`` argument of the
Snakefile's ``onerror`` handler) names the log file of every job the run started. So the jobs of
this run that failed with a ban error are exactly the logs named there whose last line starts with
``error:``: ``failure_lines`` returns one line ``<log path>: error: …`` for each, in the order
Snakemake names them. Logs of earlier runs are not named there, and no clock is compared.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ERROR_PREFIX = "error: "
LOG_PATH = re.compile(r"[^\s,'\"()]+\.log\b")
TAIL_BYTES = 8192


def last_error(path: Path) -> str | None:
    """The last non-empty line of ``path`` when it starts with ``error: ``, else None."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = [line.strip() for line in tail.replace("\r", "\n").splitlines() if line.strip()]
    return lines[-1] if lines and lines[-1].startswith(ERROR_PREFIX) else None


def named_logs(snakemake_logs: list[str]) -> list[str]:
    """Job log paths (``….log``) named in Snakemake's log files, first mention first, each once;
    only those that exist (relative to the working directory or absolute)."""
    found: dict[str, None] = {}
    for snakemake_log in snakemake_logs:
        try:
            text = Path(snakemake_log).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for path in LOG_PATH.findall(text):
            if path != str(snakemake_log) and not path.endswith(".snakemake.log") and Path(path).is_file():
                found.setdefault(path, None)
    return list(found)


def failure_lines(snakemake_logs: list[str] | str | None) -> list[str]:
    """``<log path>: error: …`` for each job log of this run (named in ``snakemake_logs``) that ends
    in a ban error line."""
    if isinstance(snakemake_logs, (str, Path)):
        snakemake_logs = [str(snakemake_logs)]
    lines = []
    for path in named_logs(list(snakemake_logs or [])):
        error = last_error(Path(path))
        if error is not None:
            lines.append(f"{path}: {error}")
    return lines


def print_failures(snakemake_logs: list[str] | str | None, stream=None) -> None:
    """Print ``failure_lines`` (the Snakefile's ``onerror`` handler), under one heading line."""
    lines = failure_lines(snakemake_logs)
    if lines:
        stream = stream or sys.stderr
        print(f"{len(lines)} failed job(s), from their logs:", file=stream)
        for line in lines:
            print(line, file=stream)
