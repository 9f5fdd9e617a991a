"""The regime map of a sweep: per cell and lineage, the teacher's fit and confidence, the tuned
baseline and the gains the cell's ``claims.json`` measured, with their intervals and Holm-adjusted
verdicts (pandas, matplotlib for the plot; no torch).

Inputs: for each cell of the sweep (``ban.sweeps``) its factor values, its ``claims.json``
(``ban.report.claims``, the family and adjustment are the cell's own) and its members'
``metrics.json``. One row per (cell, lineage):

- the factors, in the sweep's order;
- ``teacher_train_error``: mean over seeds of the teacher's training error against the labels it
  trained on (noisy ones under label noise); ``teacher_train_error_clean`` and
  ``teacher_noise_memorised`` (% of the corrupted training examples it predicts as their corrupted
  label; only over teachers whose ``label_noise_rate`` is not 0: with nothing corrupted there is
  nothing to memorise) under label noise; ``teacher_max_prob``: mean over seeds of BAN-1's record
  of its teacher's max probability on the views it trained on (``ban.lifecycle``); blank where absent;
- the tuned baseline (claims.json ``tuned[lineage]``): ``tuned`` (its column, e.g. ``Tune-3``),
  ``tuned setting`` (its tuning point, ``path=value, ...``; ``{}`` is the study's own recipe) and
  ``tuned score``: the mean over its ``seeds`` of the chosen member's primary test score;
- for each comparison of ``COMPARISONS`` present in the claims (BAN-1 − Teacher, best BAN −
  Teacher, BAN-1 − Tuned, best BAN − Tuned, each BAN-k − BAN-(k−1), each Ens*k − Indep*k):
  ``<comparison> Δ``, ``low``, ``high``, ``n`` and ``verdict (Holm)``; where the row lists
  ``collapsed`` members, ``<comparison> collapsed`` (``seed s column; ...``) and the row
  ``<comparison> (without collapsed)`` as ``<comparison> without collapsed Δ`` ... ``verdict (Holm)``;
- the chain from the tuned teacher: when the tuned member's ``identity`` (metrics.json) on some
  seed is the ``identity`` of the ``gen0`` of a (cell, lineage) of the sweep, that one (the most
  seeds in common; ties: the first cell) as ``chain cell`` (``cell`` or ``cell (lineage)``, with
  ``(k of n seeds)`` when not every seed matches) and its BAN-1 − Teacher as ``chain: BAN-1 −
  Teacher Δ`` ... ``verdict (Holm)``; blank when no cell trains a chain from it.

``regime_frame(cells)`` builds it; ``write_regime(cells, out_dir, sweep, predictions)`` writes
``regime.csv``, ``regime.md`` and ``regime.png`` (each gain with its 95% interval, one panel per
comparison, cells along the x axis labelled by their factor values). ``regime.md`` ends with one line
per (cell, lineage) (``cell_lines``): BAN-1 against its teacher and against the tuned baseline, best
BAN against the tuned baseline, and each of the sweep's predictions (``ban.sweeps.predictions_of``)
for the cell with how it came out (``outcome``):

- ``gain`` expected: *as predicted* when the verdict holds, *not shown* when it is not shown,
  *contradicted* when it is reversed;
- ``no gain`` expected: *contradicted* when the verdict holds, *as predicted* otherwise;
- *not tested* where the map has no such comparison for the lineage.
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
from ban.tasks import TASKS

__all__ = ["Cell", "COMPARISONS", "cell_lines", "outcome", "regime_frame", "regime_markdown", "short_names", "write_regime"]

COMPARISONS = ("ban1_beats_teacher", "best_ban_beats_teacher", "ban1_beats_tuned", "best_ban_beats_tuned",
               "ban_k_beats_previous", "ens_beats_indep")
"""The claims whose rows the map shows (ids of ``ban.report.claims``)."""
TEACHER_COLUMNS = ("teacher_train_error", "teacher_train_error_clean", "teacher_noise_memorised", "teacher_max_prob")
TUNED_COLUMNS = ("tuned", "tuned setting", "tuned score")
STATS = ("Δ", "low", "high", "n", "verdict (Holm)")
WITHOUT = " (without collapsed)"
"""The suffix of the comparison of a claims row recomputed without its collapsed members."""
CHAIN = "chain: BAN-1 − Teacher"
COLLAPSE_MARK = "⚠"
PREDICTED_ROWS = {"ban1_beats_teacher": "BAN-1 − Teacher", "best_ban_beats_teacher": "best BAN − Teacher",
                  "ban1_beats_tuned": "BAN-1 − Tuned", "best_ban_beats_tuned": "best BAN − Tuned"}
"""The comparison of each claim a sweep's prediction may name (``ban.sweeps.PREDICTABLE``)."""
LINE_ROWS = ("BAN-1 − Teacher", "BAN-1 − Tuned", "best BAN − Tuned")
"""The comparisons of each cell's one line."""


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
    corrupted = [m for m in teachers if not (is_number(m.get("label_noise_rate")) and m["label_noise_rate"] == 0)]

    def values(records, key):
        return [float(r[key]) for r in records if is_number(r.get(key))]

    return {
        "teacher_train_error": _mean(values(teachers, "train_error")),
        "teacher_train_error_clean": _mean(values(teachers, "train_error_clean")),
        "teacher_noise_memorised": _mean(values(corrupted, "noise_memorised")),
        "teacher_max_prob": _mean(values(students, "teacher_max_prob")),
    }


