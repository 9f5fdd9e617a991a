"""The pages (README.md and docs/*.md) quote the workflow's own output, line for line, and link
what exists.

A quote is a block between ``<!-- quoted from <path> -->`` and ``<!-- end quote -->``; every
non-blank line in it must be a line of ``<path>`` (relative to the repository), a table or
``claims.md`` the workflow wrote and that is committed under ``docs/``. Editing a number or a
verdict by hand, or regenerating the source without updating the quote, fails here. Every page
of ``docs/`` is linked from the README, and every relative link ``[text](target)`` of a page
(and of the folders' READMEs) names a file or folder of the repository, relative to the page.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
QUOTE = re.compile(r"<!-- quoted from (?P<path>\S+) -->\n(?P<body>.*?)<!-- end quote -->", re.S)
PAGES = ("README.md", *sorted(p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")))
QUOTING = ("README.md", "docs/results.md", "docs/default-study.md")  # the pages that quote results
LINKING = (*PAGES, "configs/README.md", "bench/README.md", "scripts/slurm/README.md")
LINK = re.compile(r"\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def quotes(page: str) -> list[tuple[str, str]]:
    return [(m["path"], m["body"]) for m in QUOTE.finditer((REPO / page).read_text(encoding="utf-8"))]


def unquoted_lines(body: str, source: str) -> list[str]:
    """The non-blank lines of ``body`` that are not lines of ``source``."""
    lines = set(source.splitlines())
    return [line for line in body.splitlines() if line.strip() and line not in lines]


def misquoted(page: str) -> list[str]:
    """``<page>: not in <path>`` for each quote of ``page`` with a line that is not in the file it names."""
    problems = []
    for path, body in quotes(page):
        source = REPO / path
        if not source.is_file():
            problems.append(f"{page} quotes {path}, which is not in the repository")
        elif unquoted_lines(body, source.read_text(encoding="utf-8")):
            problems.append(f"{page}: not in {path}: {unquoted_lines(body, source.read_text(encoding='utf-8'))}")
    return problems


def broken_links(page: str, text: str | None = None) -> list[str]:
    """The relative link targets of ``page`` (Markdown ``[text](target)``, an ``#anchor`` cut off) that
    name nothing in the repository; web addresses, ``mailto:`` and same-page anchors are not checked."""
    text = (REPO / page).read_text(encoding="utf-8") if text is None else text
    broken = []
    for match in LINK.finditer(text):
        target = match["target"].split("#", 1)[0]
        if not target or re.match(r"[a-z]+:", target):
            continue
        if not ((REPO / page).parent / target).exists():
            broken.append(match["target"])
    return broken


@pytest.mark.parametrize("page", PAGES)
def test_every_quoted_line_is_in_the_generated_file_it_names(page):
    assert not misquoted(page)


@pytest.mark.parametrize("page", QUOTING)
def test_the_pages_that_quote_results_still_do(page):
    assert quotes(page), f"{page} quotes no generated result"


def test_every_page_of_docs_is_linked_from_the_readme():
    linked = {((REPO / target.split("#", 1)[0]).resolve()) for target in LINK.findall((REPO / "README.md").read_text(encoding="utf-8"))}
    unlinked = [page for page in PAGES[1:] if (REPO / page).resolve() not in linked]
    assert not unlinked, f"README.md does not link {unlinked}"


@pytest.mark.parametrize("page", LINKING)
def test_every_relative_link_resolves(page):
    assert not broken_links(page), f"{page}: links to nothing: {broken_links(page)}"


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


def test_a_link_to_nothing_is_caught():
    text = "[ok](../ban/cli.py) [folder](regimes/) [anchor](method.md#x) [web](https://x.org/y) [gone](../ban/gone.py#z)"
    assert broken_links("docs/page.md", text) == ["../ban/gone.py#z"]
