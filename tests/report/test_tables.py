"""Score tables (ban.report.tables) from hand-made metrics.json files; expected numbers are computed by hand below."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from metrics_files import COLUMNS, IMAGE_STEMS, edit_metrics, image_record, image_study, table_lines, text_study, write_metrics

from ban.report.frame import MetricsFileError, ReportInputError
from ban.report.tables import escape_latex, write_tables

STATS = ("mean", "std", "gain", "n_seeds", "gain low", "gain high", "wins", "ties", "n_paired")
"""CSV statistics per column: the four of before, then the gain's interval, wins, ties and pairs."""


def test_csv_means_stds_gains(tmp_path):
    write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    expected_columns = ["lineage"] + [f"{c} {s}" for c in COLUMNS for s in STATS]
    assert list(table.columns) == expected_columns
    assert list(table.lineage) == ["wrn", "cnn"]  # first appearance, not alphabetical
    assert all(pd.api.types.is_numeric_dtype(table[c]) for c in expected_columns[1:])
    wrn, cnn = table.iloc[0], table.iloc[1]
    # wrn Teacher: 5.0, 6.0 -> mean 5.5, std sqrt(0.5); no gain for the reference column.
    assert wrn["Teacher mean"] == pytest.approx(5.5)
    assert wrn["Teacher std"] == pytest.approx(math.sqrt(0.5))
    assert math.isnan(wrn["Teacher gain"])
    # wrn BAN-1: 4.0, 5.5 -> mean 4.75, std sqrt(1.125); paired gain mean(4-5, 5.5-6) = -0.75.
    assert wrn["BAN-1 mean"] == pytest.approx(4.75)
    assert wrn["BAN-1 std"] == pytest.approx(math.sqrt(1.125))
    assert wrn["BAN-1 gain"] == pytest.approx(-0.75)
    # wrn BAN-2: 4.5, 5.0 -> gain mean(-0.5, -1.0) = -0.75 (an unpaired mean difference is also -0.75,
    # so check DKPP, where paired and unpaired agree, and cnn, where they differ).
    assert wrn["BAN-2 gain"] == pytest.approx(-0.75)
    assert wrn["DKPP mean"] == pytest.approx(5.8)
    assert wrn["DKPP gain"] == pytest.approx(0.3)
    assert wrn["Ens*2 gain"] == pytest.approx(-1.5)
    assert wrn["Ens*2 n_seeds"] == 2
    # cnn DKPP: seed 1 only -> std undefined, paired gain 11 - 10 = +1 (unpaired would be 11 - 11 = 0).
    assert cnn["DKPP mean"] == pytest.approx(11.0)
    assert math.isnan(cnn["DKPP std"])
    assert cnn["DKPP gain"] == pytest.approx(1.0)
    assert cnn["DKPP n_seeds"] == 1
    # cnn BAN-1: 9, 10 vs teacher 10, 12 -> gain -1.5.
    assert cnn["BAN-1 gain"] == pytest.approx(-1.5)
    # cnn has no BAN-2: empty cells, zero seeds.
    assert math.isnan(cnn["BAN-2 mean"]) and cnn["BAN-2 n_seeds"] == 0


def test_csv_gain_intervals_and_wins(tmp_path):
    write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "table.csv").set_index("lineage")
    wrn, cnn = table.loc["wrn"], table.loc["cnn"]
    # The Teacher has no gain: no interval, wins, ties or pairs either.
    assert all(math.isnan(wrn[f"Teacher {s}"]) for s in ("gain", "gain low", "gain high", "wins", "ties", "n_paired"))
    # wrn BAN-1: d = (-1.0, -0.5): sd 0.353553, se 0.25, t(0.975, 1) = 12.706205 -> -0.75 ± 3.176551; 2 wins of 2.
    assert (wrn["BAN-1 gain low"], wrn["BAN-1 gain high"]) == pytest.approx((-3.926551, 2.426551), abs=1e-6)
    assert (wrn["BAN-1 wins"], wrn["BAN-1 ties"], wrn["BAN-1 n_paired"]) == (2, 0, 2)
    # wrn DKPP: d = (+0.2, +0.4): 0.3 ± 12.706205 · 0.1 = [-0.970620, 1.570620]; no win.
    assert (wrn["DKPP gain low"], wrn["DKPP gain high"]) == pytest.approx((-0.970620, 1.570620), abs=1e-6)
    assert (wrn["DKPP wins"], wrn["DKPP n_paired"]) == (0, 2)
    # cnn DKPP: one paired seed -> no interval (empty, not zero-width), 0 wins of 1.
    assert math.isnan(cnn["DKPP gain low"]) and math.isnan(cnn["DKPP gain high"])
    assert (cnn["DKPP wins"], cnn["DKPP ties"], cnn["DKPP n_paired"]) == (0, 0, 1)
    # cnn has no BAN-2: no gain, nothing else either.
    assert math.isnan(cnn["BAN-2 n_paired"]) and math.isnan(cnn["BAN-2 wins"])
    text = (tmp_path / "out" / "table.csv").read_text().splitlines()
    assert text[0].startswith("lineage,Teacher mean,Teacher std,Teacher gain,Teacher n_seeds,Teacher gain low,")
    assert ",2,0,2," in text[1]  # counts are written as integers


