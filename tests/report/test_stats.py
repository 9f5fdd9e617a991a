"""Paired statistics (ban.report.stats): t quantiles against the tables, intervals, p-values, power,
the minimum detectable effect and Holm's adjustment, each checked against hand or published values."""

from __future__ import annotations

import math

import pytest
from scipy import integrate
from scipy import stats as scipy_stats

from ban.report import verdicts
from ban.report.stats import ALPHA, alpha, holm, mde, mde_standardized, p_value, paired, power, t_interval, t_quantile


def test_alpha_is_one_minus_the_level_without_float_noise():
    assert (ALPHA, alpha(0.95), alpha(0.99), alpha(0.9)) == (0.05, 0.05, 0.01, 0.1)
    assert verdicts.ALPHA is ALPHA  # the family-wise verdicts test at the same alpha


@pytest.mark.parametrize(("df", "expected"), [(1, 12.706), (2, 4.303), (4, 2.776), (7, 2.365), (9, 2.262), (30, 2.042)])
def test_t_quantile_matches_the_tables(df, expected):
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=5e-4)


def test_t_quantile_rejects_bad_arguments():
    for p in (0.0, 1.0):
        with pytest.raises(ValueError):
            t_quantile(p, 3)
    with pytest.raises(ValueError):
        t_quantile(0.975, 0)


def test_one_difference_has_no_interval():
    assert t_interval([-0.45]) == (-0.45, None, None)
    one = paired([0.2])
    assert (one.n, one.low, one.high, one.sd, one.p_value, one.mde) == (1, None, None, None, None, None)
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
    assert t_interval([0.3, 0.3, 0.3])[1] == t_interval([0.3, 0.3, 0.3])[2]  # exactly zero width


def test_p_values_by_closed_forms():
    # df = 2: P(T > t) = ½ (1 − t / sqrt(t² + 2)), so p = 1 − t / sqrt(t² + 2).
    # d = (-0.5, -0.4, -0.5): t = 0.466667 / (1/30) = 14 -> p = 1 − 14 / sqrt(198) = 0.0050633.
    assert p_value([-0.5, -0.4, -0.5]) == pytest.approx(1 - 14 / math.sqrt(198), rel=1e-9)
    assert p_value([0.5, 0.4, 0.5]) == pytest.approx(1 - 14 / math.sqrt(198), rel=1e-9)  # two-sided
    # df = 1 (Cauchy): p = 1 − (2/π) arctan|t|; d = (-1.0, -0.5): t = 0.75 / 0.25 = 3 -> p = 0.204833.
    assert p_value([-1.0, -0.5]) == pytest.approx(1 - 2 / math.pi * math.atan(3), rel=1e-9)
    assert p_value([-1.0, 1.0]) == pytest.approx(1.0)  # mean 0
    # The same as SciPy's paired t-test.
    diffs = [0.31, -0.12, 0.25, 0.4, 0.05, 0.18]
    assert p_value(diffs) == pytest.approx(scipy_stats.ttest_1samp(diffs, 0.0).pvalue, rel=1e-12)


def test_p_value_edge_cases():
    assert p_value([0.2]) is None and p_value([]) is None
    # All n differences equal (sd 0): the exact sign-flip test. Of the 2^n sign patterns only the 2 with
    # equal signs reach |mean| = |c|, so p = 2 / 2^n: n = 2 -> 2/4 = 0.5, n = 3 -> 2/8 = 0.25, n = 5 -> 2/32 = 0.0625,
    # n = 6 -> 2/64 = 0.03125 (the first n below 0.05).
    assert p_value([-0.5, -0.5]) == 0.5
    assert p_value([0.3, 0.3, 0.3]) == 0.25
    assert p_value([-1.0] * 5) == 0.0625 and p_value([2.0] * 6) == 0.03125
    assert p_value([0.0, 0.0]) == 1.0 and p_value([0.0] * 4) == 1.0  # every pattern ties at 0
    # For n ≥ 2 differences with a spread the 95% interval excludes 0 exactly when p < 0.05.
    for diffs in ([-0.5, -0.4, -0.5], [0.0, 0.5, -0.5], [-1.0, -0.5], [1.0, 1.1, 1.0, 0.2], [-0.2, 0.1, -0.3, -0.25, -0.1]):
        _, low, high = t_interval(diffs)
        assert (low > 0 or high < 0) == (p_value(diffs) < 0.05)


def test_equal_differences_get_the_sign_flip_test_by_enumeration():
    """The closed form against the definition: p = #{ε : |Σ ε_s d_s| ≥ |Σ d_s|} / 2^n over all 2^n patterns."""
    import itertools

    for n in range(2, 9):
        for c in (-0.7, 0.0, 1.5):
            diffs = [c] * n
            observed = abs(sum(diffs))
            hits = sum(abs(sum(e * d for e, d in zip(signs, diffs))) >= observed
                       for signs in itertools.product((-1, 1), repeat=n))
            assert p_value(diffs) == hits / 2 ** n
            assert paired(diffs).p_value == hits / 2 ** n


