"""The registered claims (ban.report.claims) tested on hand-made metrics; every number computed by hand."""

from __future__ import annotations

import json

import pytest
from metrics_files import (
    BEST_BAN,
    SMALL,
    TUNING_POINTS,
    claims_record,
    edit_metrics,
    errors_study,
    paired_study,
    text_study,
    tuned_study,
    write_metrics,
)

from ban.member_kinds import CONTROLS
from ban.report.claims import CLAIMS, NotTested, StudyScores, claims_of, register_claim
from ban.report.stats import holm, mde_standardized
from ban.report.verdicts import HOLDS, NOT_SHOWN, NOT_TESTED, POOLED, REVERSED

# The studies and their differences: tests/report/metrics_files.py (PAIRED_A, PAIRED_B, BEST_BAN, SMALL).


def by_id(result):
    return {claim["id"]: claim for claim in result["claims"]}


def rows(claim, lineage=None):
    return [row for row in claim["rows"] if lineage is None or row["lineage"] == lineage]


def test_ban1_beats_teacher_per_lineage_and_pooled(tmp_path):
    claim = by_id(claims_of(paired_study(tmp_path)))["ban1_beats_teacher"]
    a, b, pooled = claim["rows"]
    assert (a["lineage"], a["comparison"], a["n"], a["wins"], a["ties"]) == ("a", "BAN-1 − Teacher", 3, 3, 0)
    assert (a["mean"], a["low"], a["high"]) == pytest.approx((-0.466667, -0.610088, -0.323245), abs=1e-6)
    assert a["verdict"] == HOLDS and a["seeds"] == [0, 1, 2]
    # b: (-0.5, -0.5): a zero-width interval, decided by the sign-flip p = 2^(1-2) = 0.5 >= 0.05: not shown.
    assert b["verdict"] == NOT_SHOWN and b["low"] == pytest.approx(-0.5) and b["high"] == pytest.approx(-0.5)
    # pooled: per-seed means over the lineages that ran the seed: seed 0 (-0.5 - 0.5) / 2, seed 1 (-0.4 - 0.5) / 2,
    # seed 2 -0.5 (a only) = (-0.5, -0.45, -0.5): mean -0.483333, sd 0.028868, se 0.016667, t(0.975, 2) = 4.302653
    # -> ± 0.071711.
    assert pooled["lineage"] == POOLED and pooled["n"] == 3 and pooled["wins"] == 3
    assert pooled["differences"] == pytest.approx([-0.5, -0.45, -0.5])
    assert (pooled["mean"], pooled["low"], pooled["high"]) == pytest.approx((-0.483333, -0.555044, -0.411622), abs=1e-6)
    assert pooled["seeds"] == [0, 1, 2] and pooled["note"] == "per-seed means over 2 lineages (a, b)"


def test_reversed_tie_and_one_seed(tmp_path):
    result = by_id(claims_of(paired_study(tmp_path)))
    successive = result["ban_k_beats_previous"]
    a, b = successive["rows"]  # b has BAN-1 but no BAN-2: not tested in b, no pooled row
    assert a["verdict"] == REVERSED and (a["low"], a["high"]) == pytest.approx((0.889912, 1.176755), abs=1e-6)
    assert a["wins"] == 0
    assert b["lineage"] == "b" and b["verdict"] == NOT_TESTED and b["note"] == "lineage has no BAN-2" and b["n"] == 0
    (ban_l,) = result["ban_l_beats_teacher"]["rows"]
    assert (ban_l["mean"], ban_l["wins"], ban_l["ties"], ban_l["verdict"]) == (pytest.approx(0.0, abs=1e-12), 1, 1, NOT_SHOWN)
    assert (ban_l["low"], ban_l["high"]) == pytest.approx((-1.242069, 1.242069), abs=1e-6)
    dkpp = result["dkpp_beats_teacher_short_of_ban1"]
    versus_teacher, versus_ban1 = dkpp["rows"]
    assert (versus_teacher["comparison"], versus_teacher["n"], versus_teacher["mean"]) == ("DKPP − Teacher", 1, pytest.approx(1.0))
    assert versus_teacher["low"] is None and versus_teacher["high"] is None and versus_teacher["verdict"] == NOT_SHOWN
    assert versus_ban1["comparison"] == "BAN-1 − DKPP" and versus_ban1["mean"] == pytest.approx(-1.5) and versus_ban1["wins"] == 1


