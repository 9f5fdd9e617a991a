"""The regime map (ban.report.regime) against hand-made claims and metrics files."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from metrics_files import image_record, write_metrics

from ban.report.frame import ReportInputError
from ban.report.regime import Cell, cell_lines, comparisons_of, outcome, regime_frame, regime_markdown, short_names, write_regime


def claims_file(path, rows, tuned=None):
    """A claims.json holding the given (claim id, lineage, comparison, mean, low, high, n, verdict_holm[, extra keys])
    rows, and ``tuned`` as its top-level ``tuned`` when given."""
    claims = {}
    for claim_id, lineage, comparison, mean, low, high, n, holm, *extra in rows:
        claims.setdefault(claim_id, []).append({"lineage": lineage, "comparison": comparison, "mean": mean, "low": low,
                                                "high": high, "n": n, "verdict_holm": holm, **(extra[0] if extra else {})})
    path.parent.mkdir(parents=True, exist_ok=True)
    content = {"claims": [{"id": k, "rows": v} for k, v in claims.items()], **({"tuned": tuned} if tuned else {})}
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


def cell(root, name, factors, teacher_errors, rows, max_probs=(0.9, 0.8), noise_rate=None, gen0_identities=(),
         tuned=None, tune3=()):
    """A cell of lineage ``cnn``, two seeds: a teacher per (train error, clean, memorised) of ``teacher_errors`` (with
    ``label_noise_rate`` ``noise_rate`` when not None, and the identity ``gen0_identities[seed]`` when given), a
    BAN-1, and a tune3 member per (test error, identity) of ``tune3``."""
    metrics = []
    for seed, (noisy, clean, memorised) in enumerate(teacher_errors):
        teacher = {**image_record("cnn", seed, "gen0", 10.0 + seed, study=name), "train_error": noisy}
        if clean is not None:
            teacher.update(train_error_clean=clean, noise_memorised=memorised)
        if noise_rate is not None:
            teacher["label_noise_rate"] = noise_rate
        if gen0_identities:
            teacher["identity"] = gen0_identities[seed]
        student = {**image_record("cnn", seed, "gen1", 9.0, study=name), "teacher_max_prob": max_probs[seed]}
        metrics += [write_metrics(root, teacher), write_metrics(root, student)]
    for seed, (error, identity) in enumerate(tune3):
        record = {**image_record("cnn", seed, "tune3", error, study=name), "identity": identity,
                  "tuning_point": {"recipe.select": "best_val"}}
        metrics.append(write_metrics(root, record))
    return Cell(name, factors, claims_file(root / name / "claims.json", rows, tuned), tuple(metrics))


def test_rows_carry_factors_teacher_fit_and_the_cells_verdicts(tmp_path):
    clean = cell(tmp_path, "sw.rate0", {"dataset.label_noise.rate": 0}, [(1.0, 1.0, 0.0), (3.0, 3.0, 0.0)],
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", 0.1, -0.2, 0.4, 2, "not shown"),
                  ("ban_k_beats_previous", "cnn", "BAN-2 − BAN-1", 0.3, 0.1, 0.5, 2, "reversed"),
                  ("ens_beats_indep", "cnn", "Ens*2 − Indep*2", 0.5, 0.2, 0.8, 2, "reversed"),
                  ("ens_beats_members", "cnn", "Ens*2 − BAN-1", -1.0, -1.2, -0.8, 2, "holds")],  # not a map column
                 noise_rate=0.0)  # nothing corrupted: nothing to memorise
    noisy = cell(tmp_path, "sw.rate0-4", {"dataset.label_noise.rate": 0.4}, [(20.0, 50.0, 40.0), (30.0, 60.0, 60.0)],
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -2.0, -3.0, -1.0, 2, "holds"),
                  ("best_ban_beats_teacher", "cnn", "best BAN − Teacher", None, None, None, 0, "not tested")],
                 noise_rate=40.0)
    frame = regime_frame([clean, noisy])
    assert list(frame["cell"]) == ["sw.rate0", "sw.rate0-4"] and list(frame["dataset.label_noise.rate"]) == [0, 0.4]
    assert frame.loc[0, "teacher_train_error"] == 2.0 and frame.loc[0, "teacher_train_error_clean"] == 2.0
    assert math.isnan(frame.loc[0, "teacher_noise_memorised"])
    assert (frame.loc[1, "teacher_train_error"], frame.loc[1, "teacher_train_error_clean"]) == (25.0, 55.0)
    assert frame.loc[1, "teacher_noise_memorised"] == 50.0 and frame.loc[0, "teacher_max_prob"] == pytest.approx(0.85)
    assert frame.loc[1, "BAN-1 − Teacher Δ"] == -2.0 and frame.loc[1, "BAN-1 − Teacher verdict (Holm)"] == "holds"
    assert frame.loc[0, "BAN-2 − BAN-1 low"] == 0.1 and frame.loc[0, "Ens*2 − Indep*2 verdict (Holm)"] == "reversed"
    assert "Ens*2 − BAN-1 Δ" not in frame and math.isnan(frame.loc[1, "best BAN − Teacher Δ"])

    written = write_regime([clean, noisy], tmp_path / "out", "sw")
    assert [p.name for p in written] == ["regime.csv", "regime.md", "regime.png"] and written[2].stat().st_size > 0
    assert pd.read_csv(written[0])["BAN-1 − Teacher Δ"].tolist() == [0.1, -2.0]
    text = written[1].read_text(encoding="utf-8")
    assert ("| Cell | rate | Lineage | Teacher train err (%) | clean (%) | noise memorised (%) | teacher max prob "
            "| Tuned (setting): test score | BAN-1 − Teacher | best BAN − Teacher | BAN-2 − BAN-1 | Ens*2 − Indep*2 "
            "| Chain from the tuned teacher: its BAN-1 − Teacher |") in text  # the claims' order
    assert ("| sw.rate0-4 | 0.4 | cnn | 25.00 | 55.00 | 50.00 | 0.85 | — | -2.00 [-3.00, -1.00] holds | — | — | — | — |") in text
    assert ("| sw.rate0 | 0 | cnn | 2.00 | 2.00 | — | 0.85 | — | +0.10 [-0.20, +0.40] not shown | — "
            "| +0.30 [+0.10, +0.50] reversed | +0.50 [+0.20, +0.80] reversed | — |") in text
    assert "95% Student-t interval of the mean paired difference, not adjusted" in text and "Holm-adjusted" in text


def test_a_missing_claims_file_is_named(tmp_path):
    lonely = Cell("sw.x", {}, tmp_path / "sw.x/claims.json", ())
    with pytest.raises(ReportInputError, match="sw.x/claims.json: unusable claims file"):
        regime_frame([lonely])


TUNED = {"column": "Tune-3", "member": "tune3", "chosen_on": "validation", "seeds": [0, 1], "val": {"Tune-3": 7.0},
         "setting": {"objective_args.label_smoothing": 0.1, "recipe.select": "best_val"}}


def selectlast(tmp_path, fit, **extra):
    """The last-epoch cell: BAN-1 beats its teacher, loses to the tuned baseline (Tune-3), best BAN not shown."""
    return cell(tmp_path, "sw.selectlast", {"recipe.select": "last"}, fit,
                [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -5.0, -6.0, -4.0, 2, "holds"),
                 ("ban1_beats_tuned", "cnn", "BAN-1 − Tuned", 1.5, 0.5, 2.5, 2, "reversed"),
                 ("best_ban_beats_tuned", "cnn", "best BAN − Tuned", 1.0, -1.0, 3.0, 2, "not shown")],
                tuned={"cnn": TUNED}, tune3=[(8.0, "early0"), (10.0, "early1")], **extra)


def test_the_tuned_baseline_its_gains_and_the_chain_trained_from_it(tmp_path):
    fit = [(20.0, 50.0, 40.0), (30.0, 60.0, 60.0)]
    last = selectlast(tmp_path, fit, gen0_identities=("last0", "last1"))
    early = cell(tmp_path, "sw.selectbest_val", {"recipe.select": "best_val"}, fit,
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -0.16, -0.41, 0.09, 2, "not shown")],
                 gen0_identities=("early0", "early1"),
                 tuned={"cnn": {**TUNED, "column": "Teacher", "member": "gen0", "setting": {}}})
    alone = cell(tmp_path, "sw.other", {"recipe.select": "other"}, fit,
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", 0.0, -1.0, 1.0, 2, "not shown")],
                 gen0_identities=("other0", "other1"), tuned={"cnn": TUNED}, tune3=[(8.0, "early0"), (12.0, "elsewhere")])
    frame = regime_frame([last, early, alone]).set_index("cell")
    assert frame.loc["sw.selectlast", ["tuned", "tuned setting", "tuned score"]].tolist() == [
        "Tune-3", "label_smoothing=0.1, select=best_val", 9.0]
    assert frame.loc["sw.selectbest_val", ["tuned", "tuned setting", "tuned score"]].tolist() == [
        "Teacher", "the study's recipe", 10.5]  # the teachers' test errors 10 and 11
    assert frame.loc["sw.selectlast", "BAN-1 − Tuned verdict (Holm)"] == "reversed"
    assert frame.loc["sw.selectlast", "best BAN − Tuned high"] == 3.0
    # the early-stopped teacher of sw.selectbest_val is the training sw.selectlast's tuning chose
    assert frame.loc["sw.selectlast", "chain cell"] == "sw.selectbest_val"
    assert frame.loc["sw.selectlast", "chain: BAN-1 − Teacher Δ"] == -0.16
    assert frame.loc["sw.selectbest_val", "chain cell"] == "sw.selectbest_val"  # its tuned baseline is its own teacher
    assert frame.loc["sw.other", "chain cell"] == "sw.selectbest_val (1 of 2 seeds)"
    assert frame.loc["sw.other", "tuned score"] == 10.0

    text = write_regime([last, early], tmp_path / "out", "sw")[1].read_text(encoding="utf-8")
    assert ("| Tuned (setting): test score | BAN-1 − Teacher | BAN-1 − Tuned | best BAN − Tuned "
            "| Chain from the tuned teacher: its BAN-1 − Teacher |") in text
    assert ("| sw.selectlast | last | cnn | 25.00 | 55.00 | 50.00 | 0.85 | Tune-3 (label_smoothing=0.1, select=best_val): 9.00 "
            "| -5.00 [-6.00, -4.00] holds | +1.50 [+0.50, +2.50] reversed | +1.00 [-1.00, +3.00] not shown "
            "| sw.selectbest_val: -0.16 [-0.41, +0.09] not shown |") in text
    assert "| Teacher (the study's recipe): 10.50 | -0.16 [-0.41, +0.09] not shown | — | — |" in text


def test_no_cell_trains_a_chain_from_a_tuned_member_of_another_identity(tmp_path):
    fit = [(20.0, 50.0, 40.0), (30.0, 60.0, 60.0)]
    lonely = cell(tmp_path, "sw.a", {}, fit, [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -5.0, -6.0, -4.0, 2, "holds")],
                  gen0_identities=("a0", "a1"), tuned={"cnn": TUNED}, tune3=[(8.0, "t0"), (10.0, "t1")])
    frame = regime_frame([lonely])
    assert frame.loc[0, "chain cell"] == "" and math.isnan(frame.loc[0, "chain: BAN-1 − Teacher Δ"])
    assert regime_markdown(frame, "sw", []).splitlines()[-1].endswith("| -5.00 [-6.00, -4.00] holds | — |")


def test_a_comparison_with_collapsed_members_is_marked_with_its_value_without_them(tmp_path):
    collapsed = {"collapsed": [{"seed": 1, "column": "BAN-1"}]}
    rows = [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", 4.0, -2.0, 10.0, 2, "not shown", collapsed),
            ("ban1_beats_teacher", "cnn", "BAN-1 − Teacher (without collapsed)", -1.0, None, None, 1, "not tested"),
            ("ban_k_beats_previous", "cnn", "BAN-2 − BAN-1", -0.5, -0.7, -0.3, 2, "holds")]
    sick = cell(tmp_path, "sw.a", {}, [(1.0, None, None), (3.0, None, None)], rows)
    frame = regime_frame([sick])
    assert comparisons_of(frame) == ["BAN-1 − Teacher", "BAN-2 − BAN-1"]
    assert frame.loc[0, "BAN-1 − Teacher collapsed"] == "seed 1 BAN-1"
    assert (frame.loc[0, "BAN-1 − Teacher without collapsed Δ"], frame.loc[0, "BAN-1 − Teacher without collapsed n"]) == (-1.0, 1)
    assert frame.loc[0, "BAN-1 − Teacher Δ"] == 4.0 and "BAN-2 − BAN-1 collapsed" not in frame
    text = regime_markdown(frame, "sw", [])
    assert "| ⚠ +4.00 [-2.00, +10.00] not shown; without collapsed: -1.00 not tested | -0.50 [-0.70, -0.30] holds | — |" in text


def test_factors_that_end_alike_are_told_apart_by_their_paths():
    assert short_names(["recipe.select", "lineages.*.teacher_recipe.select", "dataset.train_subset"]) == {
        "recipe.select": "recipe.select", "lineages.*.teacher_recipe.select": "teacher_recipe.select",
        "dataset.train_subset": "train_subset"}
    assert short_names(["a.select", "select"]) == {"a.select": "a.select", "select": "select"}
    frame = pd.DataFrame([{"cell": "sw.x", "recipe.select": "last", "lineages.*.teacher_recipe.select": "best_val",
                           "lineage": "cnn"}])
    text = regime_markdown(frame, "sw", ["recipe.select", "lineages.*.teacher_recipe.select"])
    assert "| Cell | recipe.select | teacher_recipe.select | Lineage |" in text and "| sw.x | last | best_val | cnn |" in text


@pytest.mark.parametrize("expect, verdict, came_out", [
    ("gain", "holds", "as predicted"), ("gain", "not shown", "not shown"), ("gain", "reversed", "contradicted"),
    ("no gain", "holds", "contradicted"), ("no gain", "not shown", "as predicted"), ("no gain", "reversed", "as predicted"),
    ("gain", "not tested", "not tested"), ("no gain", None, "not tested"),
])
def test_how_a_prediction_came_out(expect, verdict, came_out):
    assert outcome(expect, verdict) == came_out


def test_each_cell_in_one_line_with_the_predictions_made_for_it(tmp_path):
    fit = [(20.0, 50.0, 40.0), (30.0, 60.0, 60.0)]
    last = selectlast(tmp_path, fit)
    early = cell(tmp_path, "sw.selectbest_val", {"recipe.select": "best_val"}, fit,
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -0.16, -0.41, 0.09, 2, "not shown")])
    predictions = [{"claim": "ban1_beats_teacher", "expect": "no gain", "why": "it memorised the noise", "cells": ["sw.selectlast"]},
                   {"claim": "ban1_beats_teacher", "expect": "gain", "why": "", "cells": ["sw.selectbest_val"]},
                   {"claim": "ban1_beats_tuned", "expect": "gain", "cells": ["sw.selectlast", "sw.selectbest_val"]}]
    lines = cell_lines(regime_frame([last, early]), predictions)
    assert lines == [
        "- `sw.selectlast` (cnn): BAN-1 − Teacher -5.00 [-6.00, -4.00] holds; BAN-1 − Tuned +1.50 [+0.50, +2.50] reversed; "
        "best BAN − Tuned +1.00 [-1.00, +3.00] not shown (Tuned: Tune-3, label_smoothing=0.1, select=best_val). "
        "Predicted no gain in BAN-1 − Teacher (it memorised the noise): **contradicted**. "
        "Predicted gain in BAN-1 − Tuned: **contradicted**.",
        "- `sw.selectbest_val` (cnn): BAN-1 − Teacher -0.16 [-0.41, +0.09] not shown; BAN-1 − Tuned —; best BAN − Tuned —. "
        "Predicted gain in BAN-1 − Teacher: **not shown**. Predicted gain in BAN-1 − Tuned: **not tested**.",
    ]
    text = write_regime([last, early], tmp_path / "out", "sw", predictions)[1].read_text(encoding="utf-8")
    assert "\n## Per cell\n" in text and text.endswith("\n" + "\n".join(lines) + "\n")
