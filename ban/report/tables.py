"""Score tables of one study: one row per lineage, one column per member.

For a lineage and member with scores x_s over the seeds s it ran with (n seeds):

    mean = (1/n) Σ_s x_s
    std  = sqrt(Σ_s (x_s − mean)² / (n − 1))          (ddof = 1; undefined for n = 1)
    gain = (1/m) Σ_{s ∈ S} (x_s − t_s)                 (paired Δ vs Teacher)

where t_s is the teacher's (gen0) score of the same seed and S (m seeds) are the seeds both ran.
A negative gain means a lower error / NLL / ECE / perplexity than the teacher. The Teacher column
has no gain. Markdown and LaTeX cells read ``mean ± std (Δ gain)`` with 2 decimals; with a single
seed the cell shows the mean alone (no ``±``). Missing cells are ``—`` (``--`` in LaTeX) and
empty in CSV.

Column names (from member names): gen0→Teacher, genk→BAN-k, ban_l→BAN+L, cwtm→CWTM, dkpp→DKPP,
ensk→Ens*k, ordered Teacher, BAN-1..K, BAN+L, CWTM, DKPP, Ens*2..K. Lineages keep the order of
their first appearance in the given paths (the config order).

Files written by ``write_tables`` (image study): table.{csv,md,tex} (test error, %),
table_nll.* (test NLL, nats), table_ece.* (test ECE, %); text study: table.* with test
perplexity and val perplexity. With ``paper`` also table_paper.{csv,md,tex}.
CSV columns: ``lineage``, then per column ``<col> mean``, ``<col> std``, ``<col> gain``,
``<col> n_seeds`` (text studies add ``<col> val mean``, ``<col> val std``, ``<col> val gain``,
``<col> val n_seeds``). Paper CSV: ``lineage, column, paper, ours mean, ours std, n_seeds,
difference`` with difference = ours mean − paper; text studies add ``split`` (test or val) after
``column``, as the paper's Table 6 reports both.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd


class MetricsFileError(ValueError):
    """A metrics.json that cannot be read or lacks what the contract requires."""


class ReportInputError(ValueError):
    """Metrics files or paper values that do not make one table (several studies, bad names, ...)."""


COMMON_KEYS = ("study", "lineage", "seed", "member", "task")
SCORE_KEYS = {
    "image": ("test_error", "test_nll", "test_ece"),
    "text": ("val_ppl", "test_ppl", "test_nll"),
}
ALL_SCORE_KEYS = ("test_error", "test_nll", "test_ece", "val_ppl", "test_ppl")
PRIMARY_SCORE = {"image": "test_error", "text": "test_ppl"}
TEACHER = "Teacher"
CSV_FLOAT_FORMAT = "%.10g"  # 10 significant digits: drops float noise such as 5.199999999999999

_MEMBER_RE = re.compile(r"^(?:gen(?P<gen>\d+)|(?P<control>ban_l|cwtm|dkpp)|ens(?P<ens>\d+))$")
_COLUMN_RE = re.compile(r"^(?:Teacher|BAN-(?P<gen>\d+)|(?P<control>BAN\+L|CWTM|DKPP)|Ens\*(?P<ens>\d+))$")
_CONTROL_NAMES = {"ban_l": "BAN+L", "cwtm": "CWTM", "dkpp": "DKPP"}
_CONTROL_RANK = {"BAN+L": 2, "CWTM": 3, "DKPP": 4}


# ---------------------------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------------------------


def column_name(member: str) -> str:
    """Table column of a member name: gen0→Teacher, genk→BAN-k, ban_l→BAN+L, ensk→Ens*k, ..."""
    match = _MEMBER_RE.match(member)
    if match is None:
        raise ReportInputError(f"unknown member {member!r} (expected gen<k>, ban_l, cwtm, dkpp or ens<k>)")
    if match["gen"] is not None:
        k = int(match["gen"])
        return TEACHER if k == 0 else f"BAN-{k}"
    if match["control"] is not None:
        return _CONTROL_NAMES[match["control"]]
    return f"Ens*{int(match['ens'])}"


def column_sort_key(column: str) -> tuple[int, int]:
    """Sort key giving Teacher, BAN-1..K, BAN+L, CWTM, DKPP, Ens*2..K."""
    match = _COLUMN_RE.match(column)
    if match is None:
        raise ReportInputError(f"unknown table column {column!r}")
    if column == TEACHER:
        return (0, 0)
    if match["gen"] is not None:
        return (1, int(match["gen"]))
    if match["control"] is not None:
        return (_CONTROL_RANK[match["control"]], 0)
    return (5, int(match["ens"]))


def generation_of(column: str) -> int | None:
    """Generation index of Teacher (0) and BAN-k (k); None for controls and ensembles."""
    if column == TEACHER:
        return 0
    match = _COLUMN_RE.match(column)
    return int(match["gen"]) if match is not None and match["gen"] is not None else None


def ensemble_size(column: str) -> int | None:
    """k of an Ens*k column; None for any other column."""
    match = _COLUMN_RE.match(column)
    return int(match["ens"]) if match is not None and match["ens"] is not None else None


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_metrics(path: str | Path) -> dict:
    """One metrics.json as a dict, checked for the contract's common and task score keys."""
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
    task = record["task"]
    if task not in SCORE_KEYS:
        raise MetricsFileError(f"{path}: task must be 'image' or 'text', got {task!r}")
    missing = [key for key in SCORE_KEYS[task] if key not in record]
    if missing:
        raise MetricsFileError(f"{path}: {task} metrics file lacks score key(s) {', '.join(missing)}")
    for key in ("study", "lineage", "member"):
        if not isinstance(record[key], str) or not record[key]:
            raise MetricsFileError(f"{path}: {key!r} must be a non-empty string, got {record[key]!r}")
    if not isinstance(record["seed"], int) or isinstance(record["seed"], bool):
        raise MetricsFileError(f"{path}: 'seed' must be an integer, got {record['seed']!r}")
    if _MEMBER_RE.match(record["member"]) is None:
        raise MetricsFileError(
            f"{path}: unknown member {record['member']!r} (expected gen<k>, ban_l, cwtm, dkpp or ens<k>)"
        )
    for key in SCORE_KEYS[task]:
        if not _is_number(record[key]):
            raise MetricsFileError(f"{path}: score {key!r} must be a number, got {record[key]!r}")
    history = record.get("history", [])
    if not isinstance(history, list) or not all(isinstance(row, dict) for row in history):
        raise MetricsFileError(f"{path}: 'history' must be a list of objects")
    return record


