"""Paired statistics (ban.report.stats): the t quantile against known values, intervals and wins by hand."""

from __future__ import annotations

import math

import pytest

from ban.report.stats import betainc, paired, t_cdf, t_interval, t_quantile


@pytest.mark.parametrize(("df", "expected"), [(1, 12.706), (2, 4.303), (4, 2.776), (9, 2.262), (30, 2.042)])
def test_t_quantile_matches_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_closed_forms():
    # df = 1 (Cauchy): t_p = tan(π (p − ½)); df = 2: t_p = (2p − 1) / sqrt(2 p (1 − p)).
    for p in (0.6, 0.9, 0.975, 0.995):
        assert t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
        assert t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)
    assert t_quantile(0.025, 4) == pytest.approx(-t_quantile(0.975, 4))
    assert t_quantile(0.5, 7) == 0.0
    assert t_quantile(0.975, 10_000) == pytest.approx(1.95996, abs=5e-4)  # the normal's 1.959964


def test_betainc_and_t_cdf_known_values():
    assert betainc(1.0, 1.0, 0.3) == pytest.approx(0.3)  # uniform
    assert betainc(3.0, 1.0, 0.5) == pytest.approx(0.125)  # x^a
    assert betainc(2.5, 2.5, 0.5) == pytest.approx(0.5)  # symmetric
    assert betainc(2.0, 3.0, 0.0) == 0.0 and betainc(2.0, 3.0, 1.0) == 1.0
    assert t_cdf(0.0, 5) == pytest.approx(0.5)
    assert t_cdf(1.0, 1) == pytest.approx(0.75)  # ½ + arctan(1)/π
    assert t_cdf(-1.0, 1) == pytest.approx(0.25)
    for bad in ((0.0, 1.0, 0.5), (1.0, 1.0, 1.5)):
        with pytest.raises(ValueError):
            betainc(*bad)
    with pytest.raises(ValueError):
        t_quantile(1.0, 3)


def test_one_difference_has_no_interval():
    assert t_interval([-0.45]) == (-0.45, None, None)
    assert paired([0.2]).low is None and paired([0.2]).high is None and paired([0.2]).n == 1
    with pytest.raises(ValueError):
        t_interval([])


def test_three_differences_by_hand():
    # d = (-0.5, -0.4, -0.5): mean -0.4667, sd = sqrt(((1/30)² · 2 + (1/15)²) / 2) = 0.057735,
    # se = sd / √3 = 1/30, t(0.975, 2) = 4.302653 -> half width 0.143422.
    mean, low, high = t_interval([-0.5, -0.4, -0.5])
    assert mean == pytest.approx(-0.466667, abs=1e-6)
    assert (low, high) == pytest.approx((-0.610088, -0.323245), abs=1e-6)


def test_two_differences_by_hand():
    # d = (-1.0, -0.5): mean -0.75, sd 0.353553, se 0.25, t(0.975, 1) = 12.706205 -> ±3.176551.
    assert t_interval([-1.0, -0.5]) == pytest.approx((-0.75, -3.926551, 2.426551), abs=1e-6)


def test_equal_differences_give_a_zero_width_interval_not_none():
    assert t_interval([0.3, 0.3, 0.3]) == pytest.approx((0.3, 0.3, 0.3))


def test_wins_and_ties_are_counted_apart():
    stats = paired([0.0, 0.5, -0.5, -0.1])
    assert (stats.n, stats.wins, stats.ties) == (4, 2, 1)
    assert stats.mean == pytest.approx(-0.025)
    assert paired([0.0, 0.0]).wins == 0 and paired([0.0, 0.0]).ties == 2
    assert paired([0.0, 0.0]).low == 0.0 and paired([0.0, 0.0]).high == 0.0
