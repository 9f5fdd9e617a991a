"""Paired statistics of a gain over seeds: the Student-t interval of the mean, wins and ties (numpy only).

For paired differences d_1..d_n (member − reference, one per seed both ran; negative = the member
is better, as every score here is lower-is-better):

    mean = (1/n) Σ_s d_s
    s    = sqrt(Σ_s (d_s − mean)² / (n − 1))                          (ddof = 1)
    CI   = mean ± t_{(1+level)/2, n−1} · s / √n                        (two-sided, level 0.95 by default)
    wins = #{s : d_s < 0}      ties = #{s : d_s = 0}                   (losses = n − wins − ties)

With one difference there is no interval (``t_interval`` returns ``(mean, None, None)``, never a
zero-width one); n differences that are all equal give the zero-width interval [mean, mean].

The t quantile is exact to about 1e-10: the Student-t CDF is written with the regularized
incomplete beta function, F(t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½) for t ≥ 0, evaluated by its
continued fraction (modified Lentz), and ``t_quantile`` solves F(t) = p by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable

import numpy as np

__all__ = ["LEVEL", "Paired", "betainc", "paired", "t_cdf", "t_interval", "t_quantile"]

LEVEL = 0.95
"""Confidence level of every interval in the report."""

_EPS = 1e-15
_TINY = 1e-300


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of I_x(a, b) (Numerical Recipes' ``betacf``, modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) for a, b > 0 and 0 ≤ x ≤ 1."""
    if not (a > 0 and b > 0):
        raise ValueError(f"betainc needs a, b > 0; got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc needs 0 <= x <= 1; got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T ≤ t) for Student's t with ``df`` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive; got {df}")
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t with ``t_cdf(t, df) = p`` (0 < p < 1), by bisection to a relative 1e-12."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"quantile needs 0 < p < 1; got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, 2.0 * high
    while high - low > 1e-12 * max(1.0, high):
        middle = 0.5 * (low + high)
        if t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def t_interval(diffs: Iterable[float], level: float = LEVEL) -> tuple[float, float | None, float | None]:
    """``(mean, low, high)``: the two-sided ``level`` Student-t interval of the mean of ``diffs``;
    ``(mean, None, None)`` for a single difference (no interval). No difference: ValueError."""
    values = np.asarray(list(diffs), dtype=float)
    n = len(values)
    if n == 0:
        raise ValueError("t_interval needs at least one difference")
    mean = float(np.mean(values))
    if n == 1:
        return mean, None, None
    half = t_quantile((1.0 + level) / 2.0, n - 1) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return mean, mean - half, mean + half


@dataclass(frozen=True)
class Paired:
    """Paired differences of one comparison: ``n`` pairs, their ``mean``, the t interval
    (``low``/``high``, None for one pair), ``wins`` (d < 0) and ``ties`` (d = 0)."""

    n: int
    mean: float
    low: float | None
    high: float | None
    wins: int
    ties: int


def paired(diffs: Iterable[float], level: float = LEVEL) -> Paired:
    """The ``Paired`` statistics of ``diffs`` (at least one; see the module docstring)."""
    values = [float(d) for d in diffs]
    mean, low, high = t_interval(values, level)
    return Paired(len(values), mean, low, high, sum(d < 0 for d in values), sum(d == 0 for d in values))
