"""The paper comparison (ban.report.paper) and its table_paper.{csv,md,tex}; numbers computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from metrics_files import image_study, table_lines, text_study

from ban.configfile import paper_problems, schema_defaults
from ban.member_kinds import CONTROLS
from ban.report.frame import ReportInputError, load_metrics
from ban.report.paper import normalize_paper, paper_frame, split_score
from ban.report.tables import write_tables
from ban.tasks import get_task


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


def test_paper_stem_writes_only_the_paper_table(tmp_path):
    paper = {"lstm": {"Teacher": 71.87, "Teacher val": 75.11}}
    paths = text_study(tmp_path / "results")
    write_tables(paths, tmp_path / "all", paper=paper)
    written = write_tables(paths, tmp_path / "one", paper=paper, stem="table_paper")
    assert written == [tmp_path / "one" / f"table_paper.{ext}" for ext in ("csv", "md", "tex")]
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(p.name for p in written)
    for path in written:
        assert path.read_bytes() == (tmp_path / "all" / path.name).read_bytes()


def test_paper_frame_maps_member_names_and_orders_rows(tmp_path):
    frame = load_metrics(image_study(tmp_path))
    paper = {"cnn": {"dkpp": 10.5, "gen0": 11.5}, "wrn": {"Ens*2": 3.0}}
    table = paper_frame(frame, paper, "image")
    # ours first (wrn, cnn in metrics order), columns in table order within a lineage.
    assert list(zip(table.lineage, table.column, table.split)) == [
        ("wrn", "Ens*2", "test"), ("cnn", "Teacher", "test"), ("cnn", "DKPP", "test")]
    assert table.difference.tolist() == pytest.approx([4.0 - 3.0, 11.0 - 11.5, 11.0 - 10.5])
    assert table.n_seeds.tolist() == [2, 2, 1]


def test_split_scores_follow_the_task():
    assert split_score(get_task("image"), "test") == "test_error"
    assert split_score(get_task("text"), "test") == "test_ppl"
    assert split_score(get_task("text"), "val") == "val_ppl"
    with pytest.raises(ReportInputError, match="image studies have no val score"):
        split_score(get_task("image"), "val")


def test_normalize_paper_keys():
    assert normalize_paper({"wrn": {"gen2": 4, "BAN+L val": 5.5, "ens3": 3.0}}) == {
        "wrn": {("BAN-2", "test"): 4.0, ("BAN+L", "val"): 5.5, ("Ens*3", "test"): 3.0}}


@pytest.mark.parametrize(("paper", "message"), [
    ({"wrn": {"Gen-1": 4.0}}, "'Gen-1' is not a table column"),
    ({"wrn": {"gen1": 4.0, "BAN-1": 4.1}}, "gives column 'BAN-1' \\(test\\) twice"),
    ({"wrn": {"gen1": "4.0"}}, "must be a number"),
    ({"wrn": {"gen1": True}}, "must be a number"),
    ({"wrn": [4.0]}, "must be a mapping"),
    ([("wrn", 4.0)], "must be a mapping"),
])
def test_bad_paper_values_are_one_line(paper, message):
    with pytest.raises(ReportInputError, match=message) as caught:
        normalize_paper(paper, "image")
    assert "\n" not in str(caught.value)


def test_bad_paper_column_lists_the_columns():
    with pytest.raises(ReportInputError) as caught:
        normalize_paper({"wrn": {"Gen-1": 4.0}})
    controls = ", ".join(control.label for control in CONTROLS.values())  # BAN+L, CWTM, DKPP, ...
    assert controls.startswith("BAN+L, CWTM, DKPP")
    assert f"(Teacher, BAN-k, {controls}, Ind-i, Ens*k, Indep*k or a member name; text studies may add ' val')" in str(caught.value)


def test_val_paper_value_in_an_image_study_is_refused(tmp_path):
    with pytest.raises(ValueError, match="image studies have no val score"):
        write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper={"wrn": {"Teacher val": 4.0}})
    assert not (tmp_path / "out").exists()


def test_bad_paper_column_raises_before_writing(tmp_path):
    with pytest.raises(ValueError, match="Gen-1"):
        write_tables(image_study(tmp_path / "results"), tmp_path / "out", paper={"wrn": {"Gen-1": 4.0}})
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------
# paper_problems: the same mistakes, from the config, before any job runs
# ---------------------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
LINEAGE_DEFAULTS = schema_defaults(SCHEMA, "lineage")


def study_config(name: str, paper: object) -> dict:
    """A config of the workflow tests' tiny study ``name`` (tiny.yaml or tiny_text.yaml) with ``paper``."""
    config = yaml.safe_load((REPO / "tests" / "workflow" / f"{name}.yaml").read_text())
    config["studies"][name]["paper"] = paper
    return config


