"""The metrics frame of one study and its seed summaries (pandas, numpy; no plotting, no torch).

``load_metrics(paths)`` reads ``metrics.json`` files into one row per file; ``summarize(frame,
key)`` reduces score ``key`` to one ``CellStats`` per (lineage, column). For a lineage and member
with scores x_s over the seeds s it ran with (n seeds):

    mean = (1/n) Σ_s x_s
    std  = sqrt(Σ_s (x_s − mean)² / (n − 1))          (ddof = 1; undefined (NaN) for n = 1)
    d_s  = x_s − t_s,  s ∈ S                           (paired differences vs the Teacher)
    gain = (1/m) Σ_{s ∈ S} d_s                         (paired Δ vs Teacher)
    [gain low, gain high] = gain ∓ t_{0.975, m−1} · sd(d) / √m     (95% Student-t interval; m ≥ 2)
    wins = #{s ∈ S : d_s < 0},  ties = #{s ∈ S : d_s = 0},  n_paired = m

where t_s is the teacher's (gen0) score of the same seed and S (m seeds) are the seeds both ran;
sd has ddof = 1 and the t quantile comes from ``ban.report.stats``. A negative gain means a lower
error / NLL / ECE / perplexity than the teacher; a win is a seed in which the member's score is
strictly lower than its teacher's (ties are counted apart). With one paired seed there is no
interval (NaN bounds, never a zero-width one). The Teacher column has no gain (NaN, and NaN
bounds, wins, ties and n_paired), nor has a member none of whose seeds the teacher ran.

Columns are the members' table labels (``ban.member_kinds.column_label``: gen0→Teacher, genk→BAN-k,
a control's label, indi→Ind-i, ensk→Ens*k, indepk→Indep*k) in ``ban.member_kinds.column_sort_key``
order (Teacher, BAN-1..K, controls, Ind-1..N, Ens*2, Indep*2, Ens*3, Indep*3, …); lineages keep the order
of their first appearance in the given paths (the config order). Which scores a file must carry
is its task's ``score_keys`` (``ban.tasks``). ``load_histories`` reads the per-epoch ``history``
rows that the training curves plot. Tables (``ban.report.tables``) and plots (``ban.report.plots``)
both read this module; it reads neither.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ban.member_kinds import TEACHER, MemberError, column_label, column_sort_key, kind_of
from ban.report.stats import paired
from ban.tasks import ALL_SCORE_KEYS, TASKS

__all__ = [
    "COMMON_KEYS", "MISSING", "CellStats", "MetricsFileError", "ReportInputError", "column_order", "is_number",
    "lineage_order", "load_histories", "load_metrics", "read_metrics", "single_study", "summarize",
]


class MetricsFileError(ValueError):
    """A metrics.json that cannot be read or lacks what the contract requires; the message is one
    line that starts with the file's path."""


class ReportInputError(ValueError):
    """Metrics files or paper values that do not make one table (several studies, bad names, ...)."""


COMMON_KEYS = ("study", "lineage", "seed", "member", "task")
"""Keys every metrics.json carries, whatever its task."""


