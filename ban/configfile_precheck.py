"""The ``--configfile`` files of a ``snakemake`` command line, checked before Snakemake reads them.

Snakemake loads every ``--configfile`` while it parses its command line, before the Snakefile
runs: a folder, a missing file or one that is not UTF-8 ends there in a traceback, and a file
whose top level sets ``__use_yte__`` is evaluated as a YTE template, running the Python in it.
The workflow profiles (``workflow/profiles/*/config.yaml``), which Snakemake reads earlier, call
``refuse_bad_configfiles()``: one line per such file on standard error and exit status 1, before
any config file is read or run. Everything else in a config (keys given twice, the schema, the
``paper`` values) is checked by the Snakefile, all problems at once.

A run that skips the workflow profile (``--workflow-profile none``, or another workflow profile)
skips this check; the Snakefile still refuses a template, but only after Snakemake ran it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

from ban.configfile import unreadable_problems, yte_problems


def configfiles_on_command_line(argv: Sequence[str]) -> list[Path]:
    """The files that ``snakemake <argv>`` would load as config files, read by Snakemake's own
    parser (``--configfile a b``, ``--configfile=a``, ``--configfiles``, also repeated)."""
    if not any(arg.startswith("--configf") for arg in argv):
        return []  # the only prefix that names --configfile(s): --config is another option
    from snakemake.cli import get_argument_parser

    known, _ = get_argument_parser().parse_known_args(list(argv))
    return [Path(path) for path in known.configfile or []]


def command_line_problems(argv: Sequence[str]) -> list[str]:
    """One line per ``--configfile`` in ``argv`` that Snakemake could not read, or would run as a
    YTE template; ``[]`` when every one is a readable plain file (or there is none)."""
    problems = []
    for path in configfiles_on_command_line(argv):
        problems += unreadable_problems(path) or yte_problems(path)
    return problems


def refuse_bad_configfiles(argv: Sequence[str] | None = None) -> None:
    """Print ``invalid config: <problem>`` per problem of ``argv`` (default: this process's
    command line) to standard error and exit with status 1; return quietly when there is none."""
    problems = command_line_problems(sys.argv[1:] if argv is None else argv)
    if problems:
        print("\n".join(f"invalid config: {line}" for line in problems), file=sys.stderr)
        raise SystemExit(1)