def test_holm_on_a_known_vector():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 -> max-accumulated 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.6, 0.7]) == [1.0, 1.0]  # 2 · 0.6 = 1.2, capped at 1
    assert holm([0.3, 0.9, 0.4]) == pytest.approx([0.9, 0.9, 0.9])  # 0.3·3, then max(0.9, 0.4·2), then max(0.9, 0.9)
    assert holm([0.02]) == [0.02] and holm([]) == []
    assert holm([0.0, 0.01, 0.01]) == pytest.approx([0.0, 0.02, 0.02])  # ties
    with pytest.raises(ValueError):
        holm([0.5, 1.5])


def _power_by_integration(effect: float, n: int) -> float:
    """Power of the two-sided one-sample t-test without the noncentral t: with Z ~ N(λ, 1) and
    V ~ χ²_{n−1}, T = Z / sqrt(V / (n−1)) rejects when |Z| > c · sqrt(V / (n−1))."""
    df, noncentrality = n - 1, effect * math.sqrt(n)
    critical = scipy_stats.t.ppf(0.975, df)

    def integrand(v: float) -> float:
        bound = critical * math.sqrt(v / df)
        return scipy_stats.chi2.pdf(v, df) * (scipy_stats.norm.sf(bound - noncentrality) + scipy_stats.norm.cdf(-bound - noncentrality))

    return integrate.quad(integrand, 0, math.inf, epsabs=1e-13, epsrel=1e-11, limit=500)[0]


def test_power_against_a_published_value_and_an_independent_integral():
    # R's pwr.t.test(type = "one.sample", alternative = "two.sided", sig.level = 0.05), the reference
    # values of statsmodels' TTestPower tests: d = 0.2, n = 20 -> 0.1359562887679666; d = 1, n = 30
    # -> 0.9995636009612725; and pwr.t.test(d = 1, power = 0.8) solves n = 9.93785.
    assert power(0.2, 20) == pytest.approx(0.1359562887679666, abs=1e-10)
    assert power(1.0, 30) == pytest.approx(0.9995636009612725, abs=1e-10)
    assert power(1.0, 9.93785) == pytest.approx(0.8, abs=1e-6)
    for effect, n in ((1.0, 10), (1.2, 8), (0.5, 30), (5.0, 2), (0.0, 5)):
        assert power(effect, n) == pytest.approx(_power_by_integration(effect, n), abs=1e-8)
    assert power(0.0, 5) == pytest.approx(0.05)  # no effect: the test's size
    assert power(-1.0, 10) == pytest.approx(power(1.0, 10))  # two-sided: symmetric
    assert power(40.0, 8) == pytest.approx(1.0)  # no NaN far in the tail
    with pytest.raises(ValueError):
        power(1.0, 1)


def test_minimum_detectable_effect():
    # n = 8, alpha 0.05 two-sided, power 0.8: d = 1.15603 (power(d) = 0.8 exactly; d = 1.1496,
    # the figure sometimes quoted, has power 0.7957 here and by the independent integral).
    d = mde_standardized(8)
    assert d == pytest.approx(1.156035, abs=1e-6)
    assert power(d, 8) == pytest.approx(0.8, abs=1e-10) and _power_by_integration(d, 8) == pytest.approx(0.8, abs=1e-8)
    assert power(d - 1e-6, 8) < 0.8 < power(d + 1e-6, 8)  # the smallest such effect
    assert _power_by_integration(1.1496, 8) == pytest.approx(0.79569, abs=1e-5)
    assert mde_standardized(10) == pytest.approx(0.996001, abs=1e-6)  # just under d = 1 (n = 9.93785 for d = 1 in R)
    # Large n: close to the normal approximation (z_0.975 + z_0.8) / √n = 2.801585 / √n.
    assert mde_standardized(200) == pytest.approx(2.801585 / math.sqrt(200), rel=0.01)
    assert mde_standardized(2) > mde_standardized(3) > mde_standardized(8) > mde_standardized(30)
    # In the differences' units: d · sd; none for one pair; 0 for sd = 0.
    assert mde(8, 0.5) == pytest.approx(0.5 * d)
    assert mde(1, 0.5) is None and mde(3, None) is None and mde(3, 0.0) == 0.0
    stats = paired([-0.5, -0.4, -0.5])  # sd 0.057735, n = 3
    assert stats.mde == pytest.approx(mde_standardized(3) * 0.0577350, rel=1e-6)
    assert mde_standardized(3) == pytest.approx(3.264044, abs=1e-6)


def test_wins_and_ties_are_counted_apart():
    stats = paired([0.0, 0.5, -0.5, -0.1])
    assert (stats.n, stats.wins, stats.ties) == (4, 2, 1)
    assert stats.mean == pytest.approx(-0.025)
    assert paired([0.0, 0.0]).wins == 0 and paired([0.0, 0.0]).ties == 2
    assert paired([0.0, 0.0]).low == 0.0 and paired([0.0, 0.0]).high == 0.0
    assert paired([0.0, 0.0]).p_value == 1.0 and paired([0.0, 0.0]).sd == 0.0
