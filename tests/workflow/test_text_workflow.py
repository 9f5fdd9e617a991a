"""The same Snakemake rules run a text study: a tiny PTB-format corpus end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import torch
import yaml

from ban.datasets.text import markov_lines, synthetic_word_list
from tests.workflow.conftest import make_project, snakemake

TINY_TEXT = Path(__file__).with_name("tiny_text.yaml")


def write_ptb_corpus(folder: Path, words: int = 30, lines: dict[str, int] | None = None) -> None:
    """``ptb.{train,valid,test}.txt`` as the standard files lay them out: `` w1 w2 ... \\n`` per
    sentence, with ``<unk>`` standing for rare words."""
    generator = torch.Generator().manual_seed(7)
    vocab = synthetic_word_list(words, generator) + ["<unk>"]
    successors = torch.stack([torch.randperm(len(vocab), generator=generator)[:3] for _ in vocab])
    weights = torch.rand(len(vocab), 3, generator=generator) + 0.1
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (lines or {"train": 600, "valid": 40, "test": 40}).items():
        text = "".join(f" {line} \n" for line in markov_lines(vocab, count, 8, successors, weights, generator))
        (folder / f"ptb.{split}.txt").write_text(text)


def test_tiny_ptb_study_runs_end_to_end(tmp_path):
    project = make_project(tmp_path / "project", yaml.safe_load(TINY_TEXT.read_text()))
    write_ptb_corpus(project / "data" / "ptb")
    snakemake(project)

    results = project / "results" / "tiny_text"
    vocab = len(set((project / "data/ptb/ptb.train.txt").read_text().split())) + 1  # + <eos>
    for member in ("gen0", "gen1", "ban_l"):
        metrics = json.loads((results / f"lstm/seed0/{member}/metrics.json").read_text())
        assert metrics["task"] == "text"
        # Trained on a chain with 3 successors per word: far better than uniform over the vocabulary.
        assert 1.0 < metrics["test_ppl"] < vocab / 2 and 1.0 < metrics["val_ppl"] < vocab / 2
        assert math.isclose(metrics["test_ppl"], math.exp(metrics["test_nll"]), rel_tol=1e-4)
        assert (results / f"lstm/seed0/{member}/model.pt").is_file()
    ensemble = json.loads((results / "lstm/seed0/ens2/metrics.json").read_text())
    assert 1.0 < ensemble["test_ppl"] < vocab / 2

    table = pd.read_csv(results / "table.csv", index_col=0)
    for column in ("Teacher", "BAN-1", "BAN+L", "Ens*2"):
        assert not math.isnan(table.loc["lstm", f"{column} mean"])
        assert not math.isnan(table.loc["lstm", f"{column} val mean"])
    teacher = json.loads((results / "lstm/seed0/gen0/metrics.json").read_text())
    assert math.isclose(table.loc["lstm", "Teacher mean"], teacher["test_ppl"], rel_tol=1e-6)
    markdown = (results / "table.md").read_text()
    assert "Perplexity" in markdown and "BAN+L" in markdown
    paper = pd.read_csv(results / "table_paper.csv")
    assert list(zip(paper.column, paper.split)) == [("Teacher", "test"), ("Teacher", "val"), ("BAN+L", "test"), ("BAN+L", "val")]
    assert paper.paper.tolist() == [71.87, 75.11, 68.56, 71.19]
    assert math.isclose(paper["ours mean"][1], table.loc["lstm", "Teacher val mean"], rel_tol=1e-6)
    for plot in ("error_vs_generation", "controls", "training_curves"):
        assert (results / "plots" / f"{plot}.png").stat().st_size > 1000
