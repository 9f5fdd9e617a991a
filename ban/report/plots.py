"""Figures of one study from its metrics.json files (matplotlib Agg canvas, no pyplot state).

``write_plots(paths, out_dir)`` writes four PNGs:

* ``error_vs_generation.png`` — x = generation k (0 = Teacher, k = BAN-k), y = the task's primary
  score (``Task.primary``: test error % for image studies, test perplexity for text); one line per
  lineage at the seed mean with ±1 seed std error bars (std with ddof = 1, no bar for one seed);
  Ens*k drawn as separate hollow diamonds at x = k in the lineage's colour, and the
  independent-ensemble control Indep*k (the Teacher and k−1 label-trained networks) as hollow
  squares just right of it.
* ``controls.png`` — grouped bars per lineage of ``CONTROL_COLUMNS`` (Teacher, BAN-1, then every
  control of ``ban.member_kinds.CONTROLS``; those present) at the seed mean with ±1 std error bars,
  each bar labelled with its mean; controls in their ``Control.colour``.
* ``training_curves.png`` — one panel per lineage; per member with a history, the per-epoch
  ``Task.curve_key`` (test error for image, val perplexity for text), averaged over the seeds
  that reached that epoch; generations shade along viridis, controls keep their colour and
  linestyle; y axis log-scaled when the curves span a factor of 5 or more.
* ``gains.png`` — a forest plot: one panel per lineage, one row per member with a paired gain
  (every column but the Teacher, in table order), the gain Δ = mean over seeds of (member −
  Teacher of the same seed) of the primary score with its 95% Student-t interval as a horizontal
  bar (``ban.report.frame``/``ban.report.stats``; the tables' Δ and interval), a dashed line at 0;
  the row label ends with wins/paired seeds. Green: the interval lies below 0 (better than the
  Teacher), red: above 0 (worse), grey: it contains 0; hollow markers without a bar have one
  paired seed (no interval).

Missing members, lineages without controls or ensembles, and single seeds are drawn with what
is there; a figure without any data says so instead of failing. Statistics and histories come
from ``ban.report.frame`` (the tables' numbers, never the tables' rendering).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

from ban.member_kinds import CONTROLS, TEACHER, column_label, column_sort_key, control_style, ensemble_size, generation_of
from ban.report.frame import lineage_order, load_histories, load_metrics, single_study, summarize
from ban.tasks import get_task

CONTROL_COLUMNS = (TEACHER, column_label("gen1"), *(control.label for control in CONTROLS.values()))
"""Bars of ``controls.png``: Teacher, BAN-1, then every control of ``ban.member_kinds.CONTROLS``."""
INDEP_OFFSET = 0.12  # Indep*k squares sit this far right of the Ens*k diamond at x = k
SPARSE_CURVE = 12  # curves of at most this many scored epochs (recipe.eval_every > 1) get markers
DPI = 100
_PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
            "#bcbd22", "#17becf")


def _colour(index: int) -> str:
    return _PALETTE[index % len(_PALETTE)]


def _new_figure(width: float, height: float, dpi: float = DPI) -> Figure:
    figure = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path: Path) -> Path:
    figure.savefig(path, format="png", metadata={"Software": None})
    return path


_PLAIN = FuncFormatter(lambda value, _: f"{value:g}")


def _no_data(axes, message: str = "no data") -> None:
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes, color="0.4")


# ---------------------------------------------------------------------------------------------
# Error vs generation
# ---------------------------------------------------------------------------------------------


def plot_error_vs_generation(frame: pd.DataFrame, study: str, task: str) -> Figure:
    """Score of Teacher/BAN-k per generation and Ens*k markers; see the module docstring."""
    spec = get_task(task)
    stats = summarize(frame, spec.primary)
    figure = _new_figure(8.0, 4.5)
    axes = figure.add_subplot()
    max_generation = 0
    drawn = has_ensembles = has_independent = False
    for index, lineage in enumerate(lineage_order(frame)):
        colour = _colour(index)
        cells = sorted(((c, s) for (name, c), s in stats.items() if name == lineage), key=lambda cs: column_sort_key(cs[0]))
        generations = [(generation_of(c), s) for c, s in cells if generation_of(c) is not None]
        ensembles = [(ensemble_size(c), s) for c, s in cells if ensemble_size(c) is not None]
        independent = [(ensemble_size(c, "indep"), s) for c, s in cells if ensemble_size(c, "indep") is not None]
        if generations:
            axes.errorbar([k for k, _ in generations], [s.mean for _, s in generations],
                          yerr=[s.std for _, s in generations], color=colour, marker="o",
                          capsize=3, label=lineage)
        if ensembles:
            axes.errorbar([k for k, _ in ensembles], [s.mean for _, s in ensembles],
                          yerr=[s.std for _, s in ensembles], color=colour, marker="D",
                          markerfacecolor="none", linestyle="none", capsize=3)
            has_ensembles = True
        if independent:
            axes.errorbar([k + INDEP_OFFSET for k, _ in independent], [s.mean for _, s in independent],
                          yerr=[s.std for _, s in independent], color=colour, marker="s",
                          markerfacecolor="none", linestyle="none", capsize=3)
            has_independent = True
        ks = [k for k, _ in generations + ensembles + independent]
        if ks:
            drawn = True
            max_generation = max(max_generation, *ks)
    axes.set_xticks(range(max_generation + 1))
    axes.set_xlabel("generation (0 = Teacher, k = BAN-k; diamonds: Ens*k" + ("; squares: Indep*k)" if has_independent else ")"))
    axes.set_ylabel(spec.primary_label)
    axes.set_title(f"{study}\n{spec.primary_label} by generation (mean ± std over seeds)", fontsize=10)
    axes.grid(True, alpha=0.3)
    if drawn:
        handles, _ = axes.get_legend_handles_labels()
        if has_ensembles:
            handles.append(Line2D([], [], color="0.3", marker="D", markerfacecolor="none", linestyle="none",
                                  label="Ens*k"))
        if has_independent:
            handles.append(Line2D([], [], color="0.3", marker="s", markerfacecolor="none", linestyle="none",
                                  label="Indep*k"))
        figure.legend(handles=handles, loc="outside right upper", fontsize=8)
    else:
        _no_data(axes)
    return figure


# ---------------------------------------------------------------------------------------------
# Controls
# ---------------------------------------------------------------------------------------------


def plot_controls(frame: pd.DataFrame, study: str, task: str) -> Figure:
    """Grouped bars of ``CONTROL_COLUMNS`` (those present) per lineage."""
    stats = summarize(frame, get_task(task).primary)
    lineages = lineage_order(frame)
    columns = [c for c in CONTROL_COLUMNS if any((name, c) in stats for name in lineages)]
    figure = _new_figure(min(14.0, max(6.0, 1.4 * len(lineages) * max(1, len(columns)) / 2.5)), 4.5)
    axes = figure.add_subplot()
    width = 0.8 / max(1, len(columns))
    lows, highs = [], []
    for position, column in enumerate(columns):
        xs, means, stds = [], [], []
        for index, lineage in enumerate(lineages):
            cell = stats.get((lineage, column))
            if cell is None:
                continue
            xs.append(index - 0.4 + width * (position + 0.5))
            means.append(cell.mean)
            stds.append(cell.std)
        colour = (control_style(column) or (_colour(position), None))[0]
        bars = axes.bar(xs, means, width, yerr=stds, capsize=3, color=colour, label=column)
        axes.bar_label(bars, labels=[f"{m:.2f}" for m in means], fontsize=7, padding=2)
        lows += [m - (0.0 if math.isnan(s) else s) for m, s in zip(means, stds)]
        highs += [m + (0.0 if math.isnan(s) else s) for m, s in zip(means, stds)]
    finite = [v for v in lows + highs if math.isfinite(v)]
    if finite:
        low, high = min(finite), max(finite)
        span = high - low if high > low else max(abs(high), 1.0) * 0.1
        axes.set_ylim(max(0.0, low - 0.6 * span), high + 0.35 * span)
        figure.legend(loc="outside lower center", ncols=len(columns), fontsize=8)
    else:
        _no_data(axes)
    axes.set_xticks(range(len(lineages)), lineages, rotation=15 if len(lineages) > 4 else 0)
    axes.set_ylabel(get_task(task).primary_label)
    figure.suptitle(f"{study}\nteacher, BAN and controls (mean ± std over seeds)", fontsize=10)
    axes.grid(True, axis="y", alpha=0.3)
    return figure


# ---------------------------------------------------------------------------------------------
# Training curves
# ---------------------------------------------------------------------------------------------


def _curve_style(column: str, max_generation: int) -> tuple[object, str]:
    """Generations shade along viridis (Teacher dark, last BAN light); controls keep fixed styles."""
    style = control_style(column)
    if style is not None:
        return style
    generation = generation_of(column)
    if generation is not None:
        shade = 0.0 if max_generation == 0 else generation / max_generation
        return (colormaps["viridis"](0.85 * shade), "-")
    return ("0.5", "-")


def _scale_y(axes, values: np.ndarray) -> None:
    """Log-scaled y labelled at 1, 2, 5 × 10^k when the curves span a factor ≥ 5 (early epochs
    would flatten the rest on a linear axis); linear otherwise."""
    if np.all(np.isfinite(values)) and np.all(values > 0) and values.max() / values.min() >= 5:
        axes.set_yscale("log")
        axes.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        axes.yaxis.set_major_formatter(_PLAIN)
        axes.yaxis.set_minor_formatter(NullFormatter())


def plot_training_curves(frame: pd.DataFrame, histories: pd.DataFrame, study: str, task: str) -> Figure:
    """One panel per lineage with the seed-mean curve of every member that has a history."""
    lineages = lineage_order(frame)
    n_columns = min(3, len(lineages))
    n_rows = math.ceil(len(lineages) / n_columns)
    # Fewer dots per inch with more panel rows: the PNG stays well under 200 KB (7 lineages of
    # 9 noisy 200-epoch curves: ~140 KB).
    figure = _new_figure(4.6 * n_columns, 3.4 * n_rows, dpi=DPI / max(1.0, math.sqrt(n_rows)))
    for index, lineage in enumerate(lineages):
        axes = figure.add_subplot(n_rows, n_columns, index + 1)
        curves = histories[histories["lineage"] == lineage]
        columns = sorted(set(curves["column"]), key=column_sort_key)
        max_generation = max([generation_of(c) or 0 for c in columns] or [0])
        for column in columns:
            mean = curves[curves["column"] == column].groupby("epoch")["value"].mean().sort_index()
            colour, style = _curve_style(column, max_generation)
            axes.plot(mean.index.to_numpy(), mean.to_numpy(), color=colour, linestyle=style,
                      linewidth=1.2, label=column, marker="o" if len(mean) <= SPARSE_CURVE else None, markersize=3)
        if columns:
            _scale_y(axes, curves["value"].to_numpy())
            axes.legend(fontsize=7)
        else:
            _no_data(axes, "no history")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_title(lineage, fontsize=10)
        axes.set_xlabel("epoch")
        axes.set_ylabel(get_task(task).curve_label)
        axes.grid(True, which="both", alpha=0.3)
    figure.suptitle(f"{study}\n{get_task(task).curve_label} per epoch (mean over seeds)", fontsize=10)
    return figure


# ---------------------------------------------------------------------------------------------
# Forest plot of the paired gains
# ---------------------------------------------------------------------------------------------

BETTER, WORSE, LEVEL_COLOUR, MARGIN_COLOUR = "#2ca02c", "#d62728", "0.35", "0.9"


def _gain_colour(cell) -> str:
    if math.isnan(cell.gain_low) or math.isnan(cell.gain_high):
        return LEVEL_COLOUR
    if cell.gain_high < 0:
        return BETTER
    if cell.gain_low > 0:
        return WORSE
    return LEVEL_COLOUR


def plot_gains(frame: pd.DataFrame, study: str, task: str, equivalence_margin: float | None = None) -> Figure:
    """Paired gain vs the Teacher with its 95% t-interval, one row per member, one panel per lineage;
    ``equivalence_margin`` X shades [−X, +X] (an interval inside it: "no effect larger than X")."""
    spec = get_task(task)
    stats = summarize(frame, spec.primary)
    lineages = lineage_order(frame)
    rows = {lineage: [(column, cell) for (name, column), cell in stats.items() if name == lineage and not math.isnan(cell.gain)]
            for lineage in lineages}
    rows = {lineage: sorted(cells, key=lambda cc: column_sort_key(cc[0])) for lineage, cells in rows.items()}
    heights = [max(1, len(cells)) * 0.28 + 0.9 for cells in rows.values()] or [2.0]
    total = sum(heights) + 0.6
    figure = _new_figure(7.5, max(3.0, total), dpi=DPI / max(1.0, math.sqrt(total / 12.0)))
    if not lineages:
        _no_data(figure.add_subplot(), "no paired gain")
        return figure
    grid = figure.add_gridspec(len(lineages), 1, height_ratios=heights)
    for index, lineage in enumerate(lineages):
        axes = figure.add_subplot(grid[index])
        cells = rows[lineage]
        axes.axvline(0.0, color="0.2", linewidth=0.9, linestyle="--")
        if equivalence_margin is not None:
            axes.axvspan(-equivalence_margin, equivalence_margin, color=MARGIN_COLOUR, zorder=0,
                         label=f"equivalence margin ±{equivalence_margin:g}")
            if index == 0:
                axes.legend(loc="lower right", fontsize=7)
        for y, (column, cell) in enumerate(cells):
            colour = _gain_colour(cell)
            if math.isnan(cell.gain_low) or math.isnan(cell.gain_high):
                axes.plot([cell.gain], [y], marker="o", color=colour, markerfacecolor="none", linestyle="none")
            else:
                axes.errorbar([cell.gain], [y], xerr=[[cell.gain - cell.gain_low], [cell.gain_high - cell.gain]],
                              color=colour, marker="o", capsize=3, linestyle="none")
        labels = [f"{column}  {int(cell.wins)}/{int(cell.n_paired)}" for column, cell in cells]
        axes.set_yticks(range(len(cells)), labels, fontsize=8)
        axes.set_ylim(len(cells) - 0.5 if cells else 0.5, -0.5)
        if not cells:
            _no_data(axes, "no member paired with the Teacher")
        axes.set_title(lineage, fontsize=9, loc="left")
        axes.grid(True, axis="x", alpha=0.3)
        if index == len(lineages) - 1:
            axes.set_xlabel(f"Δ {spec.primary_label} vs Teacher (member − Teacher, paired over seeds)")
    figure.suptitle(f"{study}\npaired gain vs the Teacher with 95% t-interval (left of 0 = better; label: wins/seeds)",
                    fontsize=10)
    return figure


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def write_plots(metrics_paths: Iterable[str | Path], out_dir: str | Path, equivalence_margin: float | None = None) -> list[Path]:
    """Write error_vs_generation.png, controls.png, training_curves.png, gains.png (with the
    equivalence margin shaded when given) into ``out_dir``."""
    paths = [Path(p) for p in metrics_paths]
    frame = load_metrics(paths)
    study, task = single_study(frame)
    histories = load_histories(paths, get_task(task).curve_key)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "error_vs_generation.png": plot_error_vs_generation(frame, study, task),
        "controls.png": plot_controls(frame, study, task),
        "training_curves.png": plot_training_curves(frame, histories, study, task),
        "gains.png": plot_gains(frame, study, task, equivalence_margin),
    }
    return [_save(figure, out_dir / name) for name, figure in figures.items()]