def short_names(paths: list[str]) -> dict[str, str]:
    """Each dotted path's shortest tail of segments that no other path of ``paths`` ends with
    (``recipe.select`` and ``lineages.*.teacher_recipe.select``: ``recipe.select`` and
    ``teacher_recipe.select``; a path alone: its last segment)."""
    names = {}
    for path in paths:
        parts = path.split(".")
        for k in range(1, len(parts) + 1):
            tail = ".".join(parts[-k:])
            if not any(other != path and (other == tail or other.endswith("." + tail)) for other in paths):
                break
        names[path] = tail
    return names


def _setting(setting: dict) -> str:
    """A tuning point as ``short name=value, ...`` (``short_names``); ``{}`` is the study's own recipe."""
    if not setting:
        return "the study's recipe"
    names = short_names(list(setting))
    return ", ".join(f"{names[path]}={_factor(value)}" for path, value in setting.items())


def _tuned_columns(tuned: dict | None, metrics: list[dict], lineage: str) -> dict[str, object]:
    """``tuned``, ``tuned setting`` and ``tuned score`` of ``lineage`` (module docstring)."""
    if not isinstance(tuned, dict):
        return {"tuned": "", "tuned setting": "", "tuned score": math.nan}
    records = _tuned_members(tuned, metrics, lineage)
    scores = [float(r[TASKS[r["task"]].primary]) for r in records if is_number(r.get(TASKS[r["task"]].primary))]
    return {"tuned": str(tuned.get("column", "")), "tuned setting": _setting(tuned.get("setting") or {}),
            "tuned score": _mean(scores)}


def _tuned_members(tuned: dict, metrics: list[dict], lineage: str) -> list[dict]:
    """The metrics of the tuned member of ``lineage`` on its ``seeds`` (every seed when not listed)."""
    seeds = tuned.get("seeds")
    return [m for m in metrics if m["lineage"] == lineage and m["member"] == tuned.get("member")
            and (not isinstance(seeds, list) or m["seed"] in seeds)]


def _read_claims(path: Path) -> dict:
    try:
        result = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ReportInputError(f"{path}: unusable claims file ({str(err).splitlines()[0]})") from None
    if not isinstance(result, dict) or not isinstance(result.get("claims"), list):
        raise ReportInputError(f"{path}: not a claims.json (no 'claims' list)")
    return result


def _stats(row: dict, prefix: str, claim_row: dict) -> None:
    """Put ``claim_row``'s Δ, interval, n and Holm verdict into ``row`` as ``<prefix> <stat>``."""
    for stat, key in zip(STATS, ("mean", "low", "high", "n", "verdict_holm")):
        value = claim_row.get(key)
        row[f"{prefix} {stat}"] = math.nan if value is None and key in ("mean", "low", "high") else value


