"""The paper comparison: the paper's single-run numbers next to ours (pandas; no rendering).

Paper values come as ``{lineage: {key: value}}``. A key is a table column (``BAN-1``) or a member
name (``gen1``), optionally followed by a space and a split other than ``test`` that the study's
task lists in ``Task.paper_splits`` (text studies: ``"BAN-1 val"``, the validation perplexity, as
the paper's Table 6 reports both). A plain key is the test split.

A value of split ``test`` is compared with the task's primary score (``Task.primary``: test error
for image studies, test perplexity for text studies); a value of another split with the score
that the task's tables show under that split label (text ``val``: ``val_ppl``). For each
(lineage, column, split) with a paper value:

    difference = ours mean − paper

with ``ours mean`` / ``ours std`` / ``n_seeds`` the seed statistics of ``ban.report.frame``
(NaN and 0 seeds where we have no such member). ``ban.report.tables`` renders ``paper_frame``
as ``table_paper.{csv,md,tex}``.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ban.member_kinds import CONTROLS, column_label, column_sort_key, is_column, is_member
from ban.report.frame import MISSING, ReportInputError, is_number, lineage_order, summarize
from ban.tasks import TASKS, Task, get_task

__all__ = ["PAPER_COLUMNS", "normalize_paper", "paper_frame", "parse_paper_key", "split_score"]

PAPER_COLUMNS = ["lineage", "column", "split", "paper", "ours mean", "ours std", "n_seeds", "difference"]
"""Columns of ``paper_frame``."""

_SUFFIX_SPLITS = tuple(sorted({split for task in TASKS.values() for split in task.paper_splits if split != "test"}))
"""Splits a paper key may name with a ``" <split>"`` suffix (any task's; checked per task later)."""


def _key_help() -> str:
    """The allowed paper keys in words, from the member kinds and the tasks' splits."""
    controls = ", ".join(control.label for control in CONTROLS.values())
    suffixes = "; ".join(
        f"{', '.join(t.name for t in TASKS.values() if split in t.paper_splits)} studies may add ' {split}'"
        for split in _SUFFIX_SPLITS
    )
    return f"Teacher, BAN-k, {controls}, Ind-i, Ens*k, Indep*k or a member name" + (f"; {suffixes}" if suffixes else "")


def parse_paper_key(key: object) -> tuple[str, str] | None:
    """(column, split) of a paper key: a column or member name, optionally followed by " <split>";
    None when the name is neither."""
    name, split = key, "test"
    for suffix in _SUFFIX_SPLITS:
        if isinstance(key, str) and key.endswith(f" {suffix}"):
            name, split = key[: -len(suffix) - 1], suffix
    if is_column(name):
        return name, split
    if is_member(name):
        return column_label(name), split
    return None


def _paper_key(key: object, lineage: object) -> tuple[str, str]:
    """(column, split) of a paper key; a name that is no column raises ``ReportInputError``."""
    parsed = parse_paper_key(key)
    if parsed is None:
        raise ReportInputError(f"paper[{lineage!r}]: {key!r} is not a table column ({_key_help()})")
    return parsed


def split_score(task: Task, split: str) -> str:
    """The score key a paper value of ``split`` is compared with: ``task.primary`` for ``test``,
    else the key of the task's table score labelled ``split``; ReportInputError if there is none."""
    if split == "test":
        return task.primary
    for view in task.tables:
        for score in view.scores:
            if score.split == split:
                return score.key
    raise ReportInputError(f"{task.name} studies have no {split} score")


def normalize_paper(paper: Mapping, task: str | None = None) -> dict[str, dict[tuple[str, str], float]]:
    """``{lineage: {(column, split): value}}`` with member names mapped to column names; checks types
    and, given the study's ``task`` name, that each split is in its ``paper_splits`` (val only for
    text studies). Every problem raises a one-line ``ReportInputError``."""
    if not isinstance(paper, Mapping):
        raise ReportInputError(f"paper values must be a mapping {{lineage: {{column: value}}}}, got {type(paper).__name__}")
    splits = get_task(task).paper_splits if task is not None else None
    normalized: dict[str, dict[tuple[str, str], float]] = {}
    for lineage, values in paper.items():
        if not isinstance(values, Mapping):
            raise ReportInputError(f"paper[{lineage!r}] must be a mapping {{column: value}}")
        row: dict[tuple[str, str], float] = {}
        for key, value in values.items():
            column, split = _paper_key(key, lineage)
            if splits is not None and split not in splits:
                raise ReportInputError(f"paper[{lineage!r}][{key!r}]: {task} studies have no {split} score")
            if not is_number(value):
                raise ReportInputError(f"paper[{lineage!r}][{key!r}] must be a number, got {value!r}")
            if (column, split) in row:
                raise ReportInputError(f"paper[{lineage!r}] gives column {column!r} ({split}) twice")
            row[(column, split)] = float(value)
        normalized[str(lineage)] = row
    return normalized


def paper_frame(frame: pd.DataFrame, paper: Mapping, task: str) -> pd.DataFrame:
    """One row per (lineage, column, split) with a paper value: ``PAPER_COLUMNS``.

    difference = ours mean − paper. Lineages: ours in order, then lineages only the paper has;
    within a lineage, columns in table order, splits in ``paper_splits`` order (test before val).
    """
    normalized = normalize_paper(paper, task)
    spec = get_task(task)
    splits = spec.paper_splits
    stats = {split: summarize(frame, split_score(spec, split)) for split in splits}
    ours = lineage_order(frame)
    lineages = ours + [name for name in normalized if name not in ours]
    rows = []
    for lineage in lineages:
        keys = normalized.get(lineage, {})
        for column, split in sorted(keys, key=lambda k: (column_sort_key(k[0]), splits.index(k[1]))):
            value = keys[(column, split)]
            cell = stats[split].get((lineage, column), MISSING)
            rows.append({
                "lineage": lineage, "column": column, "split": split, "paper": value,
                "ours mean": cell.mean, "ours std": cell.std, "n_seeds": cell.n_seeds,
                "difference": cell.mean - value,
            })
    return pd.DataFrame(rows, columns=PAPER_COLUMNS)