def test_claims_with_missing_members_say_so(tmp_path):
    result = by_id(claims_of(paired_study(tmp_path)))
    assert result["cwtm_beats_teacher_short_of_ban1"]["note"] == "not tested: the study has no CWTM"
    assert result["cwtm_beats_teacher_short_of_ban1"]["rows"] == []
    # Every control but BAN+L is a claim of its own, whatever ban.member_kinds.CONTROLS lists.
    assert {f"{name}_beats_teacher_short_of_ban1" for name in CONTROLS if name != "ban_l"} <= set(result)
    only_teachers = [write_metrics(tmp_path / "t", claims_record("a", 0, "gen0", 5.0, "lonely"))]
    lonely = by_id(claims_of(only_teachers))
    assert lonely["ban1_beats_teacher"]["note"] == "not tested: the study has no BAN-1"
    assert lonely["ens_beats_members"]["note"] == "not tested: the study has no Ens*k"
    assert lonely["ens_beats_indep"]["note"] == "not tested: the study has no Ens*k and no Indep*k"


def test_ensembles_against_their_members_and_indep(tmp_path):
    result = by_id(claims_of(paired_study(tmp_path)))
    members = result["ens_beats_members"]["rows"]
    assert [row["comparison"] for row in members] == ["Ens*2 − BAN-1", "Ens*2 − BAN-2"]  # the metrics' members list
    assert (members[0]["mean"], members[0]["low"], members[0]["high"]) == pytest.approx((-1.0, -1.0, -1.0))
    # Ens*2 − BAN-1 = (-1, -1, -1): zero width, sign-flip p = 2^(1-3) = 0.25: not shown; Ens*2 − BAN-2 = (-2, -2.1, -2):
    # -2.033333 ± 4.302653 · 0.057735 / √3 = [-2.176755, -1.889912]: holds.
    assert members[0]["verdict"] == NOT_SHOWN and members[1]["verdict"] == HOLDS and members[1]["wins"] == 3
    (indep,) = result["ens_beats_indep"]["rows"]
    assert indep["comparison"] == "Ens*2 − Indep*2" and indep["mean"] == pytest.approx(0.5) and indep["verdict"] == NOT_SHOWN


def test_ensemble_with_teacher_members_come_from_the_metrics(tmp_path):
    paths = paired_study(tmp_path)
    for path in paths:
        if path.parent.name == "ens2":
            entry = json.loads(path.read_text())
            entry["members"] = ["gen0", "gen1"]  # ensemble_with_teacher: [2]
            path.write_text(json.dumps(entry))
    members = by_id(claims_of(paths))["ens_beats_members"]["rows"]
    assert [row["comparison"] for row in members] == ["Ens*2 − Teacher", "Ens*2 − BAN-1"]
    assert members[0]["mean"] == pytest.approx(-1.466667, abs=1e-6)  # (8.5-10, 10.6-12, 9.5-11)


def test_best_ban_is_chosen_on_half_of_the_seeds_and_tested_on_the_other(tmp_path):
    paths = errors_study(tmp_path, "c", BEST_BAN, "best")  # chosen on seeds 0, 1; tested on 2-4: reversed
    (row,) = by_id(claims_of(paths))["best_ban_beats_teacher"]["rows"]
    assert (row["a"], row["chosen_on"], row["seeds"], row["n"]) == ("BAN-1", [0, 1], [2, 3, 4], 3)
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((0.5, 0.251586, 0.748414), abs=1e-6)
    assert row["verdict"] == REVERSED
    # Three seeds: too few to choose on some and test on others.
    three = [p for p in paths if "seed3" not in str(p) and "seed4" not in str(p)]
    (row,) = by_id(claims_of(three))["best_ban_beats_teacher"]["rows"]
    assert (row["verdict"], row["n"]) == (NOT_TESTED, 0)
    assert row["note"] == ("3 seeds; without validation scores, choosing the generation on half of the seeds and testing it on "
                           "the other half needs 4")


