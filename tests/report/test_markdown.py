"""The one Markdown table writer (ban.report.markdown), byte for byte."""

from __future__ import annotations

from ban.report.markdown import escape_cell, markdown_table, table_lines


def test_a_table_is_header_delimiter_and_rows_with_pipes_escaped():
    header, rows = ["Lineage", "a|b", "Δ"], [["wrn", "x|y", "—"], ["cnn", "", "+0.10 [-0.20, +0.40] not shown"]]
    assert table_lines(header, rows) == [
        r"| Lineage | a\|b | Δ |",
        "|---|---|---|",
        r"| wrn | x\|y | — |",
        "| cnn |  | +0.10 [-0.20, +0.40] not shown |",
    ]
    assert markdown_table(header, rows) == "\n".join(table_lines(header, rows)) + "\n"
    assert markdown_table(["#"], []) == "| # |\n|---|\n"


def test_only_pipes_are_escaped():
    assert escape_cell(r"**holds** | 2\3 `x` <b>") == r"**holds** \| 2\3 `x` <b>"
