"""What ``make run`` prints last: per study, the claims' summary and where its files are (no torch).

``claims_summary(text)`` is the part of a ``claims.md`` a person reads first, as lines of that
file: its ``Family:`` line (how many comparisons, the Holm adjustment, the equivalence margin) and
the table under its ``## Summary`` heading (one row per claim: its verdicts per comparison and
after Holm's adjustment). ``study_summary(results, study)`` adds where the study's tables, claims
and plots are (``results/<study>/table*.md``, ``claims.md``, ``plots/``);
``config_summary(configfile, results)`` does so for every study of a config, and names each sweep's
regime map. Only reads: no report file is written or changed.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ban.configfile import unreadable_problems

SUMMARY_HEADING = "## Summary"


def claims_summary(text: str) -> list[str]:
    """The ``Family:`` line and the ``## Summary`` table of a ``claims.md`` (its lines, unchanged).

    A file with neither is a ``ValueError``; the table is the run of ``|`` lines after the heading.
    """
    lines = text.splitlines()
    family = [line for line in lines if line.startswith("Family: ")][:1]
    if SUMMARY_HEADING not in lines:
        raise ValueError(f"no '{SUMMARY_HEADING}' section")
    table: list[str] = []
    for line in lines[lines.index(SUMMARY_HEADING) + 1:]:
        if line.startswith("|"):
            table.append(line)
        elif table or line.strip():  # blank lines before the table are skipped; anything after ends it
            break
    if not family or not table:
        raise ValueError(f"no 'Family:' line or no table under '{SUMMARY_HEADING}'")
    return family + table


def study_summary(results: Path, study: str) -> str:
    """The claims' summary of ``results/<study>/claims.md`` and where the study's files are."""
    folder = Path(results) / study
    claims = folder / "claims.md"
    if not claims.is_file():
        raise ValueError(f"{claims}: missing (the study has not finished; run the workflow first)")
    try:
        summary = claims_summary(claims.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"{claims}: {err}") from None
    tables = sorted(folder.glob("table*.md"), key=lambda p: (p.name != "table.md", p.name))
    plots = sorted(p.name for p in (folder / "plots").glob("*.png"))
    where = [f"claims: {claims} (every comparison with its interval, p-value and verdicts)"]
    if tables:
        where.append(f"tables: {tables[0]}" + "".join(f", {p.name}" for p in tables[1:]) + " (and .csv, .tex)")
    if plots:
        where.append(f"plots:  {folder / 'plots'}/ ({', '.join(plots)})")
    return "\n".join([f"== {study}", *summary, "", *where])


def config_summary(configfile: str | Path, results: str | Path = "results") -> str:
    """``study_summary`` of every study under the config's ``studies:``, then each sweep's regime map."""
    path = Path(configfile)
    if problems := unreadable_problems(path):
        raise ValueError(problems[0])
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        raise ValueError(f"{path}: not valid YAML") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: the top level is not a mapping (with studies: or sweeps:)")
    results = Path(results)
    parts = [study_summary(results, study) for study in config.get("studies") or {}]
    for sweep in config.get("sweeps") or {}:
        regime = results / sweep / "regime.md"
        if not regime.is_file():
            raise ValueError(f"{regime}: missing (the sweep has not finished; run the workflow first)")
        parts.append(f"== sweep {sweep}\nregime map: {regime} (and regime.csv, regime.png); each cell's claims: "
                     f"{results}/{sweep}.<cell>/claims.md")
    if not parts:
        raise ValueError(f"{path}: no studies: or sweeps: to summarise")
    return "\n\n".join(parts)
