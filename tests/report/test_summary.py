"""``python -m ban summary`` (what ``make run`` prints last) on the committed default study's files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ban.cli import main
from ban.report.summary import claims_summary, config_summary, study_summary

REPO = Path(__file__).resolve().parents[2]
COMMITTED = REPO / "docs" / "fashion_mnist_cnn"


@pytest.fixture
def finished(tmp_path: Path) -> Path:
    """A project folder holding the committed default study as the workflow lays it out."""
    study = tmp_path / "results" / "fashion_mnist_cnn"
    (study / "plots").mkdir(parents=True)
    for path in COMMITTED.glob("*.md"):
        shutil.copy(path, study / path.name)
    for path in COMMITTED.glob("*.png"):
        shutil.copy(path, study / "plots" / path.name)
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


def test_the_summary_is_the_family_line_and_the_summary_table_of_claims_md():
    text = (COMMITTED / "claims.md").read_text(encoding="utf-8")
    summary = claims_summary(text)
    assert summary[0] == "Family: 14 comparisons; Holm-adjusted verdicts at 5%. Equivalence margin: none."
    assert summary[1].startswith("| # | Claim | Verdicts")
    rows = summary[3:]
    assert [row.split("|")[1].strip() for row in rows] == [str(i) for i in range(1, 14)]
    assert rows[0] == "| 1 | BAN-1 beats its teacher | 1 reversed | 1 not shown |"
    assert set(summary) <= set(text.splitlines())  # lines of the file, unchanged
    assert not any("BAN-1 − Teacher" in line for line in summary)  # no detail rows of the sections below


def test_a_claims_file_without_a_summary_is_one_line(finished: Path):
    claims = finished / "results" / "fashion_mnist_cnn" / "claims.md"
    claims.write_text("# Claims\n\nFamily: 1 comparison\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"claims\.md: no '## Summary' section"):
        study_summary(finished / "results", "fashion_mnist_cnn")


def test_make_runs_last_lines_name_the_summary_and_the_files(finished: Path, monkeypatch, capsys):
    before = {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()}
    monkeypatch.chdir(finished)
    assert main(["summary", "--configfile", "config.yaml"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "== fashion_mnist_cnn"
    summary = claims_summary((COMMITTED / "claims.md").read_text(encoding="utf-8"))
    assert out[1 : 1 + len(summary)] == summary
    assert out[-3:] == [
        "claims: results/fashion_mnist_cnn/claims.md (every comparison with its interval, p-value and verdicts)",
        "tables: results/fashion_mnist_cnn/table.md, table_ece.md, table_fidelity.md, table_nll.md (and .csv, .tex)",
        "plots:  results/fashion_mnist_cnn/plots/ (controls.png, error_vs_generation.png, gains.png, training_curves.png)",
    ]
    assert len(out) < 25
    assert {p: p.read_bytes() for p in finished.rglob("*") if p.is_file()} == before  # reads only


def test_an_unfinished_study_is_one_error_line(finished: Path, monkeypatch, capsys):
    shutil.rmtree(finished / "results")
    monkeypatch.chdir(finished)
    assert main(["summary"]) == 2
    err = capsys.readouterr().err
    assert err == "error: results/fashion_mnist_cnn/claims.md: missing (the study has not finished; run the workflow first)\n"


def test_a_sweep_names_its_regime_map(tmp_path: Path):
    (tmp_path / "results" / "noise").mkdir(parents=True)
    (tmp_path / "results" / "noise" / "regime.md").write_text("| Cell |\n", encoding="utf-8")
    (tmp_path / "c.yaml").write_text("sweeps:\n  noise: {base: {}, factors: {}}\n", encoding="utf-8")
    assert config_summary(tmp_path / "c.yaml", tmp_path / "results").startswith(
        f"== sweep noise\nregime map: {tmp_path}/results/noise/regime.md")


def test_make_run_ends_with_the_summary():
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=REPO, capture_output=True, text=True,
                            check=True).stdout
    assert recipe.splitlines()[-1].endswith("-m ban summary --configfile config.yaml")