def is_number(value: object) -> bool:
    """An int or float that is not a bool (JSON ``true`` is not a score)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def read_metrics(path: str | Path) -> dict:
    """One metrics.json as a dict, checked for ``COMMON_KEYS``, a known task and member, the
    task's ``score_keys`` (numbers) and a ``history`` list of objects (when present).

    Every failure raises ``MetricsFileError`` naming ``path``.
    """
    path = Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MetricsFileError(f"{path}: cannot read metrics file ({error.strerror or error})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise MetricsFileError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(record, dict):
        raise MetricsFileError(f"{path}: metrics file must hold a JSON object, got {type(record).__name__}")
    missing = [key for key in COMMON_KEYS if key not in record]
    if missing:
        raise MetricsFileError(f"{path}: metrics file lacks key(s) {', '.join(missing)}")
    if not isinstance(record["task"], str) or record["task"] not in TASKS:
        raise MetricsFileError(f"{path}: task must be one of {', '.join(map(repr, TASKS))}; got {record['task']!r}")
    task = TASKS[record["task"]]
    missing = [key for key in task.score_keys if key not in record]
    if missing:
        raise MetricsFileError(f"{path}: {task.name} metrics file lacks score key(s) {', '.join(missing)}")
    for key in ("study", "lineage", "member"):
        if not isinstance(record[key], str) or not record[key]:
            raise MetricsFileError(f"{path}: {key!r} must be a non-empty string, got {record[key]!r}")
    if not isinstance(record["seed"], int) or isinstance(record["seed"], bool):
        raise MetricsFileError(f"{path}: 'seed' must be an integer, got {record['seed']!r}")
    try:
        kind_of(record["member"])
    except MemberError as error:
        raise MetricsFileError(f"{path}: {error}") from None
    for key in task.score_keys:
        if not is_number(record[key]):
            raise MetricsFileError(f"{path}: score {key!r} must be a number, got {record[key]!r}")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        raise MetricsFileError(f"{path}: 'history' must be a list of objects")
    return record


def load_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per metrics.json, in the given order.

    Columns: study, lineage, seed, member, column (``column_label(member)``), task, the score
    columns ``ban.tasks.ALL_SCORE_KEYS`` (NaN where the file's task has no such score), path.
    Two files for the same (study, lineage, seed, member) raise ``ReportInputError``.
    """
    rows = []
    seen: dict[tuple, Path] = {}
    for path in paths:
        path = Path(path)
        record = read_metrics(path)
        identity = (record["study"], record["lineage"], record["seed"], record["member"])
        if identity in seen:
            raise ReportInputError(f"{path}: same study/lineage/seed/member {identity} as {seen[identity]}")
        seen[identity] = path
        row = {key: record[key] for key in COMMON_KEYS}
        row["column"] = column_label(record["member"])
        score_keys = TASKS[record["task"]].score_keys
        for key in ALL_SCORE_KEYS:
            row[key] = float(record[key]) if key in score_keys else math.nan
        row["path"] = str(path)
        rows.append(row)
    columns = ["study", "lineage", "seed", "member", "column", "task", *ALL_SCORE_KEYS, "path"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["seed"] = frame["seed"].astype("int64")
    return frame


def single_study(frame: pd.DataFrame) -> tuple[str, str]:
    """(study, task name) of metrics that must come from one study of one task; else ReportInputError."""
    if frame.empty:
        raise ReportInputError("no metrics files given")
    studies = list(pd.unique(frame["study"]))
    if len(studies) != 1:
        raise ReportInputError(f"metrics from several studies {studies}; give one study's files")
    tasks = list(pd.unique(frame["task"]))
    if len(tasks) != 1:
        raise ReportInputError(f"study {studies[0]!r} mixes tasks {tasks}")
    return str(studies[0]), str(tasks[0])


def load_histories(paths: Iterable[str | Path], key: str) -> pd.DataFrame:
    """Long table of per-epoch ``key`` values: lineage, seed, member, column, epoch, value.

    One row per ``history`` row of each file (files in the given order, rows in file order).
    Rows without ``key`` (or with null: epochs that were not scored) are left out; a row without
    an integer ``epoch`` or with a non-numeric ``key`` raises ``MetricsFileError`` naming the file.
    """
    rows = []
    for path in paths:
        record = read_metrics(path)
        for row in record.get("history", []):
            epoch = row.get("epoch")
            if not isinstance(epoch, int) or isinstance(epoch, bool):
                raise MetricsFileError(f"{path}: history row without an integer 'epoch': {row}")
            value = row.get(key)
            if value is None:
                continue
            if not is_number(value):
                raise MetricsFileError(f"{path}: history {key!r} must be a number, got {value!r}")
            rows.append({"lineage": record["lineage"], "seed": record["seed"], "member": record["member"],
                         "column": column_label(record["member"]), "epoch": epoch, "value": float(value)})
    return pd.DataFrame(rows, columns=["lineage", "seed", "member", "column", "epoch", "value"])


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellStats:
    """Seed statistics of one (lineage, column, score): ``mean``, ``std`` (ddof = 1; NaN for one
    seed), paired ``gain`` vs the Teacher (NaN without one) and ``n_seeds``; the gain's 95% t
    interval ``gain_low``/``gain_high`` (NaN for fewer than two paired seeds), ``wins``, ``ties``
    and ``n_paired`` (NaN without a gain); see the module docstring."""

    mean: float
    std: float
    gain: float
    n_seeds: int
    gain_low: float = math.nan
    gain_high: float = math.nan
    wins: float = math.nan
    ties: float = math.nan
    n_paired: float = math.nan


MISSING = CellStats(math.nan, math.nan, math.nan, 0)
"""The statistics of a (lineage, column) without any metrics file."""


def lineage_order(frame: pd.DataFrame) -> list[str]:
    """Lineages in order of first appearance."""
    return [str(name) for name in pd.unique(frame["lineage"])]


def column_order(frame: pd.DataFrame) -> list[str]:
    """Columns present in the metrics, in table order (``ban.member_kinds.column_sort_key``)."""
    return sorted({str(c) for c in frame["column"]}, key=column_sort_key)


def summarize(frame: pd.DataFrame, key: str) -> dict[tuple[str, str], CellStats]:
    """CellStats of score ``key`` for every (lineage, column) of ``frame`` with a value of it (NaN:
    none; formulas above)."""
    by_cell: dict[tuple[str, str], dict[int, float]] = {}
    for lineage, column, seed, value in zip(frame["lineage"], frame["column"], frame["seed"], frame[key]):
        if not math.isnan(float(value)):
            by_cell.setdefault((lineage, column), {})[int(seed)] = float(value)
    stats = {}
    for (lineage, column), by_seed in by_cell.items():
        values = np.array(list(by_seed.values()), dtype=float)
        n = len(values)
        std = float(np.std(values, ddof=1)) if n > 1 else math.nan
        gain = low = high = wins = ties = n_paired = math.nan
        teacher = by_cell.get((lineage, TEACHER))
        if column != TEACHER and teacher:
            diffs = [by_seed[s] - teacher[s] for s in by_seed if s in teacher]
            if diffs:
                gain = float(np.mean(diffs))  # the gain as before; the interval is centred on the same mean
                pairs = paired(diffs)
                low = math.nan if pairs.low is None else pairs.low
                high = math.nan if pairs.high is None else pairs.high
                wins, ties, n_paired = pairs.wins, pairs.ties, pairs.n
        stats[(lineage, column)] = CellStats(float(np.mean(values)), std, gain, n, low, high, wins, ties, n_paired)
    return stats