def test_paper_problems_name_the_key_and_the_lineages_columns():
    paper = {"cnn": {"Teacher": 14.0, "CWMT": 13.0, "BAN-3": 12.0, "BAN-1 val": 11.0, "gen1": 10.0, "BAN-1": 10.5},
             "resnet": {"Teacher": 5.0}}
    columns = "Teacher, BAN-1, BAN-2, BAN+L, CWTM, DKPP, DKPP-fixed, Ind-1, Ens*2, Indep*2 or a member's name (gen1 for BAN-1)"
    assert paper_problems(study_config("tiny", paper), LINEAGE_DEFAULTS) == [
        f"studies.tiny.paper.cnn.CWMT: not a column of lineage 'cnn' in the study's tables (allowed: {columns})",
        f"studies.tiny.paper.cnn.BAN-3: not a column of lineage 'cnn' in the study's tables (allowed: {columns})",
        "studies.tiny.paper.cnn.BAN-1 val: image studies have no val score (splits: test)",
        "studies.tiny.paper.cnn: gives column BAN-1 (test) twice ('gen1' and 'BAN-1')",
        "studies.tiny.paper.resnet: 'resnet' is not a lineage of study 'tiny' (lineages: cnn)",
    ]


def test_paper_problems_use_the_schemas_defaults_and_the_tasks_splits():
    config = study_config("tiny", {"cnn": {"BAN-3": 1.0, "BAN-4": 1.0, "Ens*2": 1.0}})
    lineage = config["studies"]["tiny"]["lineages"]["cnn"]
    del lineage["generations"], lineage["controls"], lineage["independent"]  # defaults: 3, [], 0
    columns = "Teacher, BAN-1, BAN-2, BAN-3, Ens*2 or a member's name (gen1 for BAN-1)"
    assert paper_problems(config, LINEAGE_DEFAULTS) == [
        f"studies.tiny.paper.cnn.BAN-4: not a column of lineage 'cnn' in the study's tables (allowed: {columns})"]
    text = study_config("tiny_text", {"lstm": {"BAN+L val": 1.0, "gen1 val": 2.0, "CWTM val": 3.0}})
    assert paper_problems(text, LINEAGE_DEFAULTS) == [
        "studies.tiny_text.paper.lstm.CWTM val: not a column of lineage 'lstm' in the study's tables "
        "(allowed: Teacher, BAN-1, BAN+L, Ens*2 or a member's name (gen1 for BAN-1), each optionally followed by ' val')"]


def test_shipped_paper_values_have_no_problems():
    """Every config in configs/ and the text test study: nothing here refuses what the tables take."""
    paths = sorted((REPO / "configs").glob("*.yaml")) + [REPO / "tests" / "workflow" / "tiny_text.yaml"]
    with_paper = [p for p in paths if "paper" in p.read_text()]
    assert len(with_paper) >= 5
    for path in with_paper:
        assert paper_problems(yaml.safe_load(path.read_text()), LINEAGE_DEFAULTS) == [], path


@pytest.mark.parametrize("paper", [[1.0], {"cnn": [1.0]}, {"cnn": {"Teacher": "x"}}, None])
def test_paper_problems_leave_schema_errors_to_the_schema(paper):
    config = study_config("tiny", paper)
    config["studies"]["other"] = {"paper": {"a": {"b": 1}}, "lineages": {"a": {"generations": "x"}}}
    assert paper_problems(config, LINEAGE_DEFAULTS) == []
