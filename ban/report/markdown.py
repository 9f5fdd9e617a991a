"""The one Markdown table writer of the report (tables, claims and regime maps; no dependencies).

A table of a header and rows of text cells is written as GitHub-flavoured Markdown,

    | h1 | h2 | h3 |
    |---|---|---|
    | c1 | c2 | c3 |

one line per row, cells joined by ``" | "`` between a leading ``"| "`` and a trailing ``" |"``, the
delimiter row ``---`` per column (no alignment marks), and every ``|`` inside a header or body cell
escaped as ``\\|`` (nothing else is escaped or padded).
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["escape_cell", "markdown_table", "table_lines"]


def escape_cell(text: str) -> str:
    """``text`` with each ``|`` escaped as ``\\|``, so that it stays one cell."""
    return text.replace("|", r"\|")


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(escape_cell(cell) for cell in cells) + " |"


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The table's lines (header, delimiter, one per row), without line ends."""
    return [_line(header), "|" + "|".join("---" for _ in header) + "|", *(_line(row) for row in rows)]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The table as text: ``table_lines`` each ended by a newline."""
    return "\n".join(table_lines(header, rows)) + "\n"