def _collapsed(entries: list) -> str:
    """``seed s column; ...`` of a claims row's ``collapsed`` list."""
    return "; ".join(f"seed {e.get('seed')} {e.get('column')}" for e in entries if isinstance(e, dict))


def _chain(tuned: dict | None, metrics: list[dict], lineage: str, gen0: dict[str, list[tuple[str, str, int]]]) -> tuple[str, str] | None:
    """The (cell, lineage) whose gen0 is the tuned member on the most seeds, and its label; None if none."""
    if not isinstance(tuned, dict):
        return None
    records = _tuned_members(tuned, metrics, lineage)
    matches: dict[tuple[str, str], int] = {}
    for record in records:
        for cell, chain_lineage, seed in gen0.get(record.get("identity") or "", []):
            if seed == record["seed"]:
                matches[(cell, chain_lineage)] = matches.get((cell, chain_lineage), 0) + 1
    if not matches:
        return None
    best = max(matches.values())
    cell, chain_lineage = next(key for key, count in matches.items() if count == best)
    label = cell if chain_lineage == lineage else f"{cell} ({chain_lineage})"
    if best < len(records):
        label += f" ({best} of {len(records)} seeds)"
    return (cell, chain_lineage), label


def regime_frame(cells: list[Cell]) -> pd.DataFrame:
    """One row per (cell, lineage): see the module docstring."""
    factor_names = list(dict.fromkeys(path for cell in cells for path in cell.factors))
    loaded = []
    gen0: dict[str, list[tuple[str, str, int]]] = {}  # gen0 identity -> [(cell, lineage, seed)]
    for cell in cells:
        result = _read_claims(cell.claims)
        metrics = [read_metrics(path) for path in cell.metrics]
        loaded.append((cell, result, {claim["id"]: claim for claim in result["claims"]}, metrics))
        for m in metrics:
            if m["member"] == "gen0" and isinstance(m.get("identity"), str):
                gen0.setdefault(m["identity"], []).append((cell.name, m["lineage"], m["seed"]))
    ban1 = {(cell.name, row["lineage"]): row for cell, _, claims, _ in loaded
            for row in claims.get("ban1_beats_teacher", {}).get("rows", []) if row["comparison"] == "BAN-1 − Teacher"}
    rows = []
    seen: dict[str, list[str]] = {claim_id: [] for claim_id in COMPARISONS}  # comparison names per claim, in order
    collapsing: set[str] = set()  # comparisons with a row that lists collapsed members
    for cell, result, claims, metrics in loaded:
        tuned = result.get("tuned") if isinstance(result.get("tuned"), dict) else {}
        for lineage in dict.fromkeys(m["lineage"] for m in metrics):
            row: dict[str, object] = {"cell": cell.name, **{f: cell.factors.get(f) for f in factor_names}, "lineage": lineage}
            row.update(_teacher_columns(metrics, lineage))
            row.update(_tuned_columns(tuned.get(lineage), metrics, lineage))
            for claim_id in COMPARISONS:
                for claim_row in claims.get(claim_id, {}).get("rows", []):
                    if claim_row["lineage"] != lineage:
                        continue
                    name = claim_row["comparison"]
                    if name.endswith(WITHOUT):
                        _stats(row, f"{name[: -len(WITHOUT)]} without collapsed", claim_row)
                        continue
                    if name not in seen[claim_id]:
                        seen[claim_id].append(name)
                    _stats(row, name, claim_row)
                    if claim_row.get("collapsed"):
                        collapsing.add(name)
                        row[f"{name} collapsed"] = _collapsed(claim_row["collapsed"])
            chain = _chain(tuned.get(lineage), metrics, lineage, gen0)
            row["chain cell"] = "" if chain is None else chain[1]
            if chain is not None and chain[0] in ban1:
                _stats(row, CHAIN, ban1[chain[0]])
            rows.append(row)
    columns = ["cell", *factor_names, "lineage", *TEACHER_COLUMNS, *TUNED_COLUMNS]
    for claim_id in COMPARISONS:
        for name in seen[claim_id]:
            columns += [f"{name} {stat}" for stat in STATS]
            if name in collapsing:
                columns += [f"{name} collapsed", *(f"{name} without collapsed {stat}" for stat in STATS)]
    columns += ["chain cell", *(f"{CHAIN} {stat}" for stat in STATS)]
    return pd.DataFrame(rows, columns=columns)


