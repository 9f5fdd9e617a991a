"""The regime map of a sweep: per cell and lineage, the teacher's fit and confidence and the gains
the cell's ``claims.json`` measured, with their intervals and Holm-adjusted verdicts (pandas,
matplotlib for the plot; no torch).

Inputs: for each cell of the sweep (``ban.sweeps``) its factor values, its ``claims.json``
(``ban.report.claims``, the family and adjustment are the cell's own) and its members'
``metrics.json``. One row per (cell, lineage):

- the factors, in the sweep's order;
- ``teacher_train_error``: mean over seeds of the teacher's training error against the labels it
  trained on (noisy ones under label noise); ``teacher_train_error_clean`` and
  ``teacher_noise_memorised`` (% of the corrupted training examples it predicts as their corrupted
  label) under label noise; ``teacher_max_prob``: mean over seeds of BAN-1's record of its
  teacher's max probability on the views it trained on (``ban.lifecycle``); blank where absent;
- for each comparison of ``COMPARISONS`` present in the claims (BAN-1 − Teacher, best BAN −
  Teacher, each BAN-k − BAN-(k−1), each Ens*k − Indep*k): ``<comparison> Δ``, ``low``, ``high``,
  ``n`` and ``verdict (Holm)``.

``regime_frame(cells)`` builds it; ``write_regime(cells, out_dir)`` writes ``regime.csv``,
``regime.md`` and ``regime.png`` (each gain with its 95% interval, one panel per comparison, cells
along the x axis labelled by their factor values).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean

import pandas as pd

from ban.report.frame import ReportInputError, is_number, read_metrics
from ban.report.markdown import table_lines

__all__ = ["Cell", "COMPARISONS", "regime_frame", "regime_markdown", "write_regime"]

COMPARISONS = ("ban1_beats_teacher", "best_ban_beats_teacher", "ban_k_beats_previous", "ens_beats_indep")
"""The claims whose rows the map shows (ids of ``ban.report.claims``)."""
TEACHER_COLUMNS = ("teacher_train_error", "teacher_train_error_clean", "teacher_noise_memorised", "teacher_max_prob")


@dataclass(frozen=True)
class Cell:
    """One cell of a sweep: its study ``name``, ``factors`` (path → value), its ``claims.json`` and
    its members' ``metrics.json`` paths."""

    name: str
    factors: dict
    claims: Path
    metrics: tuple[Path, ...]


def _mean(values: list[float]) -> float:
    return fmean(values) if values else math.nan


def _teacher_columns(metrics: list[dict], lineage: str) -> dict[str, float]:
    teachers = [m for m in metrics if m["lineage"] == lineage and m["member"] == "gen0"]
    students = [m for m in metrics if m["lineage"] == lineage and m["member"] == "gen1"]

    def values(records, key):
        return [float(r[key]) for r in records if is_number(r.get(key))]

    return {
        "teacher_train_error": _mean(values(teachers, "train_error")),
        "teacher_train_error_clean": _mean(values(teachers, "train_error_clean")),
        "teacher_noise_memorised": _mean(values(teachers, "noise_memorised")),
        "teacher_max_prob": _mean(values(students, "teacher_max_prob")),
    }


def _read_claims(path: Path) -> dict:
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportInputError(f"{path}: unusable claims file ({str(err).splitlines()[0]})") from None
    if not isinstance(result, dict) or not isinstance(result.get("claims"), list):
        raise ReportInputError(f"{path}: not a claims.json (no 'claims' list)")
    return result


def regime_frame(cells: list[Cell]) -> pd.DataFrame:
    """One row per (cell, lineage): see the module docstring."""
    rows = []
    factor_names = list(dict.fromkeys(path for cell in cells for path in cell.factors))
    seen: dict[str, list[str]] = {claim_id: [] for claim_id in COMPARISONS}  # comparison names per claim, in order
    for cell in cells:
        claims = {claim["id"]: claim for claim in _read_claims(cell.claims)["claims"]}
        metrics = [read_metrics(path) for path in cell.metrics]
        lineages = list(dict.fromkeys(m["lineage"] for m in metrics))
        for lineage in lineages:
            row: dict[str, object] = {"cell": cell.name, **{f: cell.factors.get(f) for f in factor_names}, "lineage": lineage}
            row.update(_teacher_columns(metrics, lineage))
            for claim_id in COMPARISONS:
                for claim_row in claims.get(claim_id, {}).get("rows", []):
                    if claim_row["lineage"] != lineage:
                        continue
                    name = claim_row["comparison"]
                    if name not in seen[claim_id]:
                        seen[claim_id].append(name)
                    row[f"{name} Δ"] = math.nan if claim_row["mean"] is None else claim_row["mean"]
                    row[f"{name} low"] = math.nan if claim_row["low"] is None else claim_row["low"]
                    row[f"{name} high"] = math.nan if claim_row["high"] is None else claim_row["high"]
                    row[f"{name} n"] = claim_row["n"]
                    row[f"{name} verdict (Holm)"] = claim_row["verdict_holm"]
            rows.append(row)
    stats = ("Δ", "low", "high", "n", "verdict (Holm)")
    columns = (["cell", *factor_names, "lineage", *TEACHER_COLUMNS]
               + [f"{name} {stat}" for claim_id in COMPARISONS for name in seen[claim_id] for stat in stats])
    return pd.DataFrame(rows, columns=columns)


