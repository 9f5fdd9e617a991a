"""Tables, figures and claims from ``metrics.json`` files (pandas, numpy, matplotlib/Agg; never torch).

``ban.report.frame`` reads the metrics into one frame and its seed statistics (mean, std, the
paired gain vs the Teacher with its 95% Student-t interval from ``ban.report.stats``, wins);
``ban.report.tables.write_tables(paths, out_dir, paper=None, stem=None)`` writes the score tables
(``ban.report.paper`` compares with the paper's numbers, ``ban.report.fidelity`` gives each
student's agreement with and KL from its own teacher, from the saved predictions);
``ban.report.plots.write_plots(paths, out_dir)`` writes the PNG figures, among them the forest
plot of the gains; ``ban.report.claims_markdown.write_claims(paths, out_dir)`` tests the paper's
claims (registered in ``ban.report.claims``, each comparison decided by ``ban.report.verdicts``)
and writes claims.md, claims.json and scores.csv (their per-seed data). Tables, plots and claims all read ``frame``; none reads
another. The names below are imported lazily so that importing ``ban.report`` itself stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_metrics", "write_claims", "write_plots", "write_tables"]


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
    if name == "write_claims":
        from ban.report import claims_markdown

        return claims_markdown.write_claims
    raise AttributeError(f"module 'ban.report' has no attribute {name!r}")
