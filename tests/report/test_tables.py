"""Tables from hand-made metrics.json files; expected numbers are computed by hand below."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from ban.report.tables import (
    MetricsFileError,
    ReportInputError,
    column_name,
    column_sort_key,
    escape_latex,
    load_metrics,
    write_tables,
)

# test error (%) per (lineage, seed) and member; nll = error / 10, ece = error / 4.
IMAGE_ERRORS = {
    ("wrn", 1): {"ens2": 3.5, "dkpp": 5.2, "gen2": 4.5, "gen0": 5.0, "cwtm": 4.6, "gen1": 4.0, "ban_l": 4.8},
    ("wrn", 2): {"gen1": 5.5, "gen0": 6.0, "ban_l": 5.6, "gen2": 5.0, "ens2": 4.5, "cwtm": 5.4, "dkpp": 6.4},
    ("cnn", 1): {"dkpp": 11.0, "gen1": 9.0, "gen0": 10.0},
    ("cnn", 2): {"gen0": 12.0, "gen1": 10.0},
}
# (test_ppl, val_ppl) per (lineage, seed) and member.
TEXT_PPL = {
    ("lstm", 1): {"gen0": (80.0, 84.0), "gen1": (76.0, 79.0)},
    ("lstm", 2): {"gen0": (82.0, 86.0), "gen1": (77.0, 81.0)},
}
COLUMNS = ["Teacher", "BAN-1", "BAN-2", "BAN+L", "CWTM", "DKPP", "Ens*2"]


def write_metrics(root: Path, record: dict) -> Path:
    path = root / record["study"] / record["lineage"] / f"seed{record['seed']}" / record["member"] / "metrics.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def image_record(lineage: str, seed: int, member: str, error: float, study: str = "cifar") -> dict:
    record = {"study": study, "lineage": lineage, "seed": seed, "member": member, "task": "image",
              "model": "cnn", "objective": "ce", "dataset": "cifar10", "epochs": 2, "wall_seconds": 1.0,
              "test_error": error, "test_nll": error / 10, "test_ece": error / 4}
    if member.startswith("ens"):
        record["members"] = [f"gen{k}" for k in range(1, int(member[3:]) + 1)]
    else:
        record["num_params"] = 10
        record["history"] = [{"epoch": 1, "train_loss": 1.0, "train_acc": 50.0, "test_error": error + 5,
                              "lr": 0.1, "seconds": 0.5},
                             {"epoch": 2, "train_loss": 0.5, "train_acc": 80.0, "test_error": error,
                              "lr": 0.01, "seconds": 0.5}]
    return record


def image_study(root: Path) -> list[Path]:
    return [write_metrics(root, image_record(lineage, seed, member, error))
            for (lineage, seed), members in IMAGE_ERRORS.items() for member, error in members.items()]


def text_study(root: Path) -> list[Path]:
    paths = []
    for (lineage, seed), members in TEXT_PPL.items():
        for member, (test_ppl, val_ppl) in members.items():
            record = {"study": "ptb", "lineage": lineage, "seed": seed, "member": member, "task": "text",
                      "model": "lstm", "objective": "ce", "dataset": "ptb", "epochs": 2, "wall_seconds": 1.0,
                      "test_ppl": test_ppl, "val_ppl": val_ppl, "test_nll": math.log(test_ppl),
                      "history": [{"epoch": 1, "train_loss": 5.0, "val_ppl": val_ppl * 2, "lr": 20, "seconds": 1},
                                  {"epoch": 2, "train_loss": 4.0, "val_ppl": val_ppl, "lr": 20, "seconds": 1}]}
            paths.append(write_metrics(root, record))
    return paths


def table_lines(path: Path) -> list[list[str]]:
    """Cells of the Markdown table lines of ``path``."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


# ------------------------------------------------------------------------------------------


