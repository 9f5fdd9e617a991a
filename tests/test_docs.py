"""Results quoted in README.md and docs/results.md are the workflow's own output, line for line.

A quote is a block between ``<!-- quoted from <path> -->`` and ``<!-- end quote -->``; every
non-blank line in it must be a line of ``<path>`` (relative to the repository), a table or
``claims.md`` the workflow wrote and that is committed under ``docs/``. Editing a number or a
verdict by hand, or regenerating the source without updating the quote, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUOTE = re.compile(r"<!-- quoted from (?P<path>\S+) -->\n(?P<body>.*?)<!-- end quote -->", re.S)
PAGES = ("README.md", "docs/results.md")


def quotes(page: str) -> list[tuple[str, str]]:
    return [(m["path"], m["body"]) for m in QUOTE.finditer((REPO / page).read_text(encoding="utf-8"))]


def unquoted_lines(body: str, source: str) -> list[str]:
    """The non-blank lines of ``body`` that are not lines of ``source``."""
    lines = set(source.splitlines())
    return [line for line in body.splitlines() if line.strip() and line not in lines]


@pytest.mark.parametrize("page", PAGES)
def test_every_quoted_line_is_in_the_generated_file_it_names(page):
    found = quotes(page)
    assert found, f"{page} quotes no generated result"
    for path, body in found:
        source = REPO / path
        assert source.is_file(), f"{page} quotes {path}, which is not in the repository"
        assert not unquoted_lines(body, source.read_text(encoding="utf-8")), f"{page}: not in {path}"


def test_the_default_study_and_every_regime_map_are_quoted():
    paths = {path for page in PAGES for path, _ in quotes(page)}
    assert "docs/fashion_mnist_cnn/claims.md" in paths
    maps = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs/regimes").glob("*/regime.md"))
    assert maps == ["docs/regimes/cnn_clean/regime.md", "docs/regimes/cnn_noise/regime.md", "docs/regimes/pixels/regime.md"]
    assert set(maps) <= paths


def test_every_committed_cell_of_a_map_has_its_claims():
    """Each row of a committed regime map names a cell whose claims.md is committed beside it."""
    for regime in (REPO / "docs/regimes").glob("*/regime.md"):
        cells = [line.split("|")[1].strip() for line in regime.read_text(encoding="utf-8").splitlines()
                 if line.startswith("| ") and not line.startswith("| Cell")]
        assert cells, regime
        for cell in cells:
            assert (regime.parent / cell / "claims.md").is_file(), f"{regime}: no claims.md for {cell}"


def test_a_hand_edited_verdict_is_caught():
    source = "| 1 | BAN-1 beats its teacher | 1 not shown |\n"
    assert unquoted_lines("| 1 | BAN-1 beats its teacher | 1 holds |\n", source)
    assert not unquoted_lines("\n| 1 | BAN-1 beats its teacher | 1 not shown |\n", source)
