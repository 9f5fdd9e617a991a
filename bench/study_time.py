"""(d) Wall time of whole studies, each run from scratch in a scratch copy of the project; one table.

For every config given: copy ``Snakefile``, ``workflow/``, ``ban/`` and the environment files
into a temporary folder, link ``data/``, run ``snakemake --workflow-profile
workflow/profiles/default --cores N`` on the config, and report the wall time, the number of trained members and the sum of their training
times (``wall_seconds`` in each metrics.json), whose ratio to the wall time is the mean number
of trainings in flight.

    python bench/study_time.py config.yaml                                 # the default study
    python bench/study_time.py config.yaml configs/fashion_mnist_full.yaml --cores 8   # a GPU machine
    python bench/study_time.py config.yaml --precision fp32 --tables /tmp/tables   # fp32 run, keep tables

``--precision`` sets ``recipe.precision`` of every study (``auto`` leaves the config alone);
``--epochs`` overrides every study's ``recipe.epochs`` (a shorter run of a big study);
``--tables DIR`` keeps each study's ``table.md`` as ``DIR/<config>_<study>_<precision>_c<cores>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def study_config(config: Path, precision: str, epochs: int | None, workdir: Path) -> Path:
    """``config``, or a copy in ``workdir`` with every study's recipe precision/epochs overridden."""
    if precision == "auto" and epochs is None:
        return config.resolve()
    values = yaml.safe_load(config.read_text())
    for study in values["studies"].values():
        recipe = study.setdefault("recipe", {})
        if precision != "auto":
            recipe["precision"] = precision
        if epochs is not None:
            recipe["epochs"] = epochs
    changed = workdir / f"{config.stem}_{precision}.yaml"
    changed.write_text(yaml.safe_dump(values, sort_keys=False))
    return changed


def run_study(config: Path, cores: int, workdir: Path, data: Path, precision: str = "auto", epochs: int | None = None,
              tables: Path | None = None) -> dict:
    """Run one config from scratch in ``workdir``; return its row of the table."""
    for name in ("Snakefile", "environment.yml", "requirements.txt"):  # rules name environment.yml
        shutil.copy2(REPO / name, workdir / name)
    for folder in ("workflow", "ban"):
        shutil.copytree(REPO / folder, workdir / folder, ignore=shutil.ignore_patterns("__pycache__"))
    data.mkdir(parents=True, exist_ok=True)
    (workdir / "data").symlink_to(data.resolve(), target_is_directory=True)
    python_path = os.pathsep.join(filter(None, [str(workdir), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "snakemake", "--workflow-profile", "workflow/profiles/default",
               "--cores", str(cores), "--configfile", str(study_config(config, precision, epochs, workdir))]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: {config} failed (exit {result.returncode}): {last}")
    trained = [json.loads(p.read_text()) for p in (workdir / "results").glob("*/*/seed*/*/metrics.json")]
    trained = [m for m in trained if "wall_seconds" in m]
    if tables is not None:
        tables.mkdir(parents=True, exist_ok=True)
        for table in (workdir / "results").glob("*/table.md"):
            shutil.copy2(table, tables / f"{config.stem}_{table.parent.name}_{precision}_c{cores}.md")
    return {"config": str(config), "precision": precision, "cores": cores, "wall": wall, "members": len(trained),
            "job_seconds": sum(m["wall_seconds"] for m in trained)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path, help="study configs (e.g. config.yaml)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (parallel jobs)")
    parser.add_argument("--data", type=Path, default=REPO / "data", help="the data folder the studies read")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"], help="recipe.precision of every study")
    parser.add_argument("--epochs", type=int, help="recipe.epochs of every study (default: the config's)")
    parser.add_argument("--tables", type=Path, help="keep each study's table.md in this folder")
    args = parser.parse_args(argv)
    rows = []
    for config in args.configs:
        with tempfile.TemporaryDirectory(prefix="ban-study-") as tmp:
            rows.append(run_study(config, args.cores, Path(tmp), args.data, args.precision, args.epochs, args.tables))
    print("| (d) study | precision | cores | trained members | wall | sum of training times | in flight |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        epochs = f" ({args.epochs} epochs)" if args.epochs else ""
        print(f"| {row['config']}{epochs} | {row['precision']} | {row['cores']} | {row['members']} | {row['wall']:.1f} s | "
              f"{row['job_seconds']:.1f} s | {row['job_seconds'] / row['wall']:.2f} |")


if __name__ == "__main__":
    main()