def test_column_names_and_order():
    members = ["ens3", "gen10", "dkpp", "gen2", "ban_l", "ens2", "gen0", "cwtm", "gen1"]
    columns = sorted((column_name(m) for m in members), key=column_sort_key)
    assert columns == ["Teacher", "BAN-1", "BAN-2", "BAN-10", "BAN+L", "CWTM", "DKPP", "Ens*2", "Ens*3"]


def test_load_metrics_rows(tmp_path):
    frame = load_metrics(image_study(tmp_path))
    assert len(frame) == sum(len(m) for m in IMAGE_ERRORS.values())
    row = frame[(frame.lineage == "cnn") & (frame.seed == 1) & (frame.member == "dkpp")].iloc[0]
    assert (row.study, row.column, row.task, row.test_error) == ("cifar", "DKPP", "image", 11.0)
    assert math.isnan(row.test_ppl)


def test_csv_means_stds_gains(tmp_path):
    write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    expected_columns = ["lineage"] + [f"{c} {s}" for c in COLUMNS for s in ("mean", "std", "gain", "n_seeds")]
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
    assert wrn["BAN-1"] == "4.75 ± 1.06 (Δ -0.75)"
    assert wrn["DKPP"] == "5.80 ± 0.85 (Δ +0.30)"
    assert cnn["Seeds"] == "1–2"
    assert cnn["DKPP"] == "11.00 (Δ +1.00)"  # single seed: mean only
    assert cnn["BAN-2"] == "—"


def test_nll_ece_tables_and_latex(tmp_path):
    written = write_tables(image_study(tmp_path / "results"), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == sorted(f"{stem}.{ext}" for stem in ("table", "table_nll", "table_ece") for ext in ("csv", "md", "tex"))
    nll = pd.read_csv(tmp_path / "out" / "table_nll.csv").set_index("lineage")
    assert nll.loc["wrn", "BAN-1 mean"] == pytest.approx(0.475)
    assert nll.loc["wrn", "BAN-1 gain"] == pytest.approx(-0.075)
    ece = pd.read_csv(tmp_path / "out" / "table_ece.csv").set_index("lineage")
    assert ece.loc["cnn", "Teacher mean"] == pytest.approx(2.75)
    tex = (tmp_path / "out" / "table.tex").read_text(encoding="utf-8")
    assert "\\begin{tabular}{ll" + "r" * len(COLUMNS) + "}" in tex
    assert r"4.75 $\pm$ 1.06 ($\Delta\,-0.75$)" in tex
    assert "cnn & 1--2 & " in tex
    assert tex.count(r" \\") == 3  # header + 2 lineages


def test_text_study_perplexity_tables(tmp_path):
    written = write_tables(text_study(tmp_path / "results"), tmp_path / "out")
    assert sorted(p.name for p in written) == ["table.csv", "table.md", "table.tex"]
    table = pd.read_csv(tmp_path / "out" / "table.csv")
    assert list(table.columns) == ["lineage"] + [
        f"{c}{tag} {s}" for c in ("Teacher", "BAN-1") for tag in ("", " val") for s in ("mean", "std", "gain", "n_seeds")
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
    assert rows[2] == ["lstm", "test", "2", "81.00 ± 1.41", "76.50 ± 0.71 (Δ -4.50)"]
    assert rows[3] == ["lstm", "val", "2", "85.00 ± 1.41", "80.00 ± 1.41 (Δ -5.00)"]


def test_paper_table(tmp_path):
    paper = {"wrn": {"gen1": 4.5, "Teacher": 5.0}, "resnet": {"BAN-1": 6.0}}
    write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper=paper)
    table = pd.read_csv(tmp_path / "out" / "table_paper.csv")
    assert list(table.columns) == ["lineage", "column", "paper", "ours mean", "ours std", "n_seeds", "difference"]
    assert list(zip(table.lineage, table.column)) == [("wrn", "Teacher"), ("wrn", "BAN-1"), ("resnet", "BAN-1")]
    assert table.difference.iloc[0] == pytest.approx(0.5)   # 5.5 - 5.0
    assert table.difference.iloc[1] == pytest.approx(0.25)  # 4.75 - 4.5
    assert math.isnan(table.difference.iloc[2]) and table.n_seeds.iloc[2] == 0
    rows = table_lines(tmp_path / "out" / "table_paper.md")
    assert rows[0] == ["Lineage", "Column", "Paper", "Ours", "Seeds", "Ours − Paper"]
    assert rows[3] == ["wrn", "BAN-1", "4.50", "4.75 ± 1.06", "2", "+0.25"]
    assert rows[4][-1] == "—"
    assert (tmp_path / "out" / "table_paper.tex").exists()


def test_text_paper_table_has_test_and_val_rows(tmp_path):
    paper = {"lstm": {"Teacher": 71.87, "Teacher val": 75.11, "BAN-1 val": 71.19}}
    write_tables(text_study(tmp_path / "results"), tmp_path / "out", paper=paper)
    table = pd.read_csv(tmp_path / "out" / "table_paper.csv")
    assert list(table.columns) == ["lineage", "column", "split", "paper", "ours mean", "ours std", "n_seeds", "difference"]
    assert list(zip(table.column, table.split)) == [("Teacher", "test"), ("Teacher", "val"), ("BAN-1", "val")]
    assert table["ours mean"].tolist() == pytest.approx([81.0, 85.0, 80.0])
    assert table.difference.tolist() == pytest.approx([81.0 - 71.87, 85.0 - 75.11, 80.0 - 71.19])
    rows = table_lines(tmp_path / "out" / "table_paper.md")
    assert rows[0] == ["Lineage", "Column", "Split", "Paper", "Ours", "Seeds", "Ours − Paper"]
    assert rows[3] == ["lstm", "Teacher", "val", "75.11", "85.00 ± 1.41", "2", "+9.89"]


def test_val_paper_value_in_an_image_study_is_refused(tmp_path):
    with pytest.raises(ValueError, match="image studies have no val score"):
        write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper={"wrn": {"Teacher val": 4.0}})
    assert not (tmp_path / "out").exists()


