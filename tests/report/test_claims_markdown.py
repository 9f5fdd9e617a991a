"""claims.md and claims.json (ban.report.claims_markdown) of hand-made studies, and ``python -m ban claims``."""

from __future__ import annotations

import csv
import json
from statistics import fmean, stdev

import pytest
from metrics_files import BEST_BAN, SMALL, TUNING_POINTS, edit_metrics, errors_study, paired_study, tuned_study

from ban.report.claims import claims_of
from ban.report.claims_markdown import claims_markdown, write_claims
from ban.report.stats import t_quantile

# The studies and their numbers: tests/report/metrics_files.py; the p-values and Holm's adjustment of paired_study:
# tests/report/test_claims.py (test_holm_over_the_whole_family), rules out and MDE: test_rules_out_and_mde there.


def test_claims_files_and_cli(tmp_path, capsys):
    from ban.cli import main

    paths = paired_study(tmp_path / "results")
    assert main(["claims", "--metrics", *map(str, paths), "--out", str(tmp_path / "out")]) == 0
    assert "claims.md" in capsys.readouterr().out
    saved = json.loads((tmp_path / "out" / "claims.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(claims_of(paths)))
    text = (tmp_path / "out" / "claims.md").read_text(encoding="utf-8")
    assert text.startswith("# Claims tested on study `paired`")
    assert "**holds** — the interval lies entirely below 0" in text  # the header states the rule
    assert text.splitlines()[2] == "Family: 16 comparisons; Holm-adjusted verdicts at 5%. Equivalence margin: none."
    assert text.splitlines()[4].startswith("The intervals cover training randomness only (initialisation, batch order, ")
    assert ("| Lineage | Comparison | Δ | 95% interval | Wins/seeds | p | Verdict | p (Holm) | Verdict (Holm) | Rules out | MDE |"
            in text)
    # p and p (Holm) as in test_holm_over_the_whole_family; rules out and MDE as in test_rules_out_and_mde.
    assert ("| a | BAN-1 − Teacher | -0.47 | [-0.61, -0.32] | 3/3 | 0.005 | **holds** | 0.046 | **holds** "
            "| gain > 0.61, any loss | 0.19 |") in text
    assert ("| a | BAN-2 − BAN-1 | +1.03 | [+0.89, +1.18] | 0/3 | 0.001 | **reversed** | 0.016 | **reversed** "
            "| any gain, loss > 1.18 | 0.19 |") in text
    assert ("| a | BAN+L − Teacher | +0.00 | [-1.24, +1.24] | 1/3 (1 tie) | 1.000 | not shown | 1.000 | not shown "
            "| gain > 1.24, loss > 1.24 | 1.63 |") in text
    assert "| a | DKPP − Teacher | +1.00 | — | 0/1 | — | not shown | — | not shown | — | — |" in text
    assert "| b | BAN-2 − BAN-1 | — | — | — | — | not tested: lineage has no BAN-2 | — | — | — | — |" in text
    assert ("| a | Ens*2 − Indep*2 | +0.50 | [+0.50, +0.50] | 0/3 | 0.250 | not shown | 1.000 | not shown "
            "| any gain, loss > 0.50 | 0.00 |") in text
    assert "| a | best BAN − Teacher | — | — | — | — | not tested: 3 seeds; without validation scores, choosing the generation" in text
    assert "not tested: the study has no CWTM" in text
    assert ("| a | BAN-1 − Teacher | -0.047 | [-0.061, -0.032] | 3/3 | 0.005 | **holds** | 0.046 | **holds** "
            "| gain > 0.061, any loss | 0.019 |") in text  # NLL = error / 10: 3 decimals
    assert "| 1 | BAN-1 beats its teacher | 1 holds, 1 not shown; pooled: 1 holds | 1 holds, 1 not shown; pooled: 1 holds |" in text
    assert main(["claims", "--metrics", str(tmp_path / "nothing.json"), "--out", str(tmp_path / "bad")]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_the_best_ban_row_says_which_generation_and_on_which_seeds_it_was_chosen(tmp_path):
    text = claims_markdown(claims_of(errors_study(tmp_path, "c", BEST_BAN, "best")))
    assert ("| c | best BAN − Teacher (BAN-1 − Teacher; chosen on the test error of seeds 0, 1) | +0.50 | [+0.25, +0.75] "
            "| 0/3 |") in text
    assert "- **best BAN**: this study has no validation scores, so the generation is chosen on the test error of the first" in text


def test_claims_md_names_the_tuned_baseline_and_the_best_ban_chosen_on_validation(tmp_path):
    text = claims_markdown(claims_of(tuned_study(tmp_path)))  # numbers: tests/report/metrics_files.py (TUNED)
    assert ("## Tuned label-only baseline\n\n- t: Tune-1 (objective_args.label_smoothing = 0.1), chosen on validation: mean "
            "val_error 10.00, mean test_error 10.77, over seeds 0, 1, 2 (validation means: Teacher 11.50, Tune-1 10.00, "
            "Tune-2 10.50).\n") in text
    assert "| 4 | BAN-1 beats the tuned label-only baseline | 1 holds, 1 not tested |" in text
    assert "| t | BAN-1 − Tuned (BAN-1 − Tune-1) | -0.37 | [-0.65, -0.08] | 3/3 |" in text
    assert "| u | BAN-1 − Tuned | — | — | — | — | not tested: lineage has no tuning grid (Tune-i) |" in text
    assert "| t | best BAN − Teacher (BAN-2 − Teacher; chosen on validation) | -0.23 | [-0.61, +0.15] | 3/3 |" in text
    assert "| t | best BAN − Tuned (BAN-2 − Tune-1; chosen on validation) | +0.00 | [-0.66, +0.66] | 2/3 |" in text
    assert ("- **best BAN**: the BAN-k with the lowest mean validation score (`val_error`) over the seeds where every "
            "generation has one (ties: the lower k), chosen on validation and tested on every seed.\n") in text
    paths = tuned_study(tmp_path / "teacher")
    for path in paths:
        if path.parent.name == "gen0" and path.parent.parent.parent.name == "t":
            edit_metrics(path, lambda record: record.update(val_error=record["val_error"] - 3))
    text = claims_markdown(claims_of(paths))
    assert "- t: Teacher (the study's recipe), chosen on validation: mean val_error 8.50, mean test_error 11.00," in text


def test_a_row_with_a_collapsed_member_is_marked_and_repeated_without_it(tmp_path):
    paths = paired_study(tmp_path)
    edit_metrics(tmp_path / "paired" / "a" / "seed1" / "gen2" / "metrics.json", lambda record: record.update(collapsed=True))
    text = claims_markdown(claims_of(paths))
    assert "Family: 20 comparisons;" in text
    assert "| a | BAN-2 − BAN-1 ⚠ collapsed: BAN-2 seed 1 | +1.03 | [+0.89, +1.18] | 0/3 |" in text
    assert "| a | BAN-2 − BAN-1 (without collapsed) | +1.00 | [+1.00, +1.00] | 0/2 | 0.500 | not shown |" in text
    assert "the row is followed by the same comparison without those seeds" in text


def test_scores_csv_holds_what_every_row_is_computed_from(tmp_path):
    paths = tuned_study(tmp_path / "results")
    edit_metrics(paths[1], lambda record: record.update(collapsed=True))  # t, seed 0, tune1
    write_claims(paths, tmp_path / "out")
    with (tmp_path / "out" / "scores.csv").open(encoding="utf-8", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == len(paths) == 21
    assert list(table[0]) == ["lineage", "seed", "member", "column", "test_error", "test_nll", "test_ece", "val_error",
                              "train_error", "train_error_clean", "noise_memorised", "teacher_max_prob", "collapsed",
                              "tuning_point", "identity"]
    assert [(r["lineage"], r["seed"], r["column"]) for r in table[:6]] == [
        ("t", "0", "Teacher"), ("t", "0", "BAN-1"), ("t", "0", "BAN-2"), ("t", "0", "Tune-1"), ("t", "0", "Tune-2"), ("t", "1", "Teacher")]
    tune1 = table[3]
    assert (tune1["collapsed"], json.loads(tune1["tuning_point"]), tune1["identity"]) == ("true", TUNING_POINTS["tune1"], "id-t-0-tune1")
    assert (table[0]["collapsed"], table[0]["tuning_point"], table[0]["train_error_clean"]) == ("false", "", "")
    # One row of claims.json recomputed from scores.csv: t's BAN-1 − Tuned (Tune-1), paired by seed.
    row, without, _ = [claim for claim in json.loads((tmp_path / "out" / "claims.json").read_text())["claims"]
                       if claim["id"] == "ban1_beats_tuned"][0]["rows"]
    score = {(r["column"], int(r["seed"])): float(r["test_error"]) for r in table if r["lineage"] == "t"}
    diffs = [score[("BAN-1", s)] - score[(row["b"], s)] for s in range(3)]
    half = t_quantile(0.975, 2) * stdev(diffs) / 3 ** 0.5
    assert (row["mean"], row["low"], row["high"]) == pytest.approx((fmean(diffs), fmean(diffs) - half, fmean(diffs) + half), rel=1e-12)
    assert row["collapsed"] == [{"seed": 0, "column": "Tune-1"}] and without["seeds"] == [1, 2]


def test_a_verdict_withdrawn_by_holm_reads_not_shown(tmp_path):
    text = claims_markdown(claims_of(errors_study(tmp_path, "a", SMALL, "small")))
    assert "Family: 3 comparisons; Holm-adjusted verdicts at 5%." in text
    assert "| a | BAN-1 − Teacher | -0.40 | [-0.65, -0.15] | 3/3 | 0.020 | **holds** | 0.061 | not shown |" in text
    assert "| 1 | BAN-1 beats its teacher | 1 holds | 1 not shown |" in text


def test_write_claims_writes_what_claims_of_returns(tmp_path):
    paths = paired_study(tmp_path / "results")
    written = write_claims(paths, tmp_path / "out" / "deeper")
    assert [p.name for p in written] == ["claims.md", "claims.json", "scores.csv"]
    result = claims_of(paths)
    assert written[0].read_text(encoding="utf-8") == claims_markdown(result)
    assert written[1].read_text(encoding="utf-8") == json.dumps(result, indent=2, ensure_ascii=False) + "\n"


def test_equivalence_margin_in_claims_md_and_cli(tmp_path, capsys):
    from ban.cli import main

    paths = paired_study(tmp_path / "results")
    assert main(["claims", "--metrics", *map(str, paths), "--out", str(tmp_path / "out"), "--equivalence-margin", "1.25"]) == 0
    capsys.readouterr()
    text = (tmp_path / "out" / "claims.md").read_text(encoding="utf-8")
    assert "Equivalence margin: 1.25." in text and "**no effect larger than X**" not in text
    assert "| a | BAN+L − Teacher | +0.00 | [-1.24, +1.24] | 1/3 (1 tie) | 1.000 | **no effect larger than 1.25** | 1.000 |" in text
    assert "| 6 | BAN+L beats the teacher | 1 no effect larger than 1.25 | 1 not shown |" in text
    saved = json.loads((tmp_path / "out" / "claims.json").read_text(encoding="utf-8"))
    assert saved == json.loads(json.dumps(claims_of(paths, equivalence_margin=1.25)))
    for bad in ("0", "-1", "nan"):
        assert main(["claims", "--metrics", *map(str, paths), "--out", str(tmp_path / "bad"), "--equivalence-margin", bad]) == 2
        assert capsys.readouterr().err.startswith("error: the equivalence margin must be a positive number")


def test_the_claims_command_imports_neither_torch_nor_matplotlib_nor_the_tables_or_plots():
    import subprocess
    import sys
    from pathlib import Path

    import ban.report

    assert ban.report.write_claims is write_claims
    code = ("import sys, ban.report.claims_markdown, ban.report.fidelity; "
            "bad = [m for m in ('torch', 'matplotlib', 'ban.report.tables', 'ban.report.plots') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True, timeout=60)
