"""Tables and figures from ``metrics.json`` files (pandas, numpy, matplotlib/Agg; never torch).

``ban.report.frame`` reads the metrics into one frame and its seed statistics;
``ban.report.tables.write_tables(paths, out_dir, paper=None, stem=None)`` writes the score tables
(``ban.report.paper`` compares with the paper's numbers); ``ban.report.plots.write_plots(paths,
out_dir)`` writes the PNG figures. Tables and plots both read ``frame``; neither reads the other.
The names below are imported lazily so that importing ``ban.report`` itself stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_metrics", "write_tables", "write_plots"]


def __getattr__(name: str) -> Any:
    if name == "load_metrics":
        from ban.report import frame

        return frame.load_metrics
    if name == "write_tables":
        from ban.report import tables

        return tables.write_tables
    if name == "write_plots":
        from ban.report import plots

        return plots.write_plots
    raise AttributeError(f"module 'ban.report' has no attribute {name!r}")
