"""(d) Wall time of whole studies, each run from scratch in a scratch copy of the project; one table.

For every config given: copy ``Snakefile``, ``workflow/``, ``ban/`` and the environment files
into a temporary folder, link ``data/``, run ``snakemake --workflow-profile
workflow/profiles/default --cores N`` on the config, and report the wall time, the number of trained members and the sum of their training
times (``wall_seconds`` in each metrics.json), whose ratio to the wall time is the mean number
of trainings in flight.

    python bench/study_time.py config.yaml                                 # the default study
    python bench/study_time.py config.yaml configs/fashion_mnist_full.yaml --cores 8   # a GPU machine
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

REPO = Path(__file__).resolve().parents[1]


def run_study(config: Path, cores: int, workdir: Path, data: Path) -> dict:
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
               "--cores", str(cores), "--configfile", str(config.resolve())]
    start = time.perf_counter()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SystemExit(f"error: {config} failed (exit {result.returncode}): {last}")
    trained = [json.loads(p.read_text()) for p in (workdir / "results").glob("*/*/seed*/*/metrics.json")]
    trained = [m for m in trained if "wall_seconds" in m]
    return {"config": str(config), "cores": cores, "wall": wall, "members": len(trained),
            "job_seconds": sum(m["wall_seconds"] for m in trained)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("configs", nargs="+", type=Path, help="study configs (e.g. config.yaml)")
    parser.add_argument("--cores", type=int, default=2, help="snakemake --cores (parallel jobs)")
    parser.add_argument("--data", type=Path, default=REPO / "data", help="the data folder the studies read")
    args = parser.parse_args(argv)
    rows = []
    for config in args.configs:
        with tempfile.TemporaryDirectory(prefix="ban-study-") as tmp:
            rows.append(run_study(config, args.cores, Path(tmp), args.data))
    print("| (d) study | cores | trained members | wall | sum of training times | in flight |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['config']} | {row['cores']} | {row['members']} | {row['wall']:.1f} s | "
              f"{row['job_seconds']:.1f} s | {row['job_seconds'] / row['wall']:.2f} |")


if __name__ == "__main__":
    main()
