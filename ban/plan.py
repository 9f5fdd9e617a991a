"""What the config asks of each member, compared with what its folder holds (no torch import).

The workflow (``workflow/rules/common.smk``, ``checks.smk``) and ``python -m ban status`` both
use this, on every invocation and independent of Snakemake's ``.snakemake/`` records:

- ``member_code``: the code fingerprint a member's job runs with: the current one of its rule
  (``ban.fingerprint``), or, with ``rerun_on_code_change: false``, the one its finished
  ``metrics.json`` records;
- ``planned_members``: every trained member's spec (as its job receives it) and the identity the
  config asks of it (``ban.identity``: the teacher's identity recursively, a digest of the data,
  the imported checkpoint's bytes; ``None`` while an imported checkpoint is still to be written);
- ``same_training``: the members that ask for the training of an earlier one;
- ``compare``: for a finished member, whether its recorded identity is the planned one, and whether
  its recorded environment is today's (``ban.environment``; a result from another environment is
  named, not retrained).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ban.environment import differences
from ban.files import sha256_file
from ban.fingerprint import RuleCode
from ban.identity import planned_identities
from ban.member_kinds import kind_of
from ban.study import iter_members, member_dir, member_spec

Member = tuple[str, str, int, str]
"""(study, lineage, seed, member)"""


def recorded_metrics(path: Path) -> dict | None:
    """A finished member's ``metrics.json`` as a mapping (None when missing or unreadable)."""
    try:
        metrics = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metrics if isinstance(metrics, dict) else None


def recorded_code(path: Path) -> str | None:
    """The code fingerprint a finished member's ``metrics.json`` records (None when there is none)."""
    code = (recorded_metrics(path) or {}).get("code")
    return code if isinstance(code, str) else None


def member_code(config: dict, code: RuleCode, member: Member, root: Path = Path(".")) -> str:
    """The code fingerprint of ``member``'s job (see the module docstring)."""
    current = code.of_member(member[3])
    if config.get("rerun_on_code_change", True):
        return current
    return recorded_code(Path(root) / member_dir(*member) / "metrics.json") or current


@dataclass(frozen=True)
class Planned:
    """A trained member as the config asks for it: its job's spec and its identity (None: unknown yet)."""

    spec: dict
    identity: str | None


def planned_members(config: dict, code: RuleCode | None = None, sha256: Callable[[Path], str] = sha256_file,
                    root: Path = Path(".")) -> dict[Member, Planned]:
    """Every trained member of ``config`` (in config order) with its spec and planned identity."""
    code = code or RuleCode()
    rows = []
    for member in iter_members(config):
        kind = kind_of(member[3])
        if not kind.trained:
            continue
        spec = {**member_spec(config, *member), "code": member_code(config, code, member, root)}
        teacher = (*member[:3], kind.teacher) if kind.teacher else None
        rows.append((member, spec, teacher))
    identities = planned_identities(rows, sha256)
    return {member: Planned(spec, identities[member]) for member, spec, _ in rows}


def same_training(planned: dict[Member, Planned]) -> dict[Member, Member]:
    """Each member whose identity an earlier member of ``planned`` (config order) has, mapped to the
    first such member: one training serves both (the workflow runs the later one after it, and it
    restores the training from the store)."""
    first: dict[str, Member] = {}
    same = {}
    for member, plan in planned.items():
        if plan.identity is None:
            continue
        earlier = first.setdefault(plan.identity, member)
        if earlier != member:
            same[member] = earlier
    return same


@dataclass(frozen=True)
class Comparison:
    """A finished member against the plan: ``differs`` (its identity is not the planned one; with
    ``older_code`` when its code fingerprint differs too) and the environment ``changes``."""

    differs: bool
    older_code: bool
    changes: tuple[str, ...]


def compare(planned: Planned, metrics: dict, environment: dict) -> Comparison:
    recorded = metrics.get("identity")
    differs = planned.identity is not None and recorded != planned.identity
    older_code = metrics.get("code") != planned.spec.get("code")
    changes = () if differs else tuple(differences(metrics.get("environment"), environment))
    return Comparison(differs, older_code, changes)