def comparisons_of(frame: pd.DataFrame) -> list[str]:
    """The comparisons a regime frame holds, in column order."""
    return [column[: -len(" Δ")] for column in frame.columns if column.endswith(" Δ")]


def _number(value: object, signed: bool = False) -> str:
    if not is_number(value) or math.isnan(value):
        return "—"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _factor(value: object) -> str:
    """A factor value as the config wrote it (numbers in ``%g``: 0.0 → 0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def regime_markdown(frame: pd.DataFrame, sweep: str, factors: list[str]) -> str:
    """``regime.md``: one row per cell and lineage; each gain as ``Δ [low, high] verdict (Holm)``."""
    comparisons = comparisons_of(frame)
    header = (["Cell", *[f.split(".")[-1] for f in factors], "Lineage", "Teacher train err (%)", "clean (%)",
               "noise memorised (%)", "teacher max prob"] + comparisons)
    lines = [f"# Regime map of sweep `{sweep}`", "",
             "Per cell (a study of the sweep; its claims.md has every row) and lineage: the teacher's training error against "
             "the labels it trained on and against the clean ones, the % of corrupted training labels it reproduces, its "
             "mean max probability on the views BAN-1 trained on, and each gain as Δ [95% interval] with its Holm-adjusted "
             "verdict over the cell's family (negative: the first member is better).", ""]
    rows = []
    for record in frame.to_dict("records"):
        cells = [record["cell"], *[_factor(record.get(f)) for f in factors], record["lineage"],
                 _number(record.get("teacher_train_error")), _number(record.get("teacher_train_error_clean")),
                 _number(record.get("teacher_noise_memorised")), _number(record.get("teacher_max_prob"))]
        for name in comparisons:
            mean = record.get(f"{name} Δ")
            if not is_number(mean) or math.isnan(mean):
                cells.append("—")
                continue
            low, high = record.get(f"{name} low"), record.get(f"{name} high")
            interval = "" if math.isnan(low) else f" [{_number(low, True)}, {_number(high, True)}]"
            cells.append(f"{_number(mean, True)}{interval} {record.get(f'{name} verdict (Holm)')}")
        rows.append(cells)
    return "\n".join(lines + table_lines(header, rows)) + "\n"


def plot_regime(frame: pd.DataFrame, factors: list[str], path: Path) -> Path:
    """``regime.png``: one panel per comparison, Δ with its 95% interval per (cell, lineage)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comparisons = comparisons_of(frame) or ["BAN-1 − Teacher"]
    fig, axes = plt.subplots(len(comparisons), 1, figsize=(max(6.0, 0.6 * len(frame) + 2), 2.6 * len(comparisons)),
                             squeeze=False, sharex=True)
    labels = [", ".join(f"{f.split('.')[-1]}={_factor(record.get(f))}" for f in factors) + f" ({record['lineage']})"
              for record in frame.to_dict("records")]
    for axis, name in zip(axes[:, 0], comparisons):
        means = frame.get(f"{name} Δ", pd.Series([math.nan] * len(frame)))
        lows = frame.get(f"{name} low", means)
        highs = frame.get(f"{name} high", means)
        x = range(len(frame))
        err = [[m - lo if not math.isnan(lo) else 0 for m, lo in zip(means, lows)],
               [hi - m if not math.isnan(hi) else 0 for m, hi in zip(means, highs)]]
        axis.errorbar(list(x), means, yerr=err, fmt="o", color="#1f77b4", capsize=3)
        axis.axhline(0.0, color="0.5", linewidth=0.8)
        axis.set_ylabel(f"{name}\n(Δ, 95% CI)", fontsize=8)
    axes[-1, 0].set_xticks(range(len(frame)))
    axes[-1, 0].set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def write_regime(cells: list[Cell], out_dir: str | Path, sweep: str) -> list[Path]:
    """Write ``regime.csv``, ``regime.md`` and ``regime.png`` of ``cells`` into ``out_dir``."""
    frame = regime_frame(cells)
    if frame.empty:
        raise ReportInputError(f"sweep {sweep}: no cell has metrics")
    factors = list(dict.fromkeys(path for cell in cells for path in cell.factors))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, md = out_dir / "regime.csv", out_dir / "regime.md"
    frame.to_csv(csv, index=False, float_format="%.6g")
    md.write_text(regime_markdown(frame, sweep, factors), encoding="utf-8")
    return [csv, md, plot_regime(frame, factors, out_dir / "regime.png")]