def three_seed_study(root):
    """Lineage r, seeds 0-2. Teacher (10, 12, 11); BAN-1 (9.5, 11.6, 10.5): d = (-0.5, -0.4, -0.5);
    BAN-2 (10, 12.5, 10.5): d = (0, +0.5, -0.5), a tie in seed 0."""
    scores = {"gen0": (10.0, 12.0, 11.0), "gen1": (9.5, 11.6, 10.5), "gen2": (10.0, 12.5, 10.5)}
    return [write_metrics(root, image_record("r", seed, member, values[seed], study="three"))
            for seed in range(3) for member, values in scores.items()]


def test_three_seeds_intervals_and_ties_by_hand(tmp_path):
    write_tables(three_seed_study(tmp_path / "results"), tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "table.csv").set_index("lineage")
    r = table.loc["r"]
    # BAN-1: mean d = -0.466667, sd 0.057735, se 1/30, t(0.975, 2) = 4.302653 -> ± 0.143422.
    assert r["BAN-1 gain"] == pytest.approx(-0.466667, abs=1e-6)
    assert (r["BAN-1 gain low"], r["BAN-1 gain high"]) == pytest.approx((-0.610088, -0.323245), abs=1e-6)
    assert (r["BAN-1 wins"], r["BAN-1 ties"], r["BAN-1 n_paired"]) == (3, 0, 3)
    # BAN-2: mean 0, sd 0.5, se 0.288675 -> ± 1.242069; one win, one tie, one loss.
    assert r["BAN-2 gain"] == pytest.approx(0.0, abs=1e-12)
    assert (r["BAN-2 gain low"], r["BAN-2 gain high"]) == pytest.approx((-1.242069, 1.242069), abs=1e-6)
    assert (r["BAN-2 wins"], r["BAN-2 ties"], r["BAN-2 n_paired"]) == (1, 1, 3)
    rows = table_lines(tmp_path / "out" / "table.md")
    cells = dict(zip(rows[0], rows[2]))
    # BAN-1 values 9.5, 11.6, 10.5: mean 10.533333, std 1.050397.
    assert cells["Teacher"] == "11.00 ± 1.00"
    assert cells["BAN-1"] == "10.53 ± 1.05 (Δ -0.47 [-0.61, -0.32], 3/3)"
    assert cells["BAN-2"] == "11.00 ± 1.32 (Δ +0.00 [-1.24, +1.24], 1/3, 1 tie)"
    tex = (tmp_path / "out" / "table.tex").read_text(encoding="utf-8")
    assert r"10.53 $\pm$ 1.05 ($\Delta\,-0.47$ [$-0.61$, $-0.32$], 3/3)" in tex


def test_markdown_table(tmp_path):
    write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    rows = table_lines(tmp_path / "out" / "table.md")
    assert rows[0] == ["Lineage", "Seeds", *COLUMNS]
    assert rows[1] == ["---"] * len(rows[0])
    assert len(rows) == 4 and all(len(row) == len(rows[0]) for row in rows)
    wrn = dict(zip(rows[0], rows[2]))
    cnn = dict(zip(rows[0], rows[3]))
    assert wrn["Lineage"] == "wrn" and wrn["Seeds"] == "2"
    assert wrn["Teacher"] == "5.50 ± 0.71"
    # Δ with its 95% t-interval and wins/paired seeds (numbers: test_csv_gain_intervals_and_wins).
    assert wrn["BAN-1"] == "4.75 ± 1.06 (Δ -0.75 [-3.93, +2.43], 2/2)"
    assert wrn["DKPP"] == "5.80 ± 0.85 (Δ +0.30 [-0.97, +1.57], 0/2)"
    assert cnn["Seeds"] == "1–2"
    assert cnn["DKPP"] == "11.00 (Δ +1.00, 0/1)"  # single seed: mean only, and no interval
    assert cnn["BAN-2"] == "—"


def test_nll_ece_tables_and_latex(tmp_path):
    written = write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == sorted(f"{stem}.{ext}" for stem in IMAGE_STEMS for ext in ("csv", "md", "tex"))
    nll = pd.read_csv(tmp_path / "out" / "table_nll.csv").set_index("lineage")
    assert nll.loc["wrn", "BAN-1 mean"] == pytest.approx(0.475)
    assert nll.loc["wrn", "BAN-1 gain"] == pytest.approx(-0.075)
    ece = pd.read_csv(tmp_path / "out" / "table_ece.csv").set_index("lineage")
    assert ece.loc["cnn", "Teacher mean"] == pytest.approx(2.75)
    tex = (tmp_path / "out" / "table.tex").read_text(encoding="utf-8")
    assert "\\begin{tabular}{ll" + "r" * len(COLUMNS) + "}" in tex
    assert r"4.75 $\pm$ 1.06 ($\Delta\,-0.75$ [$-3.93$, $+2.43$], 2/2)" in tex
    assert "cnn & 1--2 & " in tex
    assert tex.count(r" \\") == 3  # header + 2 lineages