def test_claims_say_which_randomness_their_intervals_cover(tmp_path):
    def study(root, **dataset):
        paths = []
        for seed in range(2):
            for member, error in (("gen0", 10.0 + seed), ("gen1", 9.0 + seed)):
                entry = claims_record("a", seed, member, error, "rand")
                entry["dataset_spec"] = {"name": "fashion_mnist", **dataset, **({"subset_seed": seed} if "per_seed" in dataset else {})}
                entry["dataset_spec"].pop("per_seed", None)
                paths.append(write_metrics(root, entry))
        return claims_of(paths)["randomness"]

    first = study(tmp_path / "first", train_subset=2000)
    assert first.startswith("The intervals cover training randomness only") and "the same first 2,000 training images" in first
    assert "do not cover the sampling of the test set" in first
    assert "every seed trains on the same training images" in study(tmp_path / "all")
    noisy = study(tmp_path / "noisy", label_noise={"rate": 0.2, "kind": "symmetric", "seed": 0})
    assert noisy.startswith("The intervals cover training randomness (initialisation, batch order, augmentation, the "
                            "objective's draws) and the label-noise draw: each seed corrupts its own labels (dataset.label_noise); "
                            "every seed trains on the same training images")
    assert "label-noise" not in study(tmp_path / "clean", label_noise={"rate": 0.0, "kind": "symmetric", "seed": 0})
    drawn = study(tmp_path / "drawn", train_subset=2000, per_seed=True)
    assert "and the choice of training data: each seed trains on its own class-stratified draw of 2,000 training" in drawn


def test_calibration(tmp_path):
    result = by_id(claims_of(paired_study(tmp_path)))
    best = result["best_ban_beats_teacher"]["rows"]  # 3 and 2 seeds: not tested, no pooled row
    assert [(row["lineage"], row["verdict"]) for row in best] == [("a", NOT_TESTED), ("b", NOT_TESTED)]
    ece = result["students_better_calibrated_ece"]
    assert ece["score"] == "test_ece"
    first = rows(ece, "a")[0]  # ECE = error / 4: BAN-1 − Teacher = (-0.125, -0.1, -0.125)
    assert (first["comparison"], first["verdict"]) == ("BAN-1 − Teacher", HOLDS)
    assert first["mean"] == pytest.approx(-0.466667 / 4, abs=1e-6)
    assert rows(ece, "a")[1]["comparison"] == "BAN-2 − BAN-1" and rows(ece, "a")[1]["verdict"] == REVERSED
    nll = result["students_better_calibrated_nll"]
    assert rows(nll, "a")[0]["mean"] == pytest.approx(-0.0466667, abs=1e-6)


def test_text_studies_use_perplexity_and_skip_calibration(tmp_path):
    result = claims_of(text_study(tmp_path))
    assert result["score"] == "test_ppl"
    claim = by_id(result)
    (row,) = claim["ban1_beats_teacher"]["rows"]  # d = (76 - 80, 77 - 82) = (-4, -5): -4.5 ± 6.353103
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((-4.5, -10.853103, 1.853103), abs=1e-6)
    assert row["verdict"] == NOT_SHOWN
    assert claim["students_better_calibrated_ece"]["note"].startswith("not tested: calibration claims are tested on image studies")


# Holm family of paired_study: the 16 rows with n ≥ 2 (lineage and pooled rows of every claim; the best-BAN
# claim has too few seeds), p sorted (df = 2: p = 1 − t / sqrt(t² + 2)):
#   Ens*2 − BAN-2 (t = 61: 2.69e-4),
#   3 × BAN-2 − BAN-1 (t = 1.033333 · √3 / 0.057735 = 31: p = 1 − 31 / sqrt(963) = 0.0010390),
#   3 × pooled BAN-1 − Teacher (per-seed means, t = 0.483333 · √3 / 0.028868 = 29: 1 − 29 / sqrt(843) = 0.0011869),
#   3 × a's BAN-1 − Teacher (t = 14: p = 1 − 14 / sqrt(198) = 0.0050633),
#   then the zero-width intervals (all differences equal: the sign-flip test, p = 2^(1−n)): 2 × 0.25 (n = 3:
#   Ens*2 − BAN-1, Ens*2 − Indep*2), 3 × 0.5 (n = 2: b's BAN-1 − Teacher in claim 1, ECE, NLL), and BAN+L − Teacher (p = 1).
# Holm: rank 1 gets 16 · 2.69e-4 = 0.0043; ranks 2-4 (16 − 2 + 1) · 0.0010390 = 0.015584; ranks 5-7 12 · 0.0011869 =
# 0.0142 raised to 0.015584 (step-down: never below an earlier rank); ranks 8-10 9 · 0.0050633 = 0.0455699;
# ranks 11-16 6 · 0.25 = 1.5 and more, capped at 1.
P_BAN1 = 1 - 14 / 198 ** 0.5
P_BAN2 = 1 - 31 / 963 ** 0.5
P_POOLED = 1 - 29 / 843 ** 0.5


