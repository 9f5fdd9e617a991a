"""The metrics frame and its seed statistics (ban.report.frame) from hand-made metrics.json files."""

from __future__ import annotations

import json
import math

import pytest
from metrics_files import (
    IMAGE_ERRORS,
    edit_metrics,
    image_record,
    image_study,
    text_study,
    write_curve_metrics,
    write_metrics,
)

from ban.member_kinds import column_label, column_sort_key
from ban.report.frame import (
    MISSING,
    MetricsFileError,
    ReportInputError,
    column_order,
    lineage_order,
    load_histories,
    load_metrics,
    read_metrics,
    single_study,
    summarize,
)


def test_column_names_and_order():
    members = ["ens3", "gen10", "dkpp", "gen2", "ban_l", "ens2", "gen0", "cwtm", "gen1"]
    columns = sorted((column_label(m) for m in members), key=column_sort_key)
    assert columns == ["Teacher", "BAN-1", "BAN-2", "BAN-10", "BAN+L", "CWTM", "DKPP", "Ens*2", "Ens*3"]


def test_independent_columns_sit_after_the_controls_and_beside_their_ensembles(tmp_path):
    members = ["indep3", "ens3", "ind2", "gen1", "indep2", "ens2", "ind1", "gen0", "dkpp"]
    paths = [write_metrics(tmp_path, image_record("wrn", 1, member, 5.0)) for member in members]
    assert column_order(load_metrics(paths)) == ["Teacher", "BAN-1", "DKPP", "Ind-1", "Ind-2", "Ens*2", "Indep*2", "Ens*3", "Indep*3"]


def test_summarize_gain_interval_wins_and_ties(tmp_path):
    # Teacher (10, 12, 11), BAN-1 (9.5, 12, 10.5): d = (-0.5, 0, -0.5), mean -1/3, sd 0.288675, se 1/6,
    # t(0.975, 2) = 4.302653 -> ± 0.717109; 2 wins, 1 tie.
    paths = [write_metrics(tmp_path, image_record("r", seed, member, value))
             for member, values in (("gen0", (10.0, 12.0, 11.0)), ("gen1", (9.5, 12.0, 10.5)))
             for seed, value in enumerate(values)]
    cell = summarize(load_metrics(paths), "test_error")[("r", "BAN-1")]
    assert cell.gain == pytest.approx(-1 / 3)
    assert (cell.gain_low, cell.gain_high) == pytest.approx((-1 / 3 - 0.717109, -1 / 3 + 0.717109), abs=1e-6)
    assert (cell.wins, cell.ties, cell.n_paired, cell.n_seeds) == (2, 1, 3, 3)
    teacher = summarize(load_metrics(paths), "test_error")[("r", "Teacher")]
    assert all(math.isnan(v) for v in (teacher.gain, teacher.gain_low, teacher.gain_high, teacher.wins, teacher.n_paired))


def test_load_metrics_rows(tmp_path):
    frame = load_metrics(image_study(tmp_path))
    assert len(frame) == sum(len(m) for m in IMAGE_ERRORS.values())
    row = frame[(frame.lineage == "cnn") & (frame.seed == 1) & (frame.member == "dkpp")].iloc[0]
    assert (row.study, row.column, row.task, row.test_error) == ("cifar", "DKPP", "image", 11.0)
    assert math.isnan(row.test_ppl)
    assert lineage_order(frame) == ["wrn", "cnn"]  # first appearance, not alphabetical
    assert column_order(frame) == ["Teacher", "BAN-1", "BAN-2", "BAN+L", "CWTM", "DKPP", "Ens*2"]
    assert single_study(frame) == ("cifar", "image")


def test_text_rows_have_no_image_scores(tmp_path):
    frame = load_metrics(text_study(tmp_path))
    assert single_study(frame) == ("ptb", "text")
    assert frame.test_ppl.tolist() == [80.0, 76.0, 82.0, 77.0]
    assert frame.test_error.isna().all() and frame.test_ece.isna().all()


def test_summarize_mean_std_paired_gain(tmp_path):
    stats = summarize(load_metrics(image_study(tmp_path)), "test_error")
    # wrn BAN-1: 4.0, 5.5 -> mean 4.75, std sqrt(1.125) (ddof 1); paired gain mean(4 - 5, 5.5 - 6) = -0.75.
    cell = stats[("wrn", "BAN-1")]
    assert (cell.mean, cell.std, cell.gain, cell.n_seeds) == pytest.approx((4.75, math.sqrt(1.125), -0.75, 2))
    assert math.isnan(stats[("wrn", "Teacher")].gain)
    # cnn DKPP: seed 1 only -> std NaN, gain 11 - 10 (the teacher of seed 1, not the mean of both teachers).
    assert math.isnan(stats[("cnn", "DKPP")].std) and stats[("cnn", "DKPP")].gain == pytest.approx(1.0)
    assert ("cnn", "BAN-2") not in stats and MISSING.n_seeds == 0


