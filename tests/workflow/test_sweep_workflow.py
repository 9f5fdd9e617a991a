"""A tiny sweep end to end (real Snakemake): its cells are ordinary studies, its regime map is
written, and adding a value to a factor trains only the new cells."""

from __future__ import annotations

import json

import pandas as pd
import yaml

from tests.workflow.conftest import TINY, make_project, planned_jobs, snakemake, write_config


def sweep_config(temperatures: list[float]) -> dict:
    base = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    base["dataset"].update(n_train=128, n_test=64, label_noise={"rate": 0.0})
    base["recipe"]["epochs"] = 2
    base["seeds"] = [0]  # one seed: the regime map has no interval, and the suite stays short
    base["lineages"]["cnn"].update(generations=1, controls=[], ensembles=[], independent=0, objective_args={"temperature": 1})
    return {"sweeps": {"sw": {"base": base, "factors": {"dataset.label_noise.rate": [0.3],
                                                        "lineages.*.objective_args.temperature": temperatures}}}}


def test_a_tiny_sweep_maps_its_cells_and_a_new_value_trains_only_new_cells(tmp_path):
    project = make_project(tmp_path / "project", sweep_config([1]))
    cells = ["sw.rate0-3.temperature1"]
    regime = "results/sw/regime.md"
    snakemake(project, regime, "results/sw/regime.csv", "results/sw/regime.png")
    table = pd.read_csv(project / "results/sw/regime.csv")
    assert list(table["cell"]) == cells and list(table["dataset.label_noise.rate"]) == [0.3]
    assert {"BAN-1 − Teacher Δ", "BAN-1 − Teacher verdict (Holm)", "teacher_train_error_clean", "teacher_max_prob"} <= set(table)
    noisy = json.loads((project / "results/sw.rate0-3.temperature1/cnn/seed0/gen0/metrics.json").read_text())
    assert noisy["dataset_spec"]["label_noise"] == {"rate": 0.3, "kind": "symmetric", "seed": 0}
    assert 15 < noisy["label_noise_rate"] < 45
    claims = json.loads((project / f"results/{cells[0]}/claims.json").read_text())
    # BAN-1 − Teacher of one seed: no interval (followed by a row without collapsed seeds when a
    # two-epoch member on noisy labels is flagged as collapsed, ban/collapse.py)
    (row,) = [r for r in claims["claims"][0]["rows"] if r["comparison"] == "BAN-1 − Teacher"]
    assert row["n"] == 1 and row["low"] is None
    assert f"| {cells[0]} | 0.3 | 1 | cnn |" in (project / regime).read_text()
    assert table.loc[0, "BAN-1 − Teacher Δ"] == row["mean"] and table.loc[0, "BAN-1 − Teacher verdict (Holm)"] == "not shown"

    write_config(project, sweep_config([1, 4]))  # one more value: a new cell, nothing else trains
    jobs = planned_jobs(project, regime)
    new = {"sw.rate0-3.temperature4"}
    assert {job for job in jobs if job.startswith("seed")} == {"seed0/gen0", "seed0/gen1"}  # of the new cells (below)
    out = snakemake(project, regime)
    ran = {line.split("results/")[1].split("/")[0] for line in (out.stdout + out.stderr).splitlines()
           if "output: results/" in line and "/seed" in line}
    assert ran == new
    assert list(pd.read_csv(project / "results/sw/regime.csv")["cell"]) == [*cells, *new]


def test_a_factor_path_that_does_not_exist_is_one_line(tmp_path):
    config = sweep_config([1])
    config["sweeps"]["sw"]["factors"]["recipe.schedul.x"] = [1]
    project = make_project(tmp_path / "project", config)
    out = snakemake(project, "--dry-run", check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0 and "Traceback" not in text
    assert "config: sweeps.sw.factors: 'recipe.schedul.x' does not exist in the base study (recipe.schedul is missing)" in text