def all_rows(result):
    return [row for claim in result["claims"] for row in claim["rows"]]


def test_holm_over_the_whole_family(tmp_path):
    result = claims_of(paired_study(tmp_path))
    family = [row for row in all_rows(result) if row["p_value"] is not None]
    assert result["family_size"] == len(family) == 16
    assert sum(row["lineage"] == POOLED for row in family) == 3  # pooled rows are in the family
    assert [row["p_holm"] for row in family] == pytest.approx(holm([row["p_value"] for row in family]))
    claim = by_id(result)
    a = rows(claim["ban1_beats_teacher"], "a")[0]
    assert a["p_value"] == pytest.approx(P_BAN1, rel=1e-9) and a["p_holm"] == pytest.approx(9 * P_BAN1, rel=1e-9)
    assert (a["verdict"], a["verdict_holm"]) == (HOLDS, HOLDS)
    b = rows(claim["ban1_beats_teacher"], "b")[0]  # zero-width interval below 0, sign-flip p = 2^(1-2) = 0.5
    assert (b["p_value"], b["p_holm"], b["verdict"], b["verdict_holm"]) == (0.5, 1.0, NOT_SHOWN, NOT_SHOWN)
    pooled = rows(claim["ban1_beats_teacher"], POOLED)[0]
    assert pooled["p_value"] == pytest.approx(P_POOLED, rel=1e-6) and pooled["p_holm"] == pytest.approx(15 * P_BAN2, rel=1e-9)
    reversed_row = rows(claim["ban_k_beats_previous"], "a")[0]
    assert reversed_row["p_value"] == pytest.approx(P_BAN2, rel=1e-9)
    assert reversed_row["p_holm"] == pytest.approx(15 * P_BAN2, rel=1e-9) and reversed_row["verdict_holm"] == REVERSED
    (ban_l,) = claim["ban_l_beats_teacher"]["rows"]
    assert ban_l["p_value"] == pytest.approx(1.0) and ban_l["p_holm"] == pytest.approx(1.0) and ban_l["verdict_holm"] == NOT_SHOWN
    (indep,) = claim["ens_beats_indep"]["rows"]
    assert (indep["p_value"], indep["p_holm"], indep["verdict"], indep["verdict_holm"]) == (0.25, 1.0, NOT_SHOWN, NOT_SHOWN)
    one_seed = claim["dkpp_beats_teacher_short_of_ban1"]["rows"][0]
    assert (one_seed["p_value"], one_seed["p_holm"], one_seed["verdict_holm"]) == (None, None, NOT_SHOWN)
    untested = rows(claim["ban_k_beats_previous"], "b")[0]
    assert (untested["p_value"], untested["p_holm"], untested["verdict_holm"]) == (None, None, NOT_TESTED)


def test_holm_can_withdraw_a_per_comparison_verdict(tmp_path):
    result = claims_of(errors_study(tmp_path, "a", SMALL, "small"))  # p = 0.020204 per comparison, 3 p after Holm
    t = 0.4 * 3 ** 0.5 / 0.1
    p = 1 - t / (t * t + 2) ** 0.5
    assert result["family_size"] == 3
    for row in all_rows(result):
        if row["n"] == 0:  # the best BAN
            continue
        assert row["p_value"] == pytest.approx(p, rel=1e-6) and row["p_holm"] == pytest.approx(3 * p, rel=1e-6)
        assert (row["verdict"], row["verdict_holm"]) == (HOLDS, NOT_SHOWN)


