"""Figures from hand-made metrics.json files: valid, small, deterministic PNGs; robust to gaps."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib import image as mpimg
from metrics_files import edit_metrics
from metrics_files import write_curve_metrics as write_metrics

from ban.member_kinds import CONTROLS
from ban.report.frame import MetricsFileError
from ban.report.plots import CONTROL_COLUMNS, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOTS = ["error_vs_generation.png", "controls.png", "training_curves.png", "gains.png"]
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


def test_independent_networks_and_their_ensembles_are_drawn(tmp_path):
    """Ind-i and Indep*k (the independent-ensemble control) beside Ens*k; three seeds give intervals."""
    scores = {"gen0": 6.0, "gen1": 5.5, "gen2": 5.2, "ind1": 6.1, "ind2": 5.9, "ens2": 5.0, "indep2": 5.4, "indep3": 5.2}
    paths = [write_metrics(tmp_path / "results", "wrn", seed, member, score + 0.1 * seed * (member == "gen1"))
             for seed in (1, 2, 3) for member, score in scores.items()]
    write_plots(paths, tmp_path / "out")
    assert_valid_pngs(tmp_path / "out")


def test_gains_plot_colours_follow_the_interval(tmp_path):
    from ban.report.frame import load_metrics
    from ban.report.plots import BETTER, LEVEL_COLOUR, WORSE, plot_gains

    scores = {"gen0": (6.0, 6.2, 6.4), "gen1": (5.5, 5.8, 5.9), "gen2": (6.5, 6.6, 6.9), "dkpp": (5.0, 7.0, 6.0)}
    paths = [write_metrics(tmp_path, "wrn", seed, member, values[seed]) for seed in range(3) for member, values in scores.items()]
    figure = plot_gains(load_metrics(paths), "demo", "image")
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == ["BAN-1  3/3", "BAN-2  0/3", "DKPP  2/3"]  # DKPP d = (-1, +0.8, -0.4)
    colours = [container.lines[0].get_color() for container in axes.containers]  # one error bar per row
    assert colours == [BETTER, WORSE, LEVEL_COLOUR]  # below 0, above 0, containing 0


def test_gains_plot_shades_the_equivalence_margin_only_when_set(tmp_path):
    from ban.report.frame import load_metrics
    from ban.report.plots import MARGIN_COLOUR, plot_gains

    paths = [write_metrics(tmp_path, "wrn", seed, member, 6.0 + 0.1 * seed + 0.2 * (member == "gen1"))
             for seed in range(3) for member in ("gen0", "gen1")]
    frame = load_metrics(paths)

    def bands(figure):
        return [patch.get_x() for patch in figure.axes[0].patches if patch.get_facecolor()[:3] == (0.9, 0.9, 0.9)]

    assert bands(plot_gains(frame, "demo", "image")) == []
    shaded = plot_gains(frame, "demo", "image", equivalence_margin=0.5)
    (band,) = [p for p in shaded.axes[0].patches if p.get_facecolor()[:3] == (0.9, 0.9, 0.9)]
    assert band.get_x() == -0.5 and band.get_width() == 1.0 and MARGIN_COLOUR == "0.9"
    assert shaded.axes[0].get_legend().get_texts()[0].get_text() == "equivalence margin ±0.5"


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
    assert CONTROL_COLUMNS[:5] == ("Teacher", "BAN-1", "BAN+L", "CWTM", "DKPP")
    assert CONTROL_COLUMNS[2:] == tuple(control.label for control in CONTROLS.values())


def test_tables_and_plots_leave_the_power_analysis_to_the_claims(tmp_path):
    """The minimum detectable effect (scipy.stats: seconds per job) is computed when the claims read
    it, not by the tables and plots of the same rows."""
    paths = [str(write_metrics(tmp_path, "cnn", seed, member, score))
             for seed in (0, 1, 2) for member, score in (("gen0", 10.0 + seed), ("gen1", 9.0 + seed / 2))]
    code = ("import sys; from ban.report.tables import write_tables; from ban.report.plots import write_plots; "
            "paths = sys.argv[2:]; write_tables(paths, sys.argv[1]); write_plots(paths, sys.argv[1] + '/plots'); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "out"), *paths], cwd=REPO, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "False" and (tmp_path / "out/plots/gains.png").is_file()
