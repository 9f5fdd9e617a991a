"""Paired statistics of a gain over seeds: t interval, p-value, power and Holm's adjustment (numpy, SciPy).

For paired differences d_1..d_n (member − reference, one per seed both ran; negative = the member
is better, as every score here is lower-is-better):

    mean = (1/n) Σ_s d_s
    s    = sqrt(Σ_s (d_s − mean)² / (n − 1))                          (ddof = 1; exactly 0 when all d_s are equal)
    CI   = mean ± t_{(1+level)/2, n−1} · s / √n                        (two-sided, level 0.95 by default)
    p    = 2 · P(T_{n−1} > |mean| / (s / √n))                          (two-sided paired t-test of mean = 0; s > 0)
    p    = 2^(1−n) when s = 0 and mean ≠ 0,  1 when every d_s = 0      (exact sign-flip test; s = 0)
    wins = #{s : d_s < 0}      ties = #{s : d_s = 0}                   (losses = n − wins − ties)

With one difference there is no interval (``t_interval`` returns ``(mean, None, None)``, never a
zero-width one), no p-value and no minimum detectable effect. n ≥ 2 differences that are all equal
(s = 0) give the zero-width interval [mean, mean], and the t statistic is undefined: the p-value is
then the exact two-sided sign-flip (randomisation) test's, p = #{ε ∈ {−1, +1}^n : |Σ_s ε_s d_s| ≥
|Σ_s d_s|} / 2^n. With every d_s = c ≠ 0, |Σ_s ε_s c| = |c| · |Σ_s ε_s| reaches n·|c| only for the 2
patterns of equal signs, so p = 2 / 2^n = 2^(1−n) (n = 2: 0.5, n = 3: 0.25, n = 6: 0.03125); with
every d_s = 0 every pattern ties and p = 1. For s > 0 the interval excludes 0 exactly when
p < 1 − level; for s = 0 and mean ≠ 0 the zero-width interval excludes 0 while p = 2^(1−n) is below
1 − level only from n = 6 on (at level 0.95).

Quantiles and tail probabilities come from SciPy's Student-t and noncentral-t functions
(``scipy.special.stdtrit`` and ``stdtr``, which ``scipy.stats.t`` evaluates too and which import in a
third of the time; ``scipy.stats.nct`` for power, imported where it is used); the power
and the minimum detectable effect are defined in ``power`` and ``mde``, Holm's step-down
adjustment in ``holm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import numpy as np
from scipy import special

__all__ = ["ALPHA", "LEVEL", "POWER", "Paired", "alpha", "holm", "mde", "mde_standardized", "p_value", "paired", "power", "t_interval",
           "t_quantile"]

LEVEL = 0.95
"""Confidence level of every interval in the report; tests are at alpha = 1 − LEVEL."""

POWER = 0.8
"""Power at which the minimum detectable effect is stated."""


def alpha(level: float = LEVEL) -> float:
    """The significance level of a test at confidence ``level``: 1 − level, rounded to 12 decimals
    (so that 1 − 0.95 is 0.05 exactly, not 0.050000000000000044)."""
    return round(1.0 - level, 12)


ALPHA = alpha(LEVEL)
"""The significance level of every test in the report: 1 − ``LEVEL`` (0.05)."""


def t_quantile(p: float, df: float) -> float:
    """The Student-t quantile t_{p, df}: P(T_df ≤ t_{p, df}) = p (0 < p < 1; ``scipy.stats.t.ppf``)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile needs 0 < p < 1; got {p}")
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive; got {df}")
    return float(special.stdtrit(df, p))


def _mean_sd(values: np.ndarray) -> tuple[float, float]:
    """(mean, sd with ddof = 1), sd exactly 0 when every value is equal (len(values) ≥ 2)."""
    mean = float(np.mean(values))
    sd = 0.0 if float(np.ptp(values)) == 0.0 else float(np.std(values, ddof=1))
    return mean, sd


def t_interval(diffs: Iterable[float], level: float = LEVEL) -> tuple[float, float | None, float | None]:
    """``(mean, low, high)``: mean ± t_{(1+level)/2, n−1} · s / √n, the two-sided ``level`` Student-t
    interval of the mean of ``diffs``; ``(mean, None, None)`` for a single difference (no interval).
    No difference: ValueError."""
    values = np.asarray(list(diffs), dtype=float)
    n = len(values)
    if n == 0:
        raise ValueError("t_interval needs at least one difference")
    if n == 1:
        return float(values[0]), None, None
    mean, sd = _mean_sd(values)
    half = t_quantile((1.0 + level) / 2.0, n - 1) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def p_value(diffs: Iterable[float]) -> float | None:
    """Two-sided p-value of the paired t-test of mean(d) = 0: p = 2 · P(T_{n−1} > |mean| · √n / s)
    (``scipy.stats.t.sf``). None for fewer than two differences. For s = 0 (all n differences
    equal; the t statistic is undefined) the exact two-sided sign-flip test's p-value: 2^(1−n) when
    mean ≠ 0 (2 of the 2^n sign patterns reach the observed |mean|), 1.0 when mean = 0."""
    values = np.asarray(list(diffs), dtype=float)
    n = len(values)
    if n < 2:
        return None
    mean, sd = _mean_sd(values)
    if sd == 0.0:
        return 2.0 ** (1 - n) if mean != 0.0 else 1.0
    statistic = abs(mean) * math.sqrt(n) / sd
    return float(min(1.0, 2.0 * special.stdtr(n - 1, -statistic)))