def test_rules_out_and_mde(tmp_path):
    claim = by_id(claims_of(paired_study(tmp_path)))
    a = rows(claim["ban1_beats_teacher"], "a")[0]  # [-0.610088, -0.323245]: gains up to 0.610088 possible, no loss
    assert (a["rules_out_gain"], a["rules_out_loss"]) == (pytest.approx(0.610088, abs=1e-6), 0.0)
    # MDE: n = 3, sd 0.057735: d = 3.264044 (power 0.8 at alpha 0.05, df 2) -> 0.188450.
    assert a["sd"] == pytest.approx(0.057735, abs=1e-6) and a["mde"] == pytest.approx(mde_standardized(3) * 0.0577350, rel=1e-5)
    assert a["mde"] == pytest.approx(0.188450, abs=1e-6)
    reversed_row = rows(claim["ban_k_beats_previous"], "a")[0]  # [+0.889912, +1.176755]
    assert (reversed_row["rules_out_gain"], reversed_row["rules_out_loss"]) == (0.0, pytest.approx(1.176755, abs=1e-6))
    (ban_l,) = claim["ban_l_beats_teacher"]["rows"]  # 0 ± 1.242069, sd 0.5: mde = 3.264044 · 0.5
    assert (ban_l["rules_out_gain"], ban_l["rules_out_loss"]) == pytest.approx((1.242069, 1.242069), abs=1e-6)
    assert ban_l["mde"] == pytest.approx(3.264044 * 0.5, abs=1e-5)
    b = rows(claim["ban1_beats_teacher"], "b")[0]  # zero-width [-0.5, -0.5]: sd 0 -> mde 0
    assert (b["rules_out_gain"], b["rules_out_loss"], b["mde"]) == (pytest.approx(0.5), 0.0, 0.0)
    one_seed = claim["dkpp_beats_teacher_short_of_ban1"]["rows"][0]
    assert (one_seed["rules_out_gain"], one_seed["rules_out_loss"], one_seed["mde"], one_seed["sd"]) == (None, None, None, None)


def test_equivalence_margin_in_claims(tmp_path):
    paths = paired_study(tmp_path / "results")
    assert all(row["verdict"] == base["verdict"] for row, base in zip(all_rows(claims_of(paths, equivalence_margin=None)),
                                                                      all_rows(claims_of(paths))))
    result = claims_of(paths, equivalence_margin=1.25)  # BAN+L − Teacher: [-1.242069, +1.242069] within ±1.25
    assert result["equivalence_margin"] == 1.25
    (ban_l,) = by_id(result)["ban_l_beats_teacher"]["rows"]
    assert (ban_l["verdict"], ban_l["verdict_holm"]) == ("no effect larger than 1.25", NOT_SHOWN)
    changed = [row for row, base in zip(all_rows(result), all_rows(claims_of(paths))) if row["verdict"] != base["verdict"]]
    assert changed == [ban_l]  # every other verdict stays
    (narrow,) = by_id(claims_of(paths, equivalence_margin=1.2))["ban_l_beats_teacher"]["rows"]
    assert narrow["verdict"] == NOT_SHOWN
    with pytest.raises(ValueError, match="the equivalence margin must be a positive number; got 0"):
        claims_of(paths, equivalence_margin=0)



def test_the_tuned_baseline_is_chosen_on_validation_not_on_test(tmp_path):
    result = claims_of(tuned_study(tmp_path))  # numbers: tests/report/metrics_files.py (TUNED)
    assert list(result["tuned"]) == ["t"] and result["val_key"] == "val_error"
    tuned = result["tuned"]["t"]
    assert {k: v for k, v in tuned.items() if k not in ("val", "test")} == {
        "column": "Tune-1", "member": "tune1", "setting": TUNING_POINTS["tune1"], "chosen_on": "validation", "seeds": [0, 1, 2]}
    assert tuned["val"] == pytest.approx({"Teacher": 11.5, "Tune-1": 10.0, "Tune-2": 10.5})
    assert tuned["test"] == pytest.approx(10.766667, abs=1e-6)  # Tune-2's test mean 10.0 is lower: the test set is not used
    claim = by_id(result)
    t, u = claim["ban1_beats_tuned"]["rows"]
    assert (t["comparison"], t["a"], t["b"], t["seeds"]) == ("BAN-1 − Tuned", "BAN-1", "Tune-1", [0, 1, 2])
    assert (t["mean"], t["low"], t["high"]) == pytest.approx((-0.366667, -0.653510, -0.079823), abs=1e-6)
    assert t["verdict"] == HOLDS
    assert (u["n"], u["b"], u["note"]) == (0, "Tuned", "lineage has no tuning grid (Tune-i)")
    t, u = claim["best_ban_beats_tuned"]["rows"]  # BAN-2 (chosen on validation) − Tune-1 = (-0.2, -0.1, +0.3)
    assert (t["comparison"], t["a"], t["b"], t["chosen_on"], t["n"]) == ("best BAN − Tuned", "BAN-2", "Tune-1", "validation", 3)
    assert (t["mean"], t["low"], t["high"]) == pytest.approx((0.0, -0.657241, 0.657241), abs=1e-6)
    assert (u["n"], u["note"]) == (0, "lineage has no tuning grid (Tune-i)")


