"""Figures from hand-made metrics.json files: valid, small, deterministic PNGs; robust to gaps."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib import image as mpimg

from ban.report.plots import load_histories, write_plots
from ban.report.tables import MetricsFileError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ["error_vs_generation.png", "controls.png", "training_curves.png"]
REPO = Path(__file__).resolve().parents[2]


def write_metrics(root: Path, lineage: str, seed: int, member: str, score: float, task: str = "image",
                  epochs: int = 3) -> Path:
    record = {"study": "demo", "lineage": lineage, "seed": seed, "member": member, "task": task,
              "model": "cnn", "objective": "ce", "dataset": "d", "epochs": epochs, "wall_seconds": 1.0}
    curve_key = "test_error" if task == "image" else "val_ppl"
    if task == "image":
        record.update(test_error=score, test_nll=score / 10, test_ece=score / 4)
    else:
        record.update(test_ppl=score, val_ppl=score + 3, test_nll=math.log(score))
    if member.startswith("ens"):
        record["members"] = [f"gen{k}" for k in range(1, int(member[3:]) + 1)]
    else:
        record["history"] = [{"epoch": e, "train_loss": 1.0 / e, "lr": 0.1, "seconds": 0.1,
                              curve_key: score * (1 + (epochs - e) / epochs)} for e in range(1, epochs + 1)]
    path = root / lineage / f"seed{seed}" / member / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    return path


def full_study(root: Path) -> list[Path]:
    scores = {"gen0": 6.0, "gen1": 5.5, "gen2": 5.2, "gen3": 5.3, "ban_l": 5.8, "cwtm": 5.6, "dkpp": 5.9,
              "ens2": 5.0, "ens3": 4.9}
    return [write_metrics(root, lineage, seed, member, score + offset + 0.2 * seed)
            for lineage, offset in (("wrn-28-1", 0.0), ("densenet-40", 1.5), ("resnet-20", 3.0))
            for seed in (1, 2) for member, score in scores.items()]


def assert_valid_pngs(out_dir: Path) -> None:
    for name in PLOTS:
        path = out_dir / name
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, name
        assert len(data) <= 200_000, (name, len(data))
        pixels = mpimg.imread(path)
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100


def test_full_study_plots_are_valid(tmp_path):
    written = write_plots(full_study(tmp_path / "results"), tmp_path / "out")
    assert [p.name for p in written] == PLOTS
    assert_valid_pngs(tmp_path / "out")


def test_sparse_study_single_seed_no_controls_no_ensembles(tmp_path):
    paths = [write_metrics(tmp_path, "cnn", 0, "gen0", 9.0), write_metrics(tmp_path, "cnn", 0, "gen1", 8.5),
             write_metrics(tmp_path, "mlp", 0, "gen0", 12.0)]
    write_plots(paths, tmp_path / "out")
    assert_valid_pngs(tmp_path / "out")


def test_ensemble_only_study_without_histories_is_deterministic(tmp_path):
    paths = [write_metrics(tmp_path, "cnn", 0, "ens2", 9.0)]
    write_plots(paths, tmp_path / "a")
    assert_valid_pngs(tmp_path / "a")
    write_plots(paths, tmp_path / "b")
    for name in PLOTS:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_text_study_plots(tmp_path):
    paths = [write_metrics(tmp_path, "lstm", seed, member, ppl + seed, task="text")
             for seed in (1, 2) for member, ppl in (("gen0", 80.0), ("gen1", 77.0), ("ens2", 75.0))]
    write_plots(paths, tmp_path / "out")
    assert_valid_pngs(tmp_path / "out")


def test_histories_are_long_and_seed_tagged(tmp_path):
    paths = [write_metrics(tmp_path, "cnn", 1, "gen0", 9.0, epochs=2), write_metrics(tmp_path, "cnn", 1, "ens2", 8.0)]
    histories = load_histories(paths, "test_error")
    assert list(histories.epoch) == [1, 2]
    assert list(histories.value) == pytest.approx([13.5, 9.0])  # score * (1 + (epochs - e) / epochs)
    assert set(histories.column) == {"Teacher"}


def test_epochs_without_a_test_score_are_left_out(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0, epochs=3)
    record = json.loads(path.read_text())
    record["history"][0]["test_error"] = None  # recipe.eval_every: 2 scores epochs 2 and 3 only
    path.write_text(json.dumps(record))
    histories = load_histories([path], "test_error")
    assert list(histories.epoch) == [2, 3]
    write_plots([path], tmp_path / "out")
    assert_valid_pngs(tmp_path / "out")


def test_history_row_without_epoch_names_file(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0)
    record = json.loads(path.read_text())
    del record["history"][0]["epoch"]
    path.write_text(json.dumps(record))
    with pytest.raises(MetricsFileError, match=str(path)):
        write_plots([path], tmp_path / "out")


def test_bad_metrics_file_names_file(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0)
    record = json.loads(path.read_text())
    del record["test_error"]
    path.write_text(json.dumps(record))
    with pytest.raises(ValueError, match="test_error") as caught:
        write_plots([path], tmp_path / "out")
    assert str(path) in str(caught.value)


def test_report_imports_neither_torch_nor_pyplot():
    code = ("import sys, ban.report.tables, ban.report.plots; "
            "bad = [m for m in ('torch', 'matplotlib.pyplot') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)