def test_gain_needs_a_teacher_of_the_same_seed(tmp_path):
    paths = [write_metrics(tmp_path, image_record("cnn", 1, "gen0", 10.0)),
             write_metrics(tmp_path, image_record("cnn", 2, "gen1", 9.0))]
    stats = summarize(load_metrics(paths), "test_error")
    assert math.isnan(stats[("cnn", "BAN-1")].gain)


def test_metrics_file_missing_score_names_file(tmp_path):
    paths = image_study(tmp_path)
    edit_metrics(paths[0], lambda record: record.pop("test_ece"))
    with pytest.raises(MetricsFileError, match="test_ece") as caught:
        load_metrics(paths)
    assert str(paths[0]) in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", json.dumps({"study": "s", "lineage": "l"})])
def test_unreadable_metrics_file_names_file(tmp_path, text):
    path = tmp_path / "metrics.json"
    path.write_text(text)
    with pytest.raises(MetricsFileError, match=str(path)):
        load_metrics([path])


@pytest.mark.parametrize("task", ["audio", ["image"], None])
def test_unknown_task_names_file_and_tasks(tmp_path, task):
    path = write_metrics(tmp_path, dict(image_record("wrn", 1, "gen0", 5.0), task=task))
    with pytest.raises(MetricsFileError) as caught:
        read_metrics(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert "'image'" in message and "'text'" in message and repr(task) in message


def test_unknown_member_and_duplicates_and_mixed_studies(tmp_path):
    bad = write_metrics(tmp_path / "a", image_record("wrn", 1, "gen_1", 5.0))
    with pytest.raises(MetricsFileError, match="gen_1") as caught:
        load_metrics([bad])
    message = str(caught.value)
    assert message.startswith(f"{bad}: ") and "\n" not in message
    assert all(kind in message for kind in ("gen<k>", "ban_l", "cwtm", "dkpp", "ens<k>"))
    one = write_metrics(tmp_path / "a", image_record("wrn", 1, "gen0", 5.0))
    two = write_metrics(tmp_path / "b", image_record("wrn", 1, "gen0", 5.0))
    with pytest.raises(ReportInputError, match="same study"):
        load_metrics([one, two])
    other = write_metrics(tmp_path / "c", image_record("wrn", 1, "gen1", 5.0, study="other"))
    with pytest.raises(ReportInputError, match="several studies"):
        single_study(load_metrics([one, other]))
    with pytest.raises(ReportInputError, match="no metrics"):
        single_study(load_metrics([]))


def test_histories_are_long_and_seed_tagged(tmp_path):
    paths = [write_curve_metrics(tmp_path, "cnn", 1, "gen0", 9.0, epochs=2),
             write_curve_metrics(tmp_path, "cnn", 1, "ens2", 8.0)]
    histories = load_histories(paths, "test_error")
    assert list(histories.epoch) == [1, 2]
    assert list(histories.value) == pytest.approx([13.5, 9.0])  # score * (1 + (epochs - e) / epochs)
    assert set(histories.column) == {"Teacher"}
    assert list(histories.columns) == ["lineage", "seed", "member", "column", "epoch", "value"]


def test_epochs_without_a_test_score_are_left_out(tmp_path):
    path = write_curve_metrics(tmp_path, "cnn", 1, "gen0", 9.0, epochs=3)
    edit_metrics(path, lambda record: record["history"][0].update(test_error=None))  # eval_every: 2
    histories = load_histories([path], "test_error")
    assert list(histories.epoch) == [2, 3]


@pytest.mark.parametrize(("edit", "message"), [
    (lambda record: record["history"][0].pop("epoch"), "integer 'epoch'"),
    (lambda record: record["history"][1].update(test_error="high"), "must be a number"),
])
def test_bad_history_row_names_file(tmp_path, edit, message):
    path = write_curve_metrics(tmp_path, "cnn", 1, "gen0", 9.0)
    edit_metrics(path, edit)
    with pytest.raises(MetricsFileError, match=message) as caught:
        load_histories([path], "test_error")
    assert str(caught.value).startswith(f"{path}: ")


def test_package_names_are_lazy_and_point_at_the_modules():
    import ban.report
    from ban.report import plots, tables

    assert ban.report.load_metrics is load_metrics
    assert ban.report.write_tables is tables.write_tables and ban.report.write_plots is plots.write_plots