def power(effect: float, n: float, level: float = LEVEL) -> float:
    """Power of the two-sided paired t-test at alpha = 1 − ``level`` with ``n`` pairs against a
    standardized effect ``effect`` = δ / sd (Cohen's d of the differences):

        df = n − 1,  λ = effect · √n,  c = t_{1 − alpha/2, df}
        power = P(T'_{df, λ} > c) + P(T'_{df, λ} < −c) = sf(c; df, λ) + sf(c; df, −λ)

    with T' the noncentral t (``scipy.stats.nct``; the lower tail is taken as the upper tail at −λ,
    which SciPy evaluates without underflow). Needs n ≥ 2 (a non-integer n is allowed, as in R's pwr)."""
    if n < 2:
        raise ValueError(f"power needs at least two pairs; got n={n}")
    df = n - 1
    critical = t_quantile(1.0 - alpha(level) / 2.0, df)
    noncentrality = effect * math.sqrt(n)
    from scipy.stats import nct  # imported here: only power and the MDE need it

    return float(nct.sf(critical, df, noncentrality) + nct.sf(critical, df, -noncentrality))


@lru_cache(maxsize=None)
def mde_standardized(n: int, level: float = LEVEL, target: float = POWER) -> float:
    """The smallest standardized effect d = δ / sd ≥ 0 with ``power(d, n, level) ≥ target``
    (the root of power(d) = target, by Brent's method to 1e-12; power rises with |d|). Needs n ≥ 2
    and 1 − level < target < 1."""
    if n < 2:
        raise ValueError(f"the minimum detectable effect needs at least two pairs; got n={n}")
    if not alpha(level) < target < 1.0:
        raise ValueError(f"power target must lie in (1 − level, 1); got {target}")
    high = 1.0
    while power(high, n, level) < target:
        high *= 2.0
    from scipy import optimize  # only the claims need it: table and plot jobs start faster

    return float(optimize.brentq(lambda d: power(d, n, level) - target, 0.0, high, xtol=1e-12, rtol=1e-12))


def mde(n: int, sd: float | None, level: float = LEVEL, target: float = POWER) -> float | None:
    """Minimum detectable effect in the differences' units: the smallest |δ| that the two-sided
    paired t-test at alpha = 1 − ``level`` with ``n`` pairs detects with power ``target``, when the
    differences have sd ``sd``: mde = ``mde_standardized(n)`` · sd (noncentrality δ √n / sd).
    None for n < 2 or an unknown sd; 0.0 for sd = 0 (any nonzero difference is detected)."""
    if n < 2 or sd is None:
        return None
    if sd < 0:
        raise ValueError(f"sd must be non-negative; got {sd}")
    return 0.0 if sd == 0.0 else mde_standardized(n, level, target) * sd


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of m p-values, returned in their input order: with the p-values
    sorted p_(1) ≤ … ≤ p_(m) (ties in input order),

        p̃_(i) = min(1, max_{j ≤ i} (m − j + 1) · p_(j))

    Rejecting every hypothesis with p̃ < alpha controls the family-wise error rate at alpha under
    any dependence between the tests. No p-value: []."""
    values = [float(p) for p in p_values]
    for p in values:
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p-values must lie in [0, 1]; got {p}")
    m = len(values)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: values[i])):
        running = max(running, min(1.0, (m - rank) * values[index]))
        adjusted[index] = running
    return adjusted


@dataclass(frozen=True)
class Paired:
    """Paired differences of one comparison: ``n`` pairs, their ``mean``, the t interval
    (``low``/``high``, None for one pair), ``wins`` (d < 0), ``ties`` (d = 0), the sd of the
    differences (``sd``, ddof = 1), the two-sided ``p_value`` and the minimum detectable effect
    ``mde`` (None for one pair; computed when first read, at confidence ``level``: the power
    calculation imports scipy.stats, which only the claims need)."""

    n: int
    mean: float
    low: float | None
    high: float | None
    wins: int
    ties: int
    sd: float | None = None
    p_value: float | None = None
    level: float = LEVEL

    @property
    def mde(self) -> float | None:
        return mde(self.n, self.sd, self.level)


def paired(diffs: Iterable[float], level: float = LEVEL) -> Paired:
    """The ``Paired`` statistics of ``diffs`` (at least one; see the module docstring)."""
    values = [float(d) for d in diffs]
    mean, low, high = t_interval(values, level)
    sd = _mean_sd(np.asarray(values))[1] if len(values) >= 2 else None
    return Paired(len(values), mean, low, high, sum(d < 0 for d in values), sum(d == 0 for d in values),
                  sd, p_value(values), level)