def load_metrics(paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per metrics.json, in the given order.

    Columns: study, lineage, seed, member, column (table column name), task, the score columns
    test_error, test_nll, test_ece, val_ppl, test_ppl (NaN where the task has none), path.
    Two files for the same (study, lineage, seed, member) raise ``ReportInputError``.
    """
    rows = []
    seen: dict[tuple, Path] = {}
    for path in paths:
        path = Path(path)
        record = read_metrics(path)
        identity = (record["study"], record["lineage"], record["seed"], record["member"])
        if identity in seen:
            raise ReportInputError(
                f"{path}: same study/lineage/seed/member {identity} as {seen[identity]}"
            )
        seen[identity] = path
        row = {key: record[key] for key in COMMON_KEYS}
        row["column"] = column_name(record["member"])
        for key in ALL_SCORE_KEYS:
            row[key] = float(record[key]) if key in SCORE_KEYS[record["task"]] else math.nan
        row["path"] = str(path)
        rows.append(row)
    columns = ["study", "lineage", "seed", "member", "column", "task", *ALL_SCORE_KEYS, "path"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["seed"] = frame["seed"].astype("int64")
    return frame


def single_study(frame: pd.DataFrame) -> tuple[str, str]:
    """(study, task) of metrics that must come from one study of one task; else ReportInputError."""
    if frame.empty:
        raise ReportInputError("no metrics files given")
    studies = list(pd.unique(frame["study"]))
    if len(studies) != 1:
        raise ReportInputError(f"metrics from several studies {studies}; give one study's files")
    tasks = list(pd.unique(frame["task"]))
    if len(tasks) != 1:
        raise ReportInputError(f"study {studies[0]!r} mixes tasks {tasks}")
    return str(studies[0]), str(tasks[0])


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellStats:
    """Seed statistics of one (lineage, column, score); see the module docstring for formulas."""

    mean: float
    std: float
    gain: float
    n_seeds: int


MISSING = CellStats(math.nan, math.nan, math.nan, 0)


def lineage_order(frame: pd.DataFrame) -> list[str]:
    """Lineages in order of first appearance."""
    return [str(name) for name in pd.unique(frame["lineage"])]


def column_order(frame: pd.DataFrame) -> list[str]:
    """Columns present in the metrics, in table order."""
    return sorted({str(c) for c in frame["column"]}, key=column_sort_key)


def summarize(frame: pd.DataFrame, key: str) -> dict[tuple[str, str], CellStats]:
    """CellStats of score ``key`` for every (lineage, column) present in ``frame``."""
    by_cell: dict[tuple[str, str], dict[int, float]] = {}
    for lineage, column, seed, value in zip(frame["lineage"], frame["column"], frame["seed"], frame[key]):
        by_cell.setdefault((lineage, column), {})[int(seed)] = float(value)
    stats = {}
    for (lineage, column), by_seed in by_cell.items():
        values = np.array(list(by_seed.values()), dtype=float)
        n = len(values)
        std = float(np.std(values, ddof=1)) if n > 1 else math.nan
        gain = math.nan
        teacher = by_cell.get((lineage, TEACHER))
        if column != TEACHER and teacher:
            paired = [by_seed[s] - teacher[s] for s in by_seed if s in teacher]
            if paired:
                gain = float(np.mean(paired))
        stats[(lineage, column)] = CellStats(float(np.mean(values)), std, gain, n)
    return stats


# ---------------------------------------------------------------------------------------------
# Table specs and rendering
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    """A metrics.json score shown in a table: ``split`` labels its Markdown rows ("" = no label),
    ``tag`` is put between column name and statistic in CSV headers ("" for the main score)."""

    key: str
    split: str = ""
    tag: str = ""


@dataclass(frozen=True)
class TableSpec:
    stem: str
    title: str
    scores: tuple[Score, ...]


IMAGE_TABLES = (
    TableSpec("table", "Test error (%)", (Score("test_error"),)),
    TableSpec("table_nll", "Test NLL (nats)", (Score("test_nll"),)),
    TableSpec("table_ece", "Test ECE (%, 15 bins)", (Score("test_ece"),)),
)
TEXT_TABLES = (
    TableSpec("table", "Perplexity (test and val)", (Score("test_ppl", "test"), Score("val_ppl", "val", "val"))),
)
_NOTE = "mean ± std over seeds; Δ = paired mean of (member − Teacher of the same seed); negative is better"


def _csv_prefix(column: str, score: Score) -> str:
    return f"{column} {score.tag}" if score.tag else column


def table_frame(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """The numeric table written as CSV: one row per lineage, 4 columns per (column, score)."""
    lineages, columns = lineage_order(frame), column_order(frame)
    stats = {score.key: summarize(frame, score.key) for score in spec.scores}
    rows = []
    for lineage in lineages:
        row: dict[str, object] = {"lineage": lineage}
        for column in columns:
            for score in spec.scores:
                cell = stats[score.key].get((lineage, column), MISSING)
                prefix = _csv_prefix(column, score)
                row[f"{prefix} mean"] = cell.mean
                row[f"{prefix} std"] = cell.std
                row[f"{prefix} gain"] = cell.gain
                row[f"{prefix} n_seeds"] = cell.n_seeds
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class _Style:
    pm: str
    gain: str  # format with {signed}
    missing: str
    range: str
    signed: str  # format with {signed}


_MARKDOWN = _Style(pm=" ± ", gain="(Δ {signed})", missing="—", range="–", signed="{signed}")
_LATEX = _Style(pm=r" $\pm$ ", gain=r"($\Delta\,{signed}$)", missing="--", range="--", signed="${signed}$")


def _fixed(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _signed(value: float) -> str:
    text = f"{value:+.2f}"
    return "+0.00" if text == "-0.00" else text


def format_cell(cell: CellStats, style: _Style = _MARKDOWN) -> str:
    """``mean ± std (Δ gain)``; mean alone for one seed; no Δ for the Teacher; missing → dash."""
    if cell.n_seeds == 0:
        return style.missing
    text = _fixed(cell.mean)
    if cell.n_seeds > 1:
        text += style.pm + _fixed(cell.std)
    if not math.isnan(cell.gain):
        text += " " + style.gain.format(signed=_signed(cell.gain))
    return text


def _seed_range(cells: list[CellStats], style: _Style) -> str:
    counts = sorted({cell.n_seeds for cell in cells if cell.n_seeds > 0})
    if not counts:
        return "0"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}{style.range}{counts[-1]}"


def _display_rows(frame: pd.DataFrame, spec: TableSpec, style: _Style) -> tuple[list[str], list[list[str]]]:
    lineages, columns = lineage_order(frame), column_order(frame)
    stats = {score.key: summarize(frame, score.key) for score in spec.scores}
    with_split = any(score.split for score in spec.scores)
    header = ["Lineage", *(["Split"] if with_split else []), "Seeds", *columns]
    rows = []
    for lineage in lineages:
        for score in spec.scores:
            cells = [stats[score.key].get((lineage, column), MISSING) for column in columns]
            rows.append(
                [lineage, *([score.split] if with_split else []), _seed_range(cells, style)]
                + [format_cell(cell, style) for cell in cells]
            )
    return header, rows


def _escape_markdown(text: str) -> str:
    return text.replace("|", r"\|")


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    lines = ["| " + " | ".join(_escape_markdown(h) for h in header) + " |"]
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        lines.append("| " + " | ".join(_escape_markdown(cell) for cell in row) + " |")
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "−": "$-$", "±": r"$\pm$", "Δ": r"$\Delta$", "–": "--", "—": "---",
}


def escape_latex(text: str) -> str:
    """Text with LaTeX special characters escaped and the table's non-ASCII symbols spelled out."""
    return "".join(_LATEX_SPECIAL.get(char, char) for char in text)


def latex_table(header: list[str], rows: list[list[str]], n_text_columns: int, caption: str) -> str:
    """A plain ``tabular`` (no packages needed); header and the first ``n_text_columns`` cells
    of each row are escaped, the remaining cells are taken as LaTeX already."""
    spec = "l" * n_text_columns + "r" * (len(header) - n_text_columns)
    lines = [f"% {caption}", f"\\begin{{tabular}}{{{spec}}}", r"\hline"]
    lines.append(" & ".join(escape_latex(h) for h in header) + r" \\")
    lines.append(r"\hline")
    for row in rows:
        cells = [escape_latex(c) for c in row[:n_text_columns]] + row[n_text_columns:]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _write_spec(frame: pd.DataFrame, spec: TableSpec, study: str, out_dir: Path) -> list[Path]:
    caption = f"{study}: {spec.title} — {_NOTE}"
    table_frame(frame, spec).to_csv(out_dir / f"{spec.stem}.csv", index=False, float_format=CSV_FLOAT_FORMAT)
    header, rows = _display_rows(frame, spec, _MARKDOWN)
    _write(out_dir / f"{spec.stem}.md", f"**{caption}**\n\n" + markdown_table(header, rows))
    header, rows = _display_rows(frame, spec, _LATEX)
    n_text = 3 if "Split" in header else 2
    _write(out_dir / f"{spec.stem}.tex", latex_table(header, rows, n_text, caption))
    return [out_dir / f"{spec.stem}.{ext}" for ext in ("csv", "md", "tex")]


# ---------------------------------------------------------------------------------------------
# Paper comparison
# ---------------------------------------------------------------------------------------------


PAPER_SPLITS = {"image": ("test",), "text": ("test", "val")}
"""Splits a paper value may name: ``"BAN+L"`` is the test score, ``"BAN+L val"`` the validation one."""


def _paper_key(key: object, lineage: object) -> tuple[str, str]:
    """(column, split) of a paper key: a column or member name, optionally followed by " val"."""
    name, split = (key[:-4], "val") if isinstance(key, str) and key.endswith(" val") else (key, "test")
    if isinstance(name, str) and _COLUMN_RE.match(name):
        return name, split
    if isinstance(name, str) and _MEMBER_RE.match(name):
        return column_name(name), split
    raise ReportInputError(
        f"paper[{lineage!r}]: {key!r} is not a table column (Teacher, BAN-k, BAN+L, CWTM, DKPP, Ens*k or a "
        "member name; text studies may add ' val')"
    )


def normalize_paper(paper: Mapping, task: str | None = None) -> dict[str, dict[tuple[str, str], float]]:
    """``{lineage: {(column, split): value}}`` with member names mapped to column names; checks types
    and, given the study's ``task``, that each split exists for it (val only for text studies)."""
    if not isinstance(paper, Mapping):
        raise ReportInputError(f"paper values must be a mapping {{lineage: {{column: value}}}}, got {type(paper).__name__}")
    normalized: dict[str, dict[tuple[str, str], float]] = {}
    for lineage, values in paper.items():
        if not isinstance(values, Mapping):
            raise ReportInputError(f"paper[{lineage!r}] must be a mapping {{column: value}}")
        row: dict[tuple[str, str], float] = {}
        for key, value in values.items():
            column, split = _paper_key(key, lineage)
            if task is not None and split not in PAPER_SPLITS[task]:
                raise ReportInputError(f"paper[{lineage!r}][{key!r}]: {task} studies have no {split} score")
            if not _is_number(value):
                raise ReportInputError(f"paper[{lineage!r}][{key!r}] must be a number, got {value!r}")
            if (column, split) in row:
                raise ReportInputError(f"paper[{lineage!r}] gives column {column!r} ({split}) twice")
            row[(column, split)] = float(value)
        normalized[str(lineage)] = row
    return normalized


def paper_frame(frame: pd.DataFrame, paper: Mapping, task: str) -> pd.DataFrame:
    """One row per (lineage, column, split) with a paper value: paper, ours mean/std, n_seeds, difference.

    difference = ours mean − paper. Lineages: ours in order, then lineages only the paper has;
    within a lineage, columns in table order, test before val.
    """
    normalized = normalize_paper(paper, task)
    score_key = {"test": PRIMARY_SCORE[task], "val": "val_ppl"}
    stats = {split: summarize(frame, score_key[split]) for split in PAPER_SPLITS[task]}
    ours = lineage_order(frame)
    lineages = ours + [name for name in normalized if name not in ours]
    rows = []
    for lineage in lineages:
        keys = normalized.get(lineage, {})
        for column, split in sorted(keys, key=lambda k: (column_sort_key(k[0]), PAPER_SPLITS[task].index(k[1]))):
            value = keys[(column, split)]
            cell = stats[split].get((lineage, column), MISSING)
            rows.append({
                "lineage": lineage, "column": column, "split": split, "paper": value,
                "ours mean": cell.mean, "ours std": cell.std, "n_seeds": cell.n_seeds,
                "difference": cell.mean - value,
            })
    columns = ["lineage", "column", "split", "paper", "ours mean", "ours std", "n_seeds", "difference"]
    return pd.DataFrame(rows, columns=columns)


def _paper_rows(table: pd.DataFrame, style: _Style, with_split: bool) -> list[list[str]]:
    rows = []
    for record in table.to_dict("records"):
        cell = CellStats(record["ours mean"], record["ours std"], math.nan, int(record["n_seeds"]))
        difference = (style.missing if math.isnan(record["difference"])
                      else style.signed.format(signed=_signed(record["difference"])))
        names = [record["lineage"], record["column"]] + ([record["split"]] if with_split else [])
        rows.append(names + [_fixed(record["paper"]), format_cell(cell, style), str(record["n_seeds"]), difference])
    return rows


def _write_paper(frame: pd.DataFrame, paper: Mapping, study: str, task: str, out_dir: Path) -> list[Path]:
    title = "test error (%)" if task == "image" else "perplexity"
    caption = f"{study}: {title}, paper (single run) vs ours (mean ± std over seeds); difference = ours − paper"
    table = paper_frame(frame, paper, task)
    with_split = task == "text"
    table_csv = table if with_split else table.drop(columns="split")
    table_csv.to_csv(out_dir / "table_paper.csv", index=False, float_format=CSV_FLOAT_FORMAT)
    header = ["Lineage", "Column"] + (["Split"] if with_split else []) + ["Paper", "Ours", "Seeds", "Ours − Paper"]
    n_text = 3 if with_split else 2
    _write(out_dir / "table_paper.md",
           f"**{caption}**\n\n" + markdown_table(header, _paper_rows(table, _MARKDOWN, with_split)))
    _write(out_dir / "table_paper.tex", latex_table(header, _paper_rows(table, _LATEX, with_split), n_text, caption))
    return [out_dir / f"table_paper.{ext}" for ext in ("csv", "md", "tex")]


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def write_tables(
    metrics_paths: Iterable[str | Path], out_dir: str | Path, paper: Mapping | None = None
) -> list[Path]:
    """Write the study's tables into ``out_dir`` (created) and return the written paths.

    ``metrics_paths``: the metrics.json files of one study, lineages in config order.
    ``paper``: optional ``{lineage: {column: value}}`` of the paper's single-run numbers (test
    error for image studies, test perplexity for text studies, validation perplexity under
    ``"<column> val"``); columns may be table names ("BAN-1") or member names ("gen1").
    """
    frame = load_metrics(metrics_paths)
    study, task = single_study(frame)
    if paper is not None:
        normalize_paper(paper, task)  # fail before writing anything
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for spec in IMAGE_TABLES if task == "image" else TEXT_TABLES:
        written += _write_spec(frame, spec, study, out_dir)
    if paper is not None:
        written += _write_paper(frame, paper, study, task, out_dir)
    return written