def test_bad_paper_column_raises_before_writing(tmp_path):
    with pytest.raises(ValueError, match="Gen-1"):
        write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper={"wrn": {"Gen-1": 4.0}})
    assert not (tmp_path / "out").exists()


def test_metrics_file_missing_score_names_file(tmp_path):
    paths = image_study(tmp_path)
    record = json.loads(paths[0].read_text())
    del record["test_ece"]
    paths[0].write_text(json.dumps(record))
    with pytest.raises(MetricsFileError, match="test_ece") as caught:
        write_tables(paths, tmp_path / "out")
    assert str(paths[0]) in str(caught.value) and "\n" not in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", json.dumps({"study": "s", "lineage": "l"})])
def test_unreadable_metrics_file_names_file(tmp_path, text):
    path = tmp_path / "metrics.json"
    path.write_text(text)
    with pytest.raises(MetricsFileError, match=str(path)):
        load_metrics([path])


def test_unknown_member_and_duplicates_and_mixed_studies(tmp_path):
    bad = write_metrics(tmp_path / "a", image_record("wrn", 1, "gen_1", 5.0))
    with pytest.raises(MetricsFileError, match="gen_1"):
        load_metrics([bad])
    one = write_metrics(tmp_path / "a", image_record("wrn", 1, "gen0", 5.0))
    two = write_metrics(tmp_path / "b", image_record("wrn", 1, "gen0", 5.0))
    with pytest.raises(ReportInputError, match="same study"):
        load_metrics([one, two])
    other = write_metrics(tmp_path / "c", image_record("wrn", 1, "gen1", 5.0, study="other"))
    with pytest.raises(ReportInputError, match="several studies"):
        write_tables([one, other], tmp_path / "out")
    with pytest.raises(ReportInputError, match="no metrics"):
        write_tables([], tmp_path / "out")


def test_escape_latex():
    assert escape_latex("wrn_28 & 10%") == r"wrn\_28 \& 10\%"
    assert escape_latex("Ours − Paper") == "Ours $-$ Paper"
