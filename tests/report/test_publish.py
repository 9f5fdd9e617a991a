"""Publishing a sweep (ban.report.publish, ``python -m ban publish``) from a hand-made results tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ban.cli import main
from ban.report.publish import CELL_FILES, MAP_FILES, publish_sweep

CELLS = ("sw.rate0", "sw.rate0-4")
REPO = Path(__file__).resolve().parents[2]


def results_tree(root, cells=CELLS):
    """results/sw/regime.{csv,md,png} listing ``cells`` (the second lineage repeats a cell), and each cell's files."""
    (root / "sw").mkdir(parents=True)
    rows = [f"{cell},{rate},{lineage}" for cell, rate in zip(cells, (0, 0.4)) for lineage in ("cnn", "wrn")]
    (root / "sw/regime.csv").write_text("cell,dataset.label_noise.rate,lineage\n" + "\n".join(rows) + "\n", encoding="utf-8")
    for name in MAP_FILES[1:]:
        (root / "sw" / name).write_bytes(f"sw {name}".encode())
    for cell in cells:
        (root / cell).mkdir()
        for name in CELL_FILES:
            (root / cell / name).write_text(f"{cell} {name}\n", encoding="utf-8")
        (root / cell / "claims.tex").write_text("not published\n", encoding="utf-8")
    return root


def test_the_map_and_every_cells_claims_table_and_scores_are_copied(tmp_path):
    results = results_tree(tmp_path / "results")
    docs = tmp_path / "docs/regimes/sw"
    (docs / "old.cell").mkdir(parents=True)
    (docs / "old.cell/claims.md").write_text("kept\n", encoding="utf-8")
    assert main(["publish", "--sweep", "sw", "--to", str(docs), "--results", str(results)]) == 0
    for name in MAP_FILES:
        assert (docs / name).read_bytes() == (results / "sw" / name).read_bytes()
    for cell in CELLS:
        assert sorted(p.name for p in (docs / cell).iterdir()) == sorted(CELL_FILES)
        assert (docs / cell / "scores.csv").read_text(encoding="utf-8") == f"{cell} scores.csv\n"
    assert (docs / "old.cell/claims.md").read_text(encoding="utf-8") == "kept\n"  # nothing else is touched


def test_a_missing_file_is_named_on_one_line_and_nothing_is_published(tmp_path, capsys):
    results = results_tree(tmp_path / "results")
    (results / "sw.rate0-4/scores.csv").unlink()
    docs = tmp_path / "docs"
    assert main(["publish", "--sweep", "sw", "--to", str(docs), "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {results / 'sw.rate0-4/scores.csv'} is missing: run the sweep's workflow first; nothing was published\n"
    assert not docs.exists()


def test_a_sweep_that_was_not_run_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"results/nope/regime.csv is missing"):
        publish_sweep("nope", tmp_path / "docs", tmp_path / "results")
    with pytest.raises(ValueError, match=r"--sweep '\.\./x'"):
        publish_sweep("../x", tmp_path / "docs", tmp_path / "results")


def test_make_regimes_publishes_every_sweep_of_the_regimes_config():
    listed = re.search(r"^REGIME_SWEEPS := (.*)$", (REPO / "Makefile").read_text(encoding="utf-8"), re.M)[1].split()
    sweeps = yaml.safe_load((REPO / "configs/regimes.yaml").read_text(encoding="utf-8"))["sweeps"]
    assert sorted(listed) == sorted(sweeps) == sorted(p.name for p in (REPO / "docs/regimes").iterdir() if p.is_dir())