def test_the_teacher_is_the_tuned_baseline_when_its_validation_score_is_lowest(tmp_path):
    paths = tuned_study(tmp_path)
    for path in paths:
        if path.parent.name == "gen0" and path.parent.parent.parent.name == "t":
            edit_metrics(path, lambda record: record.update(val_error=record["val_error"] - 3))  # Teacher's mean: 8.5
    tuned = claims_of(paths)["tuned"]["t"]
    assert (tuned["column"], tuned["member"], tuned["setting"]) == ("Teacher", "gen0", {})
    # BAN-1 − Teacher = (-0.5, -0.6, -0.7) now in the tuned claim too.
    (row, _) = by_id(claims_of(paths))["ban1_beats_tuned"]["rows"]
    assert (row["b"], row["mean"]) == ("Teacher", pytest.approx(-0.6))


def test_no_tuned_baseline_without_a_grid_or_validation_scores(tmp_path):
    untuned = by_id(claims_of(paired_study(tmp_path / "paired")))
    assert untuned["ban1_beats_tuned"]["note"] == "not tested: the study has no tuning grid (Tune-i)"
    assert untuned["best_ban_beats_tuned"]["rows"] == []
    paths = tuned_study(tmp_path / "tuned")
    for path in paths:
        edit_metrics(path, lambda record: record.pop("val_error"))
    result = claims_of(paths)
    assert result["tuned"] == {}
    note = "not tested: the study has no validation scores (val_error) to choose the tuned label-only baseline on"
    assert by_id(result)["ban1_beats_tuned"]["note"] == note and by_id(result)["best_ban_beats_tuned"]["note"] == note


def test_the_best_ban_is_chosen_on_validation_when_every_generation_has_it(tmp_path):
    claim = by_id(claims_of(tuned_study(tmp_path)))["best_ban_beats_teacher"]
    t, u, pooled = claim["rows"]
    # t: BAN-2 has the lower mean val_error (10.533333 < 10.833333), though BAN-1 has the lower test error; tested on all seeds.
    assert (t["a"], t["chosen_on"], t["seeds"], t["note"]) == ("BAN-2", "validation", [0, 1, 2], "")
    assert (t["mean"], t["low"], t["high"]) == pytest.approx((-0.233333, -0.612791, 0.146124), abs=1e-6)
    assert t["verdict"] == NOT_SHOWN
    assert (u["a"], u["chosen_on"], u["differences"]) == ("BAN-1", "validation", pytest.approx([-1.0, -0.5, -0.5]))
    assert pooled["lineage"] == POOLED and pooled["differences"] == pytest.approx([-0.7, -0.35, -0.3])


def test_collapsed_members_are_flagged_and_their_seeds_left_out_in_a_second_row(tmp_path):
    paths = paired_study(tmp_path)
    edit_metrics(tmp_path / "paired" / "a" / "seed1" / "gen2" / "metrics.json",
                 lambda record: record.update(collapsed=True, collapse_reasons=["train error within 5 points of chance"]))
    result = claims_of(paths)
    claim = by_id(result)
    flagged, clean, untested = claim["ban_k_beats_previous"]["rows"]
    assert flagged["collapsed"] == [{"seed": 1, "column": "BAN-2"}] and flagged["n"] == 3
    assert (clean["lineage"], clean["comparison"], clean["seeds"], clean["collapsed"]) == (
        "a", "BAN-2 − BAN-1 (without collapsed)", [0, 2], [])
    # (+1.0, +1.0): zero width, sign-flip p = 2^(1-2) = 0.5: not shown.
    assert (clean["mean"], clean["p_value"], clean["verdict"], clean["note"]) == (pytest.approx(1.0), 0.5, NOT_SHOWN,
                                                                                  "without seed 1")
    assert untested["lineage"] == "b" and untested["collapsed"] == []
    members = claim["ens_beats_members"]["rows"]
    assert [row["comparison"] for row in members] == ["Ens*2 − BAN-1", "Ens*2 − BAN-2", "Ens*2 − BAN-2 (without collapsed)"]
    assert members[2]["differences"] == pytest.approx([-2.0, -2.0])
    # The family of 16 grows by the 4 rows without collapsed seeds (BAN-2 − BAN-1 on error, ECE, NLL; Ens*2 − BAN-2).
    assert result["family_size"] == 20
    assert [row["collapsed"] for row in claim["ban1_beats_teacher"]["rows"]] == [[], [], []]


