"""Aggregate throughput of K student trainings in flight on one device; prints one table.

A teacher is trained once; then, for each K, K BAN students of it (different seeds) start at the
same moment as K separate ``python -m ban train`` processes, exactly as Snakemake runs K
training jobs, with the store off (``BAN_STORE=off``: every student trains, none is restored).
Per K the table gives the wall time of the whole batch (process start, CUDA and data set-up
included), the aggregate training rate ``Σ_k images / mean steady epoch time_k`` (epochs after
the first), and both relative to K = 1.

    python bench/concurrent_students.py --counts 1 2                  # CPU, tiny
    python bench/concurrent_students.py --model cnn --images 60000 --epochs 3 --counts 1 2 4 8   # a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from train_speed import add_student_arguments, steady_rate  # bench/ is the script's folder, first on sys.path

REPO = Path(__file__).resolve().parents[1]


def spec_for(args, member: str, seed: int, objective: str) -> dict:
    model_args = {"width": args.width} if args.model == "cnn" else {}
    return {
        "dataset": {"name": "fashion_mnist", "root": args.data_root, "train_subset": args.images},
        "model": {"name": args.model, "args": model_args}, "objective": {"name": objective, "args": {}},
        "recipe": {"epochs": args.epochs, "batch_size": args.batch, "lr": 0.05, "schedule": "cosine", "augment": True},
        "train_seed": seed, "member": member,
    }


def launch(spec: dict, out: Path, args, teacher: Path | None) -> subprocess.Popen:
    command = [sys.executable, "-m", "ban", "train", "--spec", json.dumps(spec), "--out", str(out),
               "--device", args.device, "--threads", "1"]
    if teacher is not None:
        command += ["--teacher", str(teacher)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           "BAN_STORE": "off"}  # every student trains: none is restored from an earlier batch's or run's training
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)


def wait_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            last = (err.strip().splitlines() or ["no output"])[-1]
            raise SystemExit(f"error: a training process failed (exit {process.returncode}): {last}")


def run_batch(count: int, teacher: Path, workdir: Path, args) -> dict:
    outs = [workdir / f"k{count}_student{i}" for i in range(count)]
    start = time.perf_counter()
    wait_all([launch(spec_for(args, "gen1", 1 + i, "ban"), out, args, teacher) for i, out in enumerate(outs)])
    wall = time.perf_counter() - start
    histories = [json.loads((out / "metrics.json").read_text())["history"] for out in outs]
    rate = sum(steady_rate(args.images, [row["train_seconds"] for row in history]) for history in histories)
    return {"count": count, "wall": wall, "rate": rate}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_student_arguments(parser, images=2048, epochs_help="epochs of each student")
    parser.add_argument("--counts", type=int, nargs="+", default=[1, 2], help="numbers of students in flight")
    args = parser.parse_args()
    if 1 not in args.counts:
        args.counts = [1, *args.counts]
    with tempfile.TemporaryDirectory(prefix="ban-concurrent-") as tmp:
        workdir = Path(tmp)
        wait_all([launch(spec_for(args, "gen0", 0, "ce"), workdir / "teacher", args, None)])
        rows = [run_batch(count, workdir / "teacher/model.pt", workdir, args) for count in args.counts]
    single = rows[0]
    print(f"{args.model}, {args.images:,} images, batch {args.batch}, {args.epochs} epochs per student, device {args.device}")
    print("| students in flight | wall | aggregate images/s | throughput vs 1 (rate) | throughput vs 1 (wall) |")
    print("|---|---|---|---|---|")
    for row in rows:
        by_wall = row["count"] * single["wall"] / row["wall"]
        print(f"| {row['count']} | {row['wall']:.1f} s | {row['rate']:,.0f} | {row['rate'] / single['rate']:.2f}x | {by_wall:.2f}x |")


if __name__ == "__main__":
    main()
