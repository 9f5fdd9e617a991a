"""The benchmark still runs (tiny, on CPU) and prints its table with real numbers."""

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
        [sys.executable, str(REPO / "bench/train_speed.py"), "--images", "256", "--batch", "64", "--data-root", str(tmp_path)],
        capture_output=True, text=True, timeout=300, check=True,
    ).stdout
    rows = {line.split("|")[1].strip()[:3]: line for line in out.splitlines() if line.startswith("| (")}
    assert set(rows) == {"(a)", "(b)", "(c)"}
    for line in rows.values():
        assert float(line.split("|")[2].replace(",", "")) > 0
    assert re.search(r"ours/\(c\) = \d+\.\d+x", out)
