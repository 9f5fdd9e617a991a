"""Publishing a sweep: its regime map and every cell's claims, table and per-seed scores, copied
from the results folder into the documentation (standard library only).

``publish_sweep(sweep, to, results="results")`` takes the cells from the ``cell`` column of
``<results>/<sweep>/regime.csv`` (in order) and copies

    <results>/<sweep>/regime.{csv,md,png}                            -> <to>/
    <results>/<cell>/{claims.md, claims.json, scores.csv, table.md}  -> <to>/<cell>/

It checks first that every one of those files is there: a missing one is a ``FileNotFoundError``
naming it (and how many more are missing), and then nothing is copied. Files under ``<to>`` that
the sweep does not write are left as they are.
"""

from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

__all__ = ["CELL_FILES", "MAP_FILES", "publish_sweep"]

MAP_FILES = ("regime.csv", "regime.md", "regime.png")
CELL_FILES = ("claims.md", "claims.json", "scores.csv", "table.md")
NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.-]+$")


def _cells(regime_csv: Path) -> list[str]:
    """The cell names of a regime.csv, in order, each once."""
    with open(regime_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and "cell" not in rows[0]:
        raise ValueError(f"{regime_csv}: no 'cell' column (not a regime map)")
    cells = list(dict.fromkeys(row["cell"] for row in rows))
    bad = [cell for cell in cells if not NAME.match(cell)]
    if bad:
        raise ValueError(f"{regime_csv}: cell {bad[0]!r} is not a plain name (letters, digits, _ . -)")
    return cells


def publish_sweep(sweep: str, to: str | Path, results: str | Path = "results") -> list[Path]:
    """Copy the sweep's map and its cells' files from ``results`` into ``to`` (module docstring);
    returns the files written."""
    if not NAME.match(sweep):
        raise ValueError(f"--sweep {sweep!r}: a sweep's name is a plain name (letters, digits, _ . -)")
    results, to = Path(results), Path(to)
    regime_csv = results / sweep / "regime.csv"
    if not regime_csv.is_file():
        raise FileNotFoundError(f"{regime_csv} is missing: run the sweep's workflow first (snakemake --configfile <its config>)")
    copies = [(results / sweep / name, to / name) for name in MAP_FILES]
    copies += [(results / cell / name, to / cell / name) for cell in _cells(regime_csv) for name in CELL_FILES]
    missing = [source for source, _ in copies if not source.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more files)" if len(missing) > 1 else ""
        raise FileNotFoundError(f"{missing[0]} is missing{more}: run the sweep's workflow first; nothing was published")
    for source, target in copies:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return [target for _, target in copies]
