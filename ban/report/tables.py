"""Score tables of one study as CSV, Markdown and LaTeX: one row per lineage, one column per member.

Numbers come from ``ban.report.frame`` (mean, std with ddof = 1, paired gain vs the Teacher with its
95% Student-t interval, wins; see its docstring and ``ban.report.stats``); this module only lays
them out. Markdown and LaTeX cells read, with 2 decimals,

    mean ± std (Δ gain [low, high], wins/n_paired)          e.g. 16.05 ± 0.16 (Δ -0.45 [-0.80, -0.10], 3/3)

where Δ = mean over the paired seeds of (member − Teacher of the same seed), [low, high] its 95%
t-interval (mean ± t_{0.975, n−1}·sd/√n), wins the seeds in which the member's score is strictly
lower than its teacher's, n_paired the seeds both ran; ``, k tie(s)`` follows when k seeds are
level. With one paired seed there is no interval: ``(Δ gain, 1/1)``. With a single seed the cell
shows the mean alone (no ``±``); the Teacher column has no Δ. Missing cells are ``—`` (``--`` in
LaTeX) and empty in CSV. The ``Seeds`` column gives the lineage's seed count, or its range
``min–max`` over the row's cells.

Which tables a study writes is its task's ``tables`` (``ban.tasks``): image studies write
table.{csv,md,tex} (test error, %), table_nll.* (test NLL, nats) and table_ece.* (test ECE, %);
text studies write table.* with test and val perplexity (one Markdown/LaTeX row per split).
With paper values also table_paper.{csv,md,tex} (``ban.report.paper``). Image studies also have
table_fidelity.{csv,md,tex} (``ban.report.fidelity``: each student's top-1 agreement with its own
teacher and KL(teacher ‖ student), from the ``predictions.npz`` beside the metrics files), written
only when asked for by its stem.

CSV columns: ``lineage``, then per column ``<col> mean``, ``<col> std``, ``<col> gain``,
``<col> n_seeds`` (as before), followed by ``<col> gain low``, ``<col> gain high``, ``<col> wins``,
``<col> ties``, ``<col> n_paired`` (empty where there is no gain; bounds empty for one paired
seed); a score with a tag (text val) adds ``<col> <tag> mean``, ... after them.
Fidelity CSV: ``lineage``, then per student column ``<col> agreement mean``, ``<col> agreement
std``, ``<col> kl mean``, ``<col> kl std``, ``<col> n_seeds``.
Paper CSV: ``lineage, column, paper, ours mean, ours std, n_seeds, difference`` with
difference = ours mean − paper; tasks with several paper splits (text) add ``split`` (test or
val) after ``column``. Floats are written with 10 significant digits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping

import pandas as pd

from ban.report.fidelity import FIDELITY_SCORES, FIDELITY_STEM, FIDELITY_TITLE, fidelity_frame
from ban.report.frame import (
    MISSING,
    CellStats,
    ReportInputError,
    column_order,
    lineage_order,
    load_metrics,
    single_study,
    summarize,
)
from ban.report.markdown import markdown_table
from ban.report.paper import normalize_paper, paper_frame
from ban.tasks import TableScore, TableView, get_task, table_stems

__all__ = [
    "CSV_FLOAT_FORMAT", "escape_latex", "format_cell", "format_gain", "latex_table", "table_frame", "write_tables",
]

CSV_FLOAT_FORMAT = "%.10g"  # 10 significant digits: drops float noise such as 5.199999999999999
PAPER_STEM = "table_paper"
_NOTE = ("mean ± std over seeds; Δ = paired mean of (member − Teacher of the same seed) [95% t-interval], "
         "wins/paired seeds (member strictly lower); negative is better")
_FIDELITY_NOTE = ("mean ± std over seeds of each student vs its own teacher (BAN-k: BAN-(k−1); a control: the Teacher) "
                  "on the test set: top-1 agreement (%, higher = more faithful) and KL(teacher ‖ student) (nats, lower); "
                  "the teacher's mean max probability and entropy on the augmented training views the student trained on; "
                  "and each ensemble's mean pairwise top-1 disagreement of its members on the test set (%)")


# ---------------------------------------------------------------------------------------------
# Score tables
# ---------------------------------------------------------------------------------------------


def _csv_prefix(column: str, score: TableScore) -> str:
    return f"{column} {score.tag}" if score.tag else column


def table_frame(frame: pd.DataFrame, view: TableView) -> pd.DataFrame:
    """The numeric table written as CSV: one row per lineage, 9 columns per (column, score)."""
    lineages, columns = lineage_order(frame), column_order(frame)
    stats = {score.key: summarize(frame, score.key) for score in view.scores}
    rows = []
    for lineage in lineages:
        row: dict[str, object] = {"lineage": lineage}
        for column in columns:
            for score in view.scores:
                cell = stats[score.key].get((lineage, column), MISSING)
                prefix = _csv_prefix(column, score)
                row[f"{prefix} mean"] = cell.mean
                row[f"{prefix} std"] = cell.std
                row[f"{prefix} gain"] = cell.gain
                row[f"{prefix} n_seeds"] = cell.n_seeds
                row[f"{prefix} gain low"] = cell.gain_low
                row[f"{prefix} gain high"] = cell.gain_high
                row[f"{prefix} wins"] = cell.wins
                row[f"{prefix} ties"] = cell.ties
                row[f"{prefix} n_paired"] = cell.n_paired
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# Cells
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    pm: str
    gain: str  # format with {signed}
    missing: str
    range: str
    signed: str  # format with {signed}


_MARKDOWN = _Style(pm=" ± ", gain="Δ {signed}", missing="—", range="–", signed="{signed}")
_LATEX = _Style(pm=r" $\pm$ ", gain=r"$\Delta\,{signed}$", missing="--", range="--", signed="${signed}$")


def _fixed(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _signed(value: float) -> str:
    text = f"{value:+.2f}"
    return "+0.00" if text == "-0.00" else text


def _count(value: float) -> int:
    return 0 if math.isnan(value) else int(value)


def format_gain(cell: CellStats, style: _Style = _MARKDOWN) -> str:
    """``(Δ gain [low, high], wins/n_paired)``, ``, k tie(s)`` added when seeds are level; no
    interval for one paired seed; empty without a gain."""
    if math.isnan(cell.gain):
        return ""
    text = style.gain.format(signed=_signed(cell.gain))
    if not (math.isnan(cell.gain_low) or math.isnan(cell.gain_high)):
        low, high = (style.signed.format(signed=_signed(v)) for v in (cell.gain_low, cell.gain_high))
        text += f" [{low}, {high}]"
    text += f", {_count(cell.wins)}/{_count(cell.n_paired)}"
    ties = _count(cell.ties)
    if ties:
        text += f", {ties} tie{'s' if ties > 1 else ''}"
    return f"({text})"


def format_cell(cell: CellStats, style: _Style = _MARKDOWN) -> str:
    """``mean ± std (Δ gain [low, high], wins/n_paired)``; mean alone for one seed; no Δ for the
    Teacher; missing → dash (see the module docstring)."""
    if cell.n_seeds == 0:
        return style.missing
    text = _fixed(cell.mean)
    if cell.n_seeds > 1:
        text += style.pm + _fixed(cell.std)
    gain = format_gain(cell, style)
    if gain:
        text += " " + gain
    return text


def _seed_range(cells: list[CellStats], style: _Style) -> str:
    counts = sorted({cell.n_seeds for cell in cells if cell.n_seeds > 0})
    if not counts:
        return "0"
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}{style.range}{counts[-1]}"


def _display_rows(frame: pd.DataFrame, view: TableView, style: _Style, split_name: str = "Split") -> tuple[list[str], list[list[str]]]:
    lineages, columns = lineage_order(frame), column_order(frame)
    stats = {score.key: summarize(frame, score.key) for score in view.scores}
    with_split = any(score.split for score in view.scores)
    header = ["Lineage", *([split_name] if with_split else []), "Seeds", *columns]
    rows = []
    for lineage in lineages:
        for score in view.scores:
            cells = [stats[score.key].get((lineage, column), MISSING) for column in columns]
            rows.append(
                [lineage, *([score.split] if with_split else []), _seed_range(cells, style)]
                + [format_cell(cell, style) for cell in cells]
            )
    return header, rows


# ---------------------------------------------------------------------------------------------
# LaTeX (Markdown: ban.report.markdown)
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------------------------


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _paths(out_dir: Path, stem: str) -> list[Path]:
    return [out_dir / f"{stem}.{ext}" for ext in ("csv", "md", "tex")]


def _write_view(frame: pd.DataFrame, view: TableView, study: str, out_dir: Path) -> list[Path]:
    caption = f"{study}: {view.title} — {_NOTE}"
    table_frame(frame, view).to_csv(out_dir / f"{view.stem}.csv", index=False, float_format=CSV_FLOAT_FORMAT)
    header, rows = _display_rows(frame, view, _MARKDOWN)
    _write(out_dir / f"{view.stem}.md", f"**{caption}**\n\n" + markdown_table(header, rows))
    header, rows = _display_rows(frame, view, _LATEX)
    n_text = 3 if "Split" in header else 2
    _write(out_dir / f"{view.stem}.tex", latex_table(header, rows, n_text, caption))
    return _paths(out_dir, view.stem)


def _write_fidelity(frame: pd.DataFrame, study: str, out_dir: Path) -> list[Path]:
    """table_fidelity.*: per lineage one row per measure that any member has (agreement, KL,
    teacher confidence, ensemble disagreement), one column per student or ensemble (no Δ);
    ``frame`` is ``ban.report.fidelity.fidelity_frame``."""
    present = tuple(score for score in FIDELITY_SCORES if frame[score.key].notna().any())  # no row of dashes only
    view = TableView(FIDELITY_STEM, FIDELITY_TITLE, present or FIDELITY_SCORES[:2])
    caption = f"{study}: {FIDELITY_TITLE} — {_FIDELITY_NOTE}"
    stats = {score.key: summarize(frame, score.key) for score in view.scores}
    rows = []
    for lineage in lineage_order(frame):
        row: dict[str, object] = {"lineage": lineage}
        for column in column_order(frame):
            for score in view.scores:
                cell = stats[score.key].get((lineage, column), MISSING)
                row[f"{column} {score.tag} mean"] = cell.mean
                row[f"{column} {score.tag} std"] = cell.std
            row[f"{column} n_seeds"] = max(stats[score.key].get((lineage, column), MISSING).n_seeds for score in view.scores)
        rows.append(row)
    pd.DataFrame(rows).to_csv(out_dir / f"{FIDELITY_STEM}.csv", index=False, float_format=CSV_FLOAT_FORMAT)
    header, display = _display_rows(frame, view, _MARKDOWN, split_name="Measure")
    _write(out_dir / f"{FIDELITY_STEM}.md", f"**{caption}**\n\n" + markdown_table(header, display))
    header, display = _display_rows(frame, view, _LATEX, split_name="Measure")
    _write(out_dir / f"{FIDELITY_STEM}.tex", latex_table(header, display, 3, caption))
    return _paths(out_dir, FIDELITY_STEM)


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
    """table_paper.*: ``paper_frame`` with ``Split`` only where the task has several paper splits."""
    spec = get_task(task)
    caption = f"{study}: {spec.paper_title}, paper (single run) vs ours (mean ± std over seeds); difference = ours − paper"
    table = paper_frame(frame, paper, task)
    with_split = len(spec.paper_splits) > 1
    table_csv = table if with_split else table.drop(columns="split")
    table_csv.to_csv(out_dir / f"{PAPER_STEM}.csv", index=False, float_format=CSV_FLOAT_FORMAT)
    header = ["Lineage", "Column"] + (["Split"] if with_split else []) + ["Paper", "Ours", "Seeds", "Ours − Paper"]
    n_text = 3 if with_split else 2
    _write(out_dir / f"{PAPER_STEM}.md",
           f"**{caption}**\n\n" + markdown_table(header, _paper_rows(table, _MARKDOWN, with_split)))
    _write(out_dir / f"{PAPER_STEM}.tex", latex_table(header, _paper_rows(table, _LATEX, with_split), n_text, caption))
    return _paths(out_dir, PAPER_STEM)


def write_tables(
    metrics_paths: Iterable[str | Path], out_dir: str | Path, paper: Mapping | None = None, stem: str | None = None
) -> list[Path]:
    """Write the study's tables into ``out_dir`` (created) and return the written paths.

    ``metrics_paths``: the metrics.json files of one study, lineages in config order.
    ``paper``: optional ``{lineage: {column: value}}`` of the paper's single-run numbers (test
    error for image studies, test perplexity for text studies, validation perplexity under
    ``"<column> val"``); columns may be table names ("BAN-1") or member names ("gen1").
    ``stem``: ``None`` writes every table of the study's task (``Task.tables``) and, given
    ``paper``, ``table_paper``; a stem writes only ``<stem>.{csv,md,tex}``. ``table_fidelity``
    (image studies) is written only by its stem: it reads the ``predictions.npz`` beside each
    student's and teacher's metrics file. A stem the task does not have, or ``table_paper``
    without ``paper``, raises ``ReportInputError``. Inputs (metrics, stem, paper values) are
    checked before anything is written (the fidelity table reads its predictions first, too).
    """
    metrics_paths = [Path(p) for p in metrics_paths]
    frame = load_metrics(metrics_paths)
    study, task = single_study(frame)
    if stem is not None:
        allowed = table_stems(task, paper=True) + ([FIDELITY_STEM] if task == "image" else [])
        if stem not in allowed:
            raise ReportInputError(f"{study}: no table {stem!r} for {task} studies; stems: {', '.join(allowed)}")
        if stem == PAPER_STEM and paper is None:
            raise ReportInputError(f"{study}: table {PAPER_STEM!r} needs the paper's values (paper=..., --paper)")
    if paper is not None:
        normalize_paper(paper, task)  # fail before writing anything
    fidelity = fidelity_frame(metrics_paths) if stem == FIDELITY_STEM else None  # reads every prediction first
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for view in get_task(task).tables:
        if stem in (None, view.stem):
            written += _write_view(frame, view, study, out_dir)
    if paper is not None and stem in (None, PAPER_STEM):
        written += _write_paper(frame, paper, study, task, out_dir)
    if fidelity is not None:
        written += _write_fidelity(fidelity, study, out_dir)
    return written
