"""Figures from hand-made metrics.json files: valid, small, deterministic PNGs; robust to gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from metrics_files import edit_metrics
from metrics_files import write_curve_metrics as write_metrics

from ban.report.frame import MetricsFileError
from ban.report.plots import CONTROL_COLUMNS, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ["error_vs_generation.png", "controls.png", "training_curves.png"]
REPO = Path(__file__).resolve().parents[2]


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


def test_epochs_without_a_test_score_are_left_out(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0, epochs=3)
    # recipe.eval_every: 2 scores epochs 2 and 3 only (load_histories leaves epoch 1 out: test_frame.py)
    edit_metrics(path, lambda record: record["history"][0].update(test_error=None))
    write_plots([path], tmp_path / "out")
    assert_valid_pngs(tmp_path / "out")


def test_history_row_without_epoch_names_file(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0)
    edit_metrics(path, lambda record: record["history"][0].pop("epoch"))
    with pytest.raises(MetricsFileError, match=str(path)):
        write_plots([path], tmp_path / "out")


def test_bad_metrics_file_names_file(tmp_path):
    path = write_metrics(tmp_path, "cnn", 1, "gen0", 9.0)
    edit_metrics(path, lambda record: record.pop("test_error"))
    with pytest.raises(ValueError, match="test_error") as caught:
        write_plots([path], tmp_path / "out")
    assert str(path) in str(caught.value)


def test_report_imports_neither_torch_nor_pyplot():
    code = ("import sys, ban.report.tables, ban.report.paper, ban.report.plots; "
            "bad = [m for m in ('torch', 'matplotlib.pyplot') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_plots_read_the_frame_not_the_tables():
    code = ("import sys, ban.report.plots; "
            "bad = [m for m in ('ban.report.tables', 'ban.report.paper') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


def test_control_bars_are_teacher_ban1_and_every_control():
    assert CONTROL_COLUMNS == ("Teacher", "BAN-1", "BAN+L", "CWTM", "DKPP")
