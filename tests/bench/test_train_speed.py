"""The benchmarks still run (at their smallest sizes, on CPU) and print their tables with real numbers."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir() and not (REPO / "data/FashionMNIST/raw").is_dir(),
                    reason="Fashion-MNIST is not installed (make data)")
def test_bench_prints_a_table(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/train_speed.py"), "--width", "4", "--images", "128", "--batch", "64", "--epochs", "1",
         "--data-root", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    rows = {line.split("|")[1].strip()[:3]: line for line in out.splitlines() if line.startswith("| (")}
    assert set(rows) == {"(a)", "(a'", "(b)", "(c)"}
    for line in rows.values():
        assert float(line.split("|")[2].replace(",", "")) > 0
    assert re.search(r"ours/\(c\) = \d+\.\d+x", out)
    for key in ("(b)", "(c)"):  # each student's test error after the same epochs
        assert 0.0 < float(rows[key].split("|")[4].strip().rstrip("%")) < 100.0


@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir() and not (REPO / "data/FashionMNIST/raw").is_dir(),
                    reason="Fashion-MNIST is not installed (make data)")
def test_concurrent_students_prints_one_row_per_count(tmp_path):
    run = subprocess.run(
        [sys.executable, str(REPO / "bench/concurrent_students.py"), "--counts", "2", "--width", "4", "--images", "128", "--batch", "64",
         "--epochs", "1", "--data-root", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]  # the failed training's last line (bench/concurrent_students.py)
    out = run.stdout
    rows = [line.split("|") for line in out.splitlines() if re.match(r"\| \d+ \|", line)]
    assert [row[1].strip() for row in rows] == ["1", "2"]  # K = 1 is always measured as the baseline
    assert rows[0][4].strip() == "1.00x" and float(rows[1][3].replace(",", "")) > 0


def test_study_time_runs_a_study_from_scratch_and_prints_its_row(tmp_path):
    import yaml

    config = yaml.safe_load((REPO / "tests/workflow/tiny.yaml").read_text())
    config["studies"]["tiny"].update(seeds=[0])
    config["studies"]["tiny"]["lineages"]["cnn"].update(generations=1, controls=[], ensembles=[], independent=0)
    (tmp_path / "tiny.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "data").mkdir()
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/study_time.py"), str(tmp_path / "tiny.yaml"), "--data", str(tmp_path / "data"), "--epochs", "1"],
        capture_output=True, text=True, timeout=600, check=True,
    ).stdout
    row = next(line for line in out.splitlines() if "tiny.yaml" in line).split("|")
    assert [cell.strip() for cell in row[2:5]] == ["auto", "2", "2"]  # precision, cores, trained members (gen0, gen1)
    wall, summed = float(row[5].split()[0]), float(row[6].split()[0])
    assert 0 < summed and 0 < wall


def test_startup_prints_the_three_rows(tmp_path):
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/startup.py"), "--config", str(REPO / "tests/workflow/tiny.yaml"), "--repeats", "1"],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    rows = [line.split("|") for line in out.splitlines() if line.startswith("| ") and "seconds" not in line]
    assert [row[1].strip() for row in rows] == ["import torch", "import ban (cli, lifecycle, tasks.image)", "train → first step"]
    assert rows[0][3].strip() == "1.00" and float(rows[2][2]) > 0
