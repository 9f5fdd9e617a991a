"""``python -m ban status``: which members of each study are done, and on which code (no torch).

A member is

- ``missing``: no readable ``metrics.json``;
- ``finished``: a trained member whose ``metrics.json`` records the identity today's config asks
  for (``ban.plan``, ``ban.identity``) in today's environment; an ensemble that records the
  current code fingerprint of its rule (``ban.fingerprint``; comments, docstrings and formatting
  do not count);
- ``finished (older code)``: it records another code fingerprint (or none), so it differs;
- ``differs from the config``: a trained member whose recorded identity is not the one the config
  asks for (a changed recipe, dataset, teacher or imported checkpoint): the next run retrains it;
- ``finished (other environment: torch 2.13.0 -> 2.14.1, ...)``: the identity is right but it was
  trained with other library versions, device kind or CPU kernel level; it is kept (a rerun does
  not retrain it); delete its folder to retrain it here.

Paths are relative to the working directory, as the workflow's are.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

from ban.configfile import prepare_config, unreadable_problems
from ban.environment import environment as current_environment
from ban.fingerprint import RuleCode
from ban.plan import compare, planned_members, recorded_metrics
from ban.study import StudyError, iter_members, member_dir

SCHEMA = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.yaml"
MISSING, FINISHED, OLDER = "missing", "finished", "finished (older code)"
DIFFERS, OTHER_ENV = "differs from the config", "finished (other environment)"
STATES = (FINISHED, OTHER_ENV, OLDER, DIFFERS, MISSING)


@dataclass(frozen=True)
class MemberStatus:
    study: str
    lineage: str
    seed: int
    member: str
    state: str


def load_config(path: str | Path, schema: str | Path = SCHEMA) -> dict:
    """The config at ``path``, validated against the workflow's schema with its defaults filled in,
    its sweeps expanded into studies (each cell validated as a study). A file that cannot be read,
    is not YAML, or is not valid, is a ``ValueError`` of one line naming it."""
    path = Path(path)
    if problems := unreadable_problems(path):
        raise ValueError(problems[0])
    try:
        config = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise ValueError(f"{path}: not valid YAML ({getattr(err, 'problem', None) or type(err).__name__}{at})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the top level is {type(config).__name__}, not a mapping (with studies: or sweeps:)")
    if problems := prepare_config(config, [path], schema):  # the workflow's own checks (ban/configfile.py)
        raise ValueError(f"{path}: {problems[0].removeprefix('config: ')}")
    return config


def member_statuses(config: dict, code: RuleCode | None = None, root: Path = Path("."),
                    environment: dict | None = None) -> list[MemberStatus]:
    """The state of every member of every study of ``config``, in config order."""
    code = code or RuleCode()
    try:
        members = list(iter_members(config))
        planned = planned_members(config, code, root=root)
    except StudyError as err:
        raise ValueError(f"invalid config: {err}") from None
    if environment is None:
        environment = current_environment(config.get("device", "auto"))
    statuses = []
    for member in members:
        metrics = recorded_metrics(Path(root) / member_dir(*member) / "metrics.json")
        if metrics is None:
            state = MISSING
        elif member not in planned:  # an ensemble: its code only
            state = FINISHED if metrics.get("code") == code.of_member(member[3]) else OLDER
        else:
            found = compare(planned[member], metrics, environment)
            if found.differs:
                state = OLDER if found.older_code else DIFFERS
            elif found.changes:
                state = f"{OTHER_ENV[:-1]}: {', '.join(found.changes)})"
            else:
                state = FINISHED
        statuses.append(MemberStatus(member[0], member[1], int(member[2]), member[3], state))
    return statuses


def format_status(statuses: list[MemberStatus]) -> str:
    """Per study: a counts line, then one aligned row per member (lineage, seed, member, status)."""
    blocks = []
    for study in dict.fromkeys(s.study for s in statuses):
        rows = [s for s in statuses if s.study == study]
        counts = Counter(OTHER_ENV if s.state.startswith(OTHER_ENV[:-1]) else s.state for s in rows)
        summary = ", ".join(f"{counts[state]} {state}" for state in STATES if counts[state] or state in (FINISHED, MISSING))
        table = [("lineage", "seed", "member", "status")] + [(s.lineage, str(s.seed), s.member, s.state) for s in rows]
        widths = [max(len(row[i]) for row in table) for i in range(3)]
        lines = [f"{study}: {len(rows)} members: {summary}"]
        lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in table]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def status(configfile: str | Path = "config.yaml", root: Path = Path(".")) -> str:
    """The report ``python -m ban status`` prints."""
    return format_status(member_statuses(load_config(configfile), root=root))