def test_text_study_perplexity_tables(tmp_path):
    written = write_tables(text_study(tmp_path / "results"), tmp_path / "out")
    assert sorted(p.name for p in written) == ["table.csv", "table.md", "table.tex"]
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    assert list(table.columns) == ["lineage"] + [
        f"{c}{tag} {s}" for c in ("Teacher", "BAN-1") for tag in ("", " val") for s in STATS
    ]
    row = table.iloc[0]
    assert row["Teacher mean"] == pytest.approx(81.0)
    assert row["Teacher std"] == pytest.approx(math.sqrt(2))
    assert row["BAN-1 mean"] == pytest.approx(76.5)
    assert row["BAN-1 gain"] == pytest.approx(-4.5)  # mean(76-80, 77-82)
    assert row["BAN-1 val mean"] == pytest.approx(80.0)
    assert row["BAN-1 val gain"] == pytest.approx(-5.0)  # mean(79-84, 81-86)
    rows = table_lines(tmp_path / "out" / "table.md")
    assert rows[0] == ["Lineage", "Split", "Seeds", "Teacher", "BAN-1"]
    # test d = (-4, -5): -4.5 ± 12.706205 · 0.5 = [-10.85, +1.85]; val d = (-5, -5): zero-width [-5, -5].
    assert rows[2] == ["lstm", "test", "2", "81.00 ± 1.41", "76.50 ± 0.71 (Δ -4.50 [-10.85, +1.85], 2/2)"]
    assert rows[3] == ["lstm", "val", "2", "85.00 ± 1.41", "80.00 ± 1.41 (Δ -5.00 [-5.00, -5.00], 2/2)"]


# ------------------------------------------------------------------------------------------
# One stem
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", IMAGE_STEMS)
def test_one_stem_writes_only_its_three_files(tmp_path, stem):
    paths = image_study(tmp_path / "results")
    write_tables(paths, tmp_path / "all")
    written = write_tables(paths, tmp_path / "one", stem=stem)
    assert written == [tmp_path / "one" / f"{stem}.{ext}" for ext in ("csv", "md", "tex")]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(p.name for p in written)
    for path in written:  # the same bytes as when every table is written
        assert path.read_bytes() == (tmp_path / "all" / path.name).read_bytes()


def test_one_stem_ignores_the_other_tables_of_a_paper_study(tmp_path):
    paper = {"wrn": {"Teacher": 5.0}}
    written = write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper=paper, stem="table_nll")
    assert sorted(p.name for p in written) == ["table_nll.csv", "table_nll.md", "table_nll.tex"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in written)


@pytest.mark.parametrize(("results", "stem", "allowed"), [
    (image_study, "table_ppl", "table, table_nll, table_ece, table_paper, table_fidelity"),
    (text_study, "table_nll", "table, table_paper"),
])
def test_unknown_stem_is_one_line_naming_the_stems(tmp_path, results, stem, allowed):
    with pytest.raises(ReportInputError) as caught:
        write_tables(results(tmp_path / "results"), tmp_path / "out", stem=stem)
    message = str(caught.value)
    assert "\n" not in message and repr(stem) in message and message.endswith(f"stems: {allowed}")
    assert not (tmp_path / "out").exists()


def test_paper_stem_needs_paper_values(tmp_path):
    with pytest.raises(ReportInputError, match="table_paper.*paper") as caught:
        write_tables(image_study(tmp_path / "results"), tmp_path / "out", stem="table_paper")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "out").exists()


def test_cli_table_stem(tmp_path, capsys):
    from ban.cli import main

    paths = [str(p) for p in text_study(tmp_path / "results")]
    assert main(["table", "--metrics", *paths, "--out", str(tmp_path / "out"), "--stem", "table"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["table.csv", "table.md", "table.tex"]
    assert main(["table", "--metrics", *paths, "--out", str(tmp_path / "bad"), "--stem", "table_ece"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "table_ece" in error
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------


def test_metrics_file_missing_score_names_file(tmp_path):
    paths = image_study(tmp_path)
    edit_metrics(paths[0], lambda record: record.pop("test_ece"))
    with pytest.raises(MetricsFileError, match="test_ece") as caught:
        write_tables(paths, tmp_path / "out")
    assert str(paths[0]) in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert not (tmp_path / "out").exists()


def test_mixed_studies_and_no_metrics(tmp_path):
    one = write_metrics(tmp_path / "a", image_record("wrn", 1, "gen0", 5.0))
    other = write_metrics(tmp_path / "c", image_record("wrn", 1, "gen1", 5.0, study="other"))
    with pytest.raises(ReportInputError, match="several studies"):
        write_tables([one, other], tmp_path / "out")
    with pytest.raises(ReportInputError, match="no metrics"):
        write_tables([], tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_escape_latex():
    assert escape_latex("wrn_28 & 10%") == r"wrn\_28 \& 10\%"
    assert escape_latex("Ours − Paper") == "Ours $-$ Paper"
