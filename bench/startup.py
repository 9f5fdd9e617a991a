"""Job start-up: process start → first training step of a default-study training, against
``python -c "import torch"``, measured in one run on this machine; prints one table.

Every training is its own process (one Snakemake job), so what it spends before its first step
is paid once per member. Rows (median of ``--repeats`` runs each):

- ``import torch``: ``python -c "import torch"``;
- ``import ban``: the modules a training imports (``ban.cli``, ``ban.lifecycle``, ``ban.tasks.image``);
- ``train → first step``: ``python -m ban train`` of the default study's teacher (``config.yaml``,
  seed 0) until its ``train gen0: …`` line, which it prints right before the first step (data
  loaded and checked, model built): the process is then stopped. The store is off
  (``BAN_STORE=off``): a finished teacher in ``.ban-store`` would be restored, never started.

    python bench/startup.py            # CPU; --device cuda on a GPU machine

Measured on the development machine (2 cores of an AMD EPYC, no GPU; ``--repeats 5``, warm page
cache): ``import torch`` 2.55 s; train → first step 3.29 s = 1.29× (before the trainer read
Fashion-MNIST with its own IDX reader instead of torchvision's, and before the redesign: 3.90 s
= 1.52×).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def seconds_to_exit(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    return time.perf_counter() - started


def seconds_to_first_step(spec: dict, device: str) -> float:
    """From spawning ``python -m ban train`` to its ``train …`` line (printed before the first step)."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "ban", "train", "--spec", json.dumps(spec), "--out", out, "--device", device, "--threads", "1"]
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env={**os.environ, "PYTHONPATH": str(REPO), "BAN_STORE": "off"})  # trains: never restored
        try:
            for line in proc.stdout:
                if line.startswith("train "):
                    return time.perf_counter() - started
            raise SystemExit(f"the trainer ended before its first step:\n{proc.wait()}")
        finally:
            proc.kill()
            proc.wait()


def default_teacher_spec(config: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from ban.study import member_spec

    study_config = yaml.safe_load(config.read_text())
    study = next(iter(study_config["studies"]))
    lineage = next(iter(study_config["studies"][study]["lineages"]))
    seed = study_config["studies"][study]["seeds"][0]
    return member_spec(study_config, study, lineage, seed, "gen0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(REPO / "config.yaml"), help="the study whose teacher starts (default: config.yaml)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    spec = default_teacher_spec(Path(args.config))
    rows = {
        "import torch": lambda: seconds_to_exit("import torch"),
        "import ban (cli, lifecycle, tasks.image)": lambda: seconds_to_exit("import ban.cli, ban.lifecycle, ban.tasks.image"),
        "train → first step": lambda: seconds_to_first_step(spec, args.device),
    }
    medians = {}
    for name, measure in rows.items():
        if args.repeats > 1:
            measure()  # warm the page cache
        medians[name] = statistics.median(measure() for _ in range(args.repeats))
    torch_seconds = medians["import torch"]
    print(f"start-up on {args.device}, {spec['model']['name']} on {spec['dataset']['name']}, median of {args.repeats}")
    print("| measurement | seconds | × import torch |")
    print("|---|---|---|")
    for name, value in medians.items():
        print(f"| {name} | {value:.2f} | {value / torch_seconds:.2f} |")


if __name__ == "__main__":
    main()