def test_a_pooled_row_with_collapsed_seeds_is_pooled_again_without_them(tmp_path):
    paths = paired_study(tmp_path)
    edit_metrics(tmp_path / "paired" / "b" / "seed1" / "gen1" / "metrics.json", lambda record: record.update(collapsed=True))
    a, b, b_clean, pooled, pooled_clean = by_id(claims_of(paths))["ban1_beats_teacher"]["rows"]
    assert b["collapsed"] == [{"seed": 1, "column": "BAN-1"}] and b_clean["seeds"] == [0] and b_clean["p_value"] is None
    assert pooled["collapsed"] == [{"seed": 1, "column": "BAN-1", "lineage": "b"}]
    # Without b's seed 1: seed 0 (-0.5 - 0.5) / 2, seed 1 a's -0.4 alone, seed 2 a's -0.5.
    assert (pooled_clean["lineage"], pooled_clean["comparison"]) == (POOLED, "BAN-1 − Teacher (without collapsed)")
    assert pooled_clean["differences"] == pytest.approx([-0.5, -0.4, -0.5])
    assert a["collapsed"] == [] and pooled_clean["collapsed"] == []


def test_the_registry_holds_every_claim_in_the_order_of_claims_md(tmp_path):
    controls = [f"{name}_beats_teacher_short_of_ban1" for name in CONTROLS if name != "ban_l"]
    expected = ["ban1_beats_teacher", "ban_k_beats_previous", "best_ban_beats_teacher", "ban1_beats_tuned", "best_ban_beats_tuned",
                "ban_l_beats_teacher", *controls,
                "ens_beats_members", "ens_beats_indep", "students_better_calibrated_ece", "students_better_calibrated_nll"]
    assert list(CLAIMS) == expected
    assert [claim["id"] for claim in claims_of(paired_study(tmp_path))["claims"]] == expected
    assert (CLAIMS["students_better_calibrated_nll"].score, CLAIMS["ban1_beats_teacher"].score) == ("test_nll", None)


def test_a_claim_is_one_registered_function(tmp_path):
    @register_claim("ban2_beats_teacher", "BAN-2 beats its teacher's teacher")
    def ban2_beats_teacher(study, score):
        study.require("BAN-2")
        return [study.compare(lin, "BAN-2", "Teacher", score) for lin in study.lineages]

    try:
        with pytest.raises(ValueError, match="claim 'ban2_beats_teacher' is registered twice"):
            register_claim("ban2_beats_teacher", "again")(ban2_beats_teacher)
        result = claims_of(paired_study(tmp_path))
        added = result["claims"][-1]
        assert (added["id"], added["text"], added["score"], added["note"]) == ("ban2_beats_teacher", "BAN-2 beats its teacher's teacher",
                                                                                "test_error", "")
        a, b = added["rows"]  # a: (+0.5, +0.7, +0.5); b has no BAN-2 (no pooled row)
        assert (a["comparison"], a["mean"], a["verdict"]) == ("BAN-2 − Teacher", pytest.approx(0.566667, abs=1e-6), REVERSED)
        assert (b["n"], b["note"]) == (0, "lineage has no BAN-2")
        assert result["family_size"] == 17  # the family of the 16 rows of paired_study grows by one
        lonely = claims_of(errors_study(tmp_path / "t", "a", {"gen0": (5.0,)}, "lonely"))["claims"][-1]
        assert (lonely["rows"], lonely["note"]) == ([], "not tested: the study has no BAN-2")
    finally:
        del CLAIMS["ban2_beats_teacher"]
    assert "ban2_beats_teacher" not in [claim["id"] for claim in claims_of(paired_study(tmp_path / "again"))["claims"]]


def test_not_tested_names_what_the_study_lacks(tmp_path):
    study = StudyScores(errors_study(tmp_path, "a", {"gen0": (5.0,), "gen1": (4.0,)}, "s"))
    study.require("BAN-1", "Teacher")
    with pytest.raises(NotTested, match="^the study has no BAN-2 and no Ens\\*2$"):
        study.require("BAN-1", "BAN-2", "Ens*2")