def comparisons_of(frame: pd.DataFrame) -> list[str]:
    """The comparisons a regime frame holds, in column order (not their recomputations without
    collapsed members, nor the chain from the tuned teacher)."""
    return [column[: -len(" Δ")] for column in frame.columns
            if column.endswith(" Δ") and not column.endswith(" without collapsed Δ") and not column.startswith(CHAIN)]


def _number(value: object, signed: bool = False) -> str:
    if not is_number(value) or math.isnan(value):
        return "—"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


def _factor(value: object) -> str:
    """A factor value as the config wrote it (numbers in ``%g``: 0.0 → 0)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _gain(record: dict, prefix: str) -> str:
    """``Δ [low, high] verdict`` of the comparison ``prefix`` in ``record``; ``—`` where not measured."""
    mean = record.get(f"{prefix} Δ")
    if not is_number(mean) or math.isnan(mean):
        return "—"
    low, high = record.get(f"{prefix} low"), record.get(f"{prefix} high")
    interval = "" if not is_number(low) or math.isnan(low) else f" [{_number(low, True)}, {_number(high, True)}]"
    return f"{_number(mean, True)}{interval} {record.get(f'{prefix} verdict (Holm)')}"


def _present(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def regime_markdown(frame: pd.DataFrame, sweep: str, factors: list[str]) -> str:
    """``regime.md``: one row per cell and lineage, each factor headed by its ``short_names``; each gain
    as ``Δ [low, high] verdict (Holm)``, marked ``⚠ ...; without collapsed: Δ [low, high] verdict`` where collapsed members took part."""
    comparisons = comparisons_of(frame)
    names = short_names(factors)
    header = (["Cell", *[names[f] for f in factors], "Lineage", "Teacher train err (%)", "clean (%)",
               "noise memorised (%)", "teacher max prob", "Tuned (setting): test score"] + comparisons
              + ["Chain from the tuned teacher: its BAN-1 − Teacher"])
    lines = [f"# Regime map of sweep `{sweep}`", "",
             "Per cell (a study of the sweep; its claims.md has every row, its scores.csv every seed) and lineage: the "
             "teacher's training error against the labels it trained on and against the clean ones, the % of corrupted "
             "training labels it reproduces (— where the cell corrupts none), its mean max probability on the views BAN-1 "
             "trained on, the tuned baseline (the member chosen on validation error among the lineage's tuning points and "
             "its teacher; its setting, and its mean test score), and each gain as Δ [interval] verdict (negative: the "
             "first member is better).", "",
             "The interval is the comparison's own 95% Student-t interval of the mean paired difference, not adjusted "
             "for the other comparisons; the verdict is Holm-adjusted over the cell's family of comparisons. The two can "
             "disagree: an interval that excludes 0 beside a verdict of \"not shown\" is a comparison that does not survive "
             "the adjustment.", "",
             f"{COLLAPSE_MARK}: a collapsed member (one that did not fit, ban/collapse.py; listed in the cell's claims.md) "
             "took part in the comparison; its value without the collapsed seeds follows. The last column is the chain "
             "trained from the tuned teacher, when a cell of the sweep trains one (its teacher is the very training the "
             "tuned baseline is): that cell and its BAN-1 − Teacher; — where no cell trains a chain from it.", ""]
    rows = []
    for record in frame.to_dict("records"):
        tuned = "—"
        if _present(record.get("tuned")):
            tuned = f"{record['tuned']} ({record.get('tuned setting')}): {_number(record.get('tuned score'))}"
        cells = [record["cell"], *[_factor(record.get(f)) for f in factors], record["lineage"],
                 _number(record.get("teacher_train_error")), _number(record.get("teacher_train_error_clean")),
                 _number(record.get("teacher_noise_memorised")), _number(record.get("teacher_max_prob")), tuned]
        for name in comparisons:
            text = _gain(record, name)
            if _present(record.get(f"{name} collapsed")):
                text = f"{COLLAPSE_MARK} {text}; without collapsed: {_gain(record, f'{name} without collapsed')}"
            cells.append(text)
        chain = record.get("chain cell")
        cells.append(f"{chain}: {_gain(record, CHAIN)}" if _present(chain) else "—")
        rows.append(cells)
    return "\n".join(lines + table_lines(header, rows)) + "\n"


def outcome(expect: str, verdict: object) -> str:
    """How a prediction (``expect``: gain or no gain) came out given its comparison's Holm verdict
    (the module docstring)."""
    if verdict not in ("holds", "not shown", "reversed"):
        return "not tested"
    if expect == "gain":
        return {"holds": "as predicted", "not shown": "not shown", "reversed": "contradicted"}[verdict]
    return "contradicted" if verdict == "holds" else "as predicted"


def _marked_gain(record: dict, name: str) -> str:
    """``_gain`` of ``name``, marked and followed by its value without collapsed members where they took part."""
    text = _gain(record, name)
    if _present(record.get(f"{name} collapsed")):
        text = f"{COLLAPSE_MARK} {text}; without collapsed: {_gain(record, f'{name} without collapsed')}"
    return text


def cell_lines(frame: pd.DataFrame, predictions: list[dict]) -> list[str]:
    """One Markdown bullet per (cell, lineage): ``LINE_ROWS`` as ``Δ [low, high] verdict``, the tuned
    baseline, and each prediction for the cell as ``predicted <expect> in <comparison> (<why>): <outcome>``."""
    lines = []
    for record in frame.to_dict("records"):
        gains = "; ".join(f"{name} {_marked_gain(record, name)}" for name in LINE_ROWS if f"{name} Δ" in record)
        tuned = f" (Tuned: {record['tuned']}, {record.get('tuned setting')})" if _present(record.get("tuned")) else ""
        line = f"- `{record['cell']}` ({record['lineage']}): {gains or 'no comparison'}{tuned}."
        for prediction in predictions:
            if record["cell"] not in prediction.get("cells", []):
                continue
            name = PREDICTED_ROWS[prediction["claim"]]
            why = f" ({prediction['why']})" if prediction.get("why") else ""
            came_out = outcome(prediction["expect"], record.get(f"{name} verdict (Holm)"))
            line += f" Predicted {prediction['expect']} in {name}{why}: **{came_out}**."
        lines.append(line)
    return lines


def plot_regime(frame: pd.DataFrame, factors: list[str], path: Path) -> Path:
    """``regime.png``: one panel per comparison, Δ with its 95% interval per (cell, lineage)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    comparisons = comparisons_of(frame) or ["BAN-1 − Teacher"]
    fig, axes = plt.subplots(len(comparisons), 1, figsize=(max(6.0, 0.6 * len(frame) + 2), 2.6 * len(comparisons)),
                             squeeze=False, sharex=True)
    names = short_names(factors)
    labels = [", ".join(f"{names[f]}={_factor(record.get(f))}" for f in factors) + f" ({record['lineage']})"
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


def write_regime(cells: list[Cell], out_dir: str | Path, sweep: str, predictions: list[dict] = ()) -> list[Path]:
    """Write ``regime.csv``, ``regime.md`` (its table, then ``cell_lines`` with ``predictions``) and
    ``regime.png`` of ``cells`` into ``out_dir``."""
    frame = regime_frame(cells)
    if frame.empty:
        raise ReportInputError(f"sweep {sweep}: no cell has metrics")
    factors = list(dict.fromkeys(path for cell in cells for path in cell.factors))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv, md = out_dir / "regime.csv", out_dir / "regime.md"
    frame.to_csv(csv, index=False, float_format="%.6g")
    lines = ["", "## Per cell", "", "Each cell and lineage in one line: BAN-1 against its teacher and against the tuned "
             "baseline, best BAN against the tuned baseline (Δ [95% interval] Holm verdict, as in the table), and each "
             "prediction the sweep states for the cell (configs: `predictions`), with how it came out.", "",
             *cell_lines(frame, list(predictions))]
    md.write_text(regime_markdown(frame, sweep, factors) + "\n".join(lines) + "\n", encoding="utf-8")
    return [csv, md, plot_regime(frame, factors, out_dir / "regime.png")]
