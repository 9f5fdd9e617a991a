"""The claims rule, the fidelity table and the forest plot on the finished tiny study."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from ban.member_kinds import CONTROLS
from tests.workflow.conftest import edit_code, read_config, snakemake, write_config

CLAIM_IDS = {"ban1_beats_teacher", "ban_k_beats_previous", "best_ban_beats_teacher", "ban1_beats_tuned", "best_ban_beats_tuned",
             "ban_l_beats_teacher", "ens_beats_members",
             "ens_beats_indep", "students_better_calibrated_ece", "students_better_calibrated_nll",
             *(f"{name}_beats_teacher_short_of_ban1" for name in CONTROLS if name != "ban_l")}
VERDICTS = {"holds", "not shown", "reversed", "not tested"}


def dry_run_counts(project) -> dict[str, int]:
    text = "".join(snakemake(project, "--dry-run").stdout)
    if "Job stats:" not in text:
        return {}
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M) if rule != "total"}


def test_claims_are_written_and_say_what_the_study_lacks(finished_tiny):
    results = finished_tiny / "results/tiny"
    claims = json.loads((results / "claims.json").read_text(encoding="utf-8"))
    assert claims["study"] == "tiny" and claims["score"] == "test_error" and claims["level"] == 0.95
    claims_by_id = {claim["id"]: claim for claim in claims["claims"]}
    assert CLAIM_IDS <= set(claims_by_id)
    lineage = read_config(finished_tiny)["studies"]["tiny"]["lineages"]["cnn"]
    if lineage.get("independent", 0):  # Ens*k vs Indep*k is tested where the lineage trains independent networks
        (indep,) = claims_by_id["ens_beats_indep"]["rows"]
        assert indep["comparison"] == "Ens*2 − Indep*2" and indep["n"] == 2
    else:
        assert claims_by_id["ens_beats_indep"]["note"] == "not tested: the study has no Indep*k"
    (ban1,) = claims_by_id["ban1_beats_teacher"]["rows"]  # one lineage: no pooled row
    assert ban1["lineage"] == "cnn" and ban1["n"] == 2 and ban1["seeds"] == [0, 1] and ban1["verdict"] in VERDICTS
    errors = {(seed, member): json.loads((results / f"cnn/seed{seed}/{member}/metrics.json").read_text())["test_error"]
              for seed in (0, 1) for member in ("gen0", "gen1", "gen2", "ens2")}
    assert ban1["differences"] == pytest.approx([errors[(s, "gen1")] - errors[(s, "gen0")] for s in (0, 1)])
    members = claims_by_id["ens_beats_members"]["rows"]
    assert [row["comparison"] for row in members] == ["Ens*2 − BAN-1", "Ens*2 − BAN-2"]
    assert members[1]["differences"] == pytest.approx([errors[(s, "ens2")] - errors[(s, "gen2")] for s in (0, 1)])
    text = (results / "claims.md").read_text(encoding="utf-8")
    assert text.startswith("# Claims tested on study `tiny`") and "| cnn | BAN-1 − Teacher |" in text
    assert (finished_tiny / "logs/tiny/claims.log").is_file()
    # scores.csv: one row per metrics.json of the study, whose scores it repeats
    scores = pd.read_csv(results / "scores.csv").set_index(["seed", "member"])
    assert len(scores) == len(list(results.glob("cnn/seed*/*/metrics.json")))
    assert {key: scores.loc[key, "test_error"] for key in errors} == pytest.approx(errors)
    assert set(scores["column"]) >= {"Teacher", "BAN-1", "BAN-2", "Ens*2"} and set(scores["lineage"]) == {"cnn"}


def test_fidelity_table_matches_the_saved_predictions(finished_tiny):
    results = finished_tiny / "results/tiny"
    table = pd.read_csv(results / "table_fidelity.csv").set_index("lineage")
    lineage = read_config(finished_tiny)["studies"]["tiny"]["lineages"]["cnn"]
    students = [f"BAN-{k}" for k in range(1, lineage["generations"] + 1)] + [CONTROLS[c].label for c in lineage["controls"]]
    ensembles = ["Ens*2", "Indep*2"]  # their members' disagreement; no Teacher or Ind-i
    assert [c.removesuffix(" n_seeds") for c in table.columns if c.endswith("n_seeds")] == students + ensembles
    values = []
    for seed in (0, 1):
        teacher = np.load(results / f"cnn/seed{seed}/gen1/predictions.npz")["probs"].astype(np.float64)
        student = np.load(results / f"cnn/seed{seed}/gen2/predictions.npz")["probs"].astype(np.float64)
        agreement = 100 * np.mean(teacher.argmax(1) == student.argmax(1))
        ratio = np.log(np.where(teacher > 0, teacher, 1.0)) - np.log(np.maximum(student, np.finfo(np.float32).tiny))
        values.append((agreement, np.mean(np.sum(np.where(teacher > 0, teacher * ratio, 0.0), axis=1))))
    assert table.loc["cnn", "BAN-2 agreement mean"] == pytest.approx(np.mean([v[0] for v in values]))
    assert table.loc["cnn", "BAN-2 kl mean"] == pytest.approx(np.mean([v[1] for v in values]), rel=1e-6)
    # Ens*2 averages gen1 and gen2: its members' disagreement is 100 − their agreement above
    assert table.loc["cnn", "Ens*2 disagreement mean"] == pytest.approx(100 - np.mean([v[0] for v in values]))
    assert 0.0 < table.loc["cnn", "BAN-1 teacher_max_prob mean"] <= 1.0
    # agreement, KL, teacher max prob, teacher entropy, disagreement
    assert (results / "table_fidelity.md").read_text(encoding="utf-8").count("| cnn |") == 5


def test_gains_plot_and_intervals_in_the_table(finished_tiny):
    results = finished_tiny / "results/tiny"
    assert (results / "plots/gains.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = pd.read_csv(results / "table.csv").set_index("lineage")
    assert table.loc["cnn", "BAN-1 n_paired"] == 2 and not np.isnan(table.loc["cnn", "BAN-1 gain low"])
    assert re.search(r"\(Δ [+-]\d+\.\d\d \[[+-]\d+\.\d\d, [+-]\d+\.\d\d\], \d/2", (results / "table.md").read_text(encoding="utf-8"))


def test_editing_the_claims_code_reruns_only_the_claims(tiny_copy):
    edit_code(tiny_copy / "ban/report/claims.py", "a change to the claims")
    assert dry_run_counts(tiny_copy) == {"claims": 1, "all": 1}
    edit_code(tiny_copy / "ban/report/fidelity.py", "a change to the fidelity table")
    assert dry_run_counts(tiny_copy) == {"claims": 1, "table": 4, "all": 1}  # tables.py imports fidelity.py


def test_the_equivalence_margin_reaches_the_claims_and_the_forest_plot(tiny_copy):
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["claims"] = {"equivalence_margin": 50}
    write_config(tiny_copy, config)
    assert dry_run_counts(tiny_copy) == {"claims": 1, "plot": 1, "all": 1}
    snakemake(tiny_copy, "results/tiny/claims.md")
    claims = json.loads((tiny_copy / "results/tiny/claims.json").read_text(encoding="utf-8"))
    assert claims["equivalence_margin"] == 50
    assert "Equivalence margin: 50" in (tiny_copy / "results/tiny/claims.md").read_text(encoding="utf-8")
