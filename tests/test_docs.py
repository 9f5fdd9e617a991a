"""The pages (README.md and docs/*.md) quote the workflow's own output, line for line, and link
what exists.

A quote is a block between ``<!-- quoted from <path> -->`` and ``<!-- end quote -->``; every
non-blank line in it must be a line of ``<path>`` (relative to the repository), a table or
``claims.md`` the workflow wrote and that is committed under ``docs/``. Editing a number or a
verdict by hand, or regenerating the source without updating the quote, fails here. Every page
of ``docs/`` is linked from the README, and every relative link ``[text](target)`` of a page
(and of the folders' READMEs) names a file or folder of the repository, relative to the page.

A committed regime map (``docs/regimes/<sweep>/regime.md``) is recomputed from its cells' per-seed
scores (``<cell>/scores.csv`` beside each cell's ``claims.md``): per row, the teacher's mean
training error and BAN-1 − Teacher's Δ and 95% Student-t interval from the paired test errors.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from statistics import fmean

import pytest

from ban.report.stats import t_interval

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


MAPS = sorted((REPO / "docs/regimes").glob("*/regime.md"))


def map_rows(regime: Path) -> list[dict[str, str]]:
    """The rows of a regime.md table as {header: cell text}."""
    lines = [line for line in regime.read_text(encoding="utf-8").splitlines() if line.startswith("| ")]
    header = lines[0][2:-2].split(" | ")
    return [dict(zip(header, line[2:-2].split(" | "))) for line in lines[1:]]


def per_seed(regime: Path, cell: str) -> Path:
    return regime.parent / cell / "scores.csv"


def recomputed(scores: Path, lineage: str) -> dict[str, str]:
    """What a map row shows, recomputed from a cell's scores.csv: ``Teacher train err (%)`` (the mean of
    the teacher's train_error over seeds) and ``BAN-1 − Teacher`` (Δ [95% interval] of the paired
    test_error differences BAN-1 − Teacher over the seeds that have both), as regime.md formats them."""
    with open(scores, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.DictReader(handle) if row["lineage"] == lineage]
    by_column = {column: {int(r["seed"]): r for r in rows if r["column"] == column} for column in ("Teacher", "BAN-1")}
    teacher, ban1 = by_column["Teacher"], by_column["BAN-1"]
    train = [float(r["train_error"]) for r in teacher.values() if r.get("train_error") not in (None, "")]
    diffs = [float(ban1[s]["test_error"]) - float(teacher[s]["test_error"]) for s in sorted(teacher) if s in ban1]
    mean, low, high = t_interval(diffs)
    interval = "" if low is None else f" [{low:+.2f}, {high:+.2f}]"
    return {"Teacher train err (%)": f"{fmean(train):.2f}" if train else "—", "BAN-1 − Teacher": f"{mean:+.2f}{interval} "}


def map_disagreements(regime: Path) -> list[str]:
    """``<cell> (<lineage>) <column>: map says X, scores.csv gives Y`` for each row of ``regime`` whose cell has a
    scores.csv and whose teacher training error or BAN-1 − Teacher (Δ and interval) differs from it."""
    problems = []
    for row in map_rows(regime):
        scores = per_seed(regime, row["Cell"])
        if not scores.is_file():
            continue
        for column, text in recomputed(scores, row["Lineage"]).items():
            shown = row[column].removeprefix("⚠ ")
            if not (shown == text or (text.endswith(" ") and shown.startswith(text))):
                problems.append(f"{row['Cell']} ({row['Lineage']}) {column}: map says {row[column]!r}, scores.csv gives {text!r}")
    return problems


def maps_lacking_per_seed_data() -> list[str]:
    return [f"{regime.relative_to(REPO)}: {row['Cell']}" for regime in MAPS for row in map_rows(regime)
            if not per_seed(regime, row["Cell"]).is_file()]


@pytest.mark.parametrize("regime", MAPS, ids=lambda p: p.parent.name)
def test_every_committed_map_with_per_seed_data_is_recomputed_from_it(regime):
    if not any(per_seed(regime, row["Cell"]).is_file() for row in map_rows(regime)):
        pytest.skip(f"{regime.relative_to(REPO)}: no cell has a scores.csv (test_committed_maps_have_per_seed_data)")
    assert not map_disagreements(regime)


def test_committed_maps_have_per_seed_data():
    assert not maps_lacking_per_seed_data(), f"cells without scores.csv: {maps_lacking_per_seed_data()}"


def test_a_map_row_that_its_per_seed_scores_do_not_give_is_caught(tmp_path):
    regime = tmp_path / "regime.md"
    (tmp_path / "sw.a").mkdir()
    lines = ["lineage,seed,member,column,test_error,train_error"]
    for seed, (teacher, ban1) in enumerate([(10.0, 9.0), (11.0, 9.0), (12.0, 9.0)]):
        lines += [f"cnn,{seed},gen0,Teacher,{teacher},{seed + 1}", f"cnn,{seed},gen1,BAN-1,{ban1},0.5"]
    (tmp_path / "sw.a/scores.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # diffs -1, -2, -3: mean -2, sd 1, t(0.975, 2) = 4.302653: -2 ± 2.484 = [-4.48, +0.48]; teacher train error mean 2
    header = "| Cell | Lineage | Teacher train err (%) | BAN-1 − Teacher |\n|---|---|---|---|\n"
    regime.write_text(header + "| sw.a | cnn | 2.00 | -2.00 [-4.48, +0.48] not shown |\n", encoding="utf-8")
    assert not map_disagreements(regime)
    regime.write_text(header + "| sw.a | cnn | 2.00 | ⚠ -2.00 [-4.48, +0.48] not shown; without collapsed: — |\n", encoding="utf-8")
    assert not map_disagreements(regime)
    regime.write_text(header + "| sw.a | cnn | 2.10 | -2.00 [-4.48, +0.50] not shown |\n", encoding="utf-8")
    assert map_disagreements(regime) == [
        "sw.a (cnn) Teacher train err (%): map says '2.10', scores.csv gives '2.00'",
        "sw.a (cnn) BAN-1 − Teacher: map says '-2.00 [-4.48, +0.50] not shown', scores.csv gives '-2.00 [-4.48, +0.48] '"]
