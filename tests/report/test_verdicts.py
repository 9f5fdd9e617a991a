"""One comparison's evidence, verdicts and pooling (ban.report.verdicts); every number computed by hand below."""

from __future__ import annotations

import pytest

from ban.report.stats import holm
from ban.report.verdicts import HOLDS, NOT_SHOWN, NOT_TESTED, POOLED, REVERSED, Row, decide, evidence, pool, verdict, verdict_holm


@pytest.mark.parametrize(("low", "high", "n", "expected"), [
    (-0.6, -0.3, 3, HOLDS), (0.2, 0.9, 3, REVERSED), (-0.6, 0.3, 3, NOT_SHOWN),
    (-0.6, 0.0, 3, NOT_SHOWN), (0.0, 0.0, 2, NOT_SHOWN),  # touching 0 is not excluding it
    (None, None, 1, NOT_SHOWN), (None, None, 0, NOT_TESTED),
    # Zero width (n equal differences): the sign-flip p = 2^(1−n) decides: n = 6: 0.03125 < 0.05; n = 5: 0.0625; n = 2: 0.5.
    (-1.0, -1.0, 6, HOLDS), (1.0, 1.0, 6, REVERSED), (-1.0, -1.0, 5, NOT_SHOWN), (-0.5, -0.5, 2, NOT_SHOWN),
    (0.0, 0.0, 8, NOT_SHOWN),
])
def test_verdict_rule(low, high, n, expected):
    assert verdict(low, high, n) == expected


@pytest.mark.parametrize(("mean", "p", "n", "expected"), [
    (-0.4, 0.01, 3, HOLDS), (0.4, 0.01, 3, REVERSED), (-0.4, 0.05, 3, NOT_SHOWN), (-0.4, None, 1, NOT_SHOWN),
    (0.0, 0.0, 3, NOT_SHOWN), (None, None, 0, NOT_TESTED),
])
def test_holm_verdict_rule(mean, p, n, expected):
    assert verdict_holm(mean, p, n) == expected


@pytest.mark.parametrize(("low", "high", "margin", "expected"), [
    (-0.2, 0.1, 0.25, "no effect larger than 0.25"), (-0.25, 0.25, 0.25, "no effect larger than 0.25"),  # bounds included
    (-0.3, 0.1, 0.25, NOT_SHOWN), (-0.2, 0.1, None, NOT_SHOWN),
    (-0.2, -0.1, 0.25, HOLDS), (0.1, 0.2, 0.25, REVERSED),  # an interval that excludes 0 keeps its direction
    (0.0, 0.0, 0.5, NOT_SHOWN), (None, None, 0.25, NOT_SHOWN),  # a zero-width interval: the sign-flip p (1 here) decides
])
def test_equivalence_verdict_rule(low, high, margin, expected):
    assert verdict(low, high, 3, margin) == expected


@pytest.mark.parametrize("margin", [0.0, -1.0, float("nan"), float("inf")])
def test_a_margin_must_be_a_positive_number(margin):
    with pytest.raises(ValueError, match="the equivalence margin must be a positive number"):
        verdict(-0.2, 0.1, 3, margin)


def test_evidence_of_paired_differences():
    # d = (-0.5, -0.4, -0.5) in seeds 2, 0, 1: mean -0.466667, sd 0.057735, ± 4.302653 · 0.057735 / √3 = 0.143422.
    row = evidence(Row("a", "BAN-1 − Teacher", "BAN-1", "Teacher"), {2: -0.5, 0: -0.5, 1: -0.4})
    assert (row.seeds, row.differences, row.n, row.wins, row.ties) == ([0, 1, 2], [-0.5, -0.4, -0.5], 3, 3, 0)
    assert (row.mean, row.low, row.high, row.sd) == pytest.approx((-0.466667, -0.610088, -0.323245, 0.057735), abs=1e-6)
    assert (row.rules_out_gain, row.rules_out_loss) == (pytest.approx(0.610088, abs=1e-6), 0.0)
    assert (row.verdict, row.verdict_holm) == (HOLDS, NOT_SHOWN)
    empty = evidence(Row("b", "BAN-1 − Teacher", "BAN-1", "Teacher"), {})
    assert (empty.n, empty.verdict, empty.note, empty.mean) == (0, NOT_TESTED, "no seed with both members", None)


def test_pool_averages_lineages_within_each_seed():
    def row(lineage, a, diffs, comparison="X − Teacher"):
        return evidence(Row(lineage, comparison, a, "Teacher"), diffs)

    # x: seeds 0-1, y: seeds 1-2 (another member a), z: untested. Per seed: 0 → -1, 1 → (-3 + -1) / 2 = -2, 2 → -3.
    x, y, z = row("x", "BAN-1", {0: -1.0, 1: -3.0}), row("y", "BAN-2", {1: -1.0, 2: -3.0}), row("z", "BAN-1", {})
    other = row("x", "BAN-2", {0: 1.0}, comparison="Y − Teacher")
    out = pool([x, other, y, z])
    assert out[:3] == [x, y, z] and out[4] is other and len(out) == 5  # each comparison, then its pooled row
    pooled = out[3]
    assert (pooled.lineage, pooled.comparison, pooled.a, pooled.b) == (POOLED, "X − Teacher", "various", "Teacher")
    assert (pooled.seeds, pooled.differences, pooled.mean) == ([0, 1, 2], [-1.0, -2.0, -3.0], pytest.approx(-2.0))
    assert pooled.note == "per-seed means over 2 lineages (x, y)"
    assert pool([x, z]) == [x, z]  # one tested lineage: no pooled row


def test_decide_adjusts_over_the_rows_with_a_p_value():
    rows = [evidence(Row("a", "A − B", "A", "B"), {0: -1.0, 1: -1.2, 2: -0.9}),
            evidence(Row("a", "C − B", "C", "B"), {0: 0.1, 1: -0.1, 2: 0.05}),
            evidence(Row("a", "D − B", "D", "B"), {0: -1.0}),  # one seed: no p-value, outside the family
            Row("a", "E − B", "E", "B")]
    assert decide(rows, None) == 2
    assert [row.p_holm for row in rows[:2]] == pytest.approx(holm([rows[0].p_value, rows[1].p_value]))
    assert [row.verdict_holm for row in rows] == [HOLDS, NOT_SHOWN, NOT_SHOWN, NOT_TESTED]
    assert decide(rows, 0.5)
    assert rows[1].verdict == "no effect larger than 0.5" and rows[1].verdict_holm == NOT_SHOWN
