"""One comparison ``a − b`` of a claim: its paired evidence, its verdicts and the rules (no pandas, no torch).

A ``Row`` holds, over the n seeds both members ran, the differences ``d_s = score_a(s) − score_b(s)``
(lower is better, so negative: *a* is better), their mean Δ with its 95% Student-t interval, wins,
ties, sd, the two-sided paired t-test's p, the minimum detectable effect and what the interval
rules out (``evidence``, from ``ban.report.stats.paired``). ``verdict`` decides from the interval
(from the exact sign-flip p when all n ≥ 2 differences are equal and the interval has zero width),
``verdict_holm`` from Holm's adjustment over the family of every row with a p-value (``decide``);
``pool`` adds a row of per-seed means over the lineages that test a comparison, and after a row with
a collapsed member (``Row.collapsed``) the same comparison without the seeds where one collapsed
(``without_collapsed``). The rules are ``RULE``, ``RULE_EQUIVALENCE`` and ``RULE_HOLM``; the
method, in full: docs/method.md (the claims).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import fmean

from ban.report.stats import ALPHA, LEVEL, holm, p_value, paired

__all__ = ["HOLDS", "NOT_SHOWN", "NOT_TESTED", "NO_EFFECT", "POOLED", "REVERSED", "RULE", "RULE_EQUIVALENCE", "RULE_HOLM",
           "VERDICTS", "WITHOUT_COLLAPSED", "Row", "check_margin", "decide", "evidence", "no_effect", "pool", "verdict", "verdict_holm",
           "without_collapsed"]

HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED = "holds", "not shown", "reversed", "not tested"
VERDICTS = (HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED)
NO_EFFECT = "no effect larger than"
POOLED = "pooled"
WITHOUT_COLLAPSED = " (without collapsed)"
"""Appended to a comparison's name for its row without the seeds in which a compared member collapsed."""
RULE = ("holds: the 95% t-interval of the mean paired difference (claimed-better − other, lower is better) lies below 0; "
        "reversed: it lies above 0; not shown: it contains 0, or one seed (no interval); "
        "when all n ≥ 2 differences are equal (sd 0, a zero-width interval): holds when the exact two-sided sign-flip "
        "p = 2^(1−n) < 0.05 and the mean < 0, reversed when it is < 0.05 and the mean > 0, otherwise not shown; "
        "not tested: a member the claim needs is missing")
RULE_EQUIVALENCE = ("; no effect larger than X: the interval (of nonzero width) contains 0 and lies within [−X, +X] "
                    "(X: the equivalence margin)")
RULE_HOLM = ("verdict_holm: holds when p_holm < 0.05 and the mean < 0, reversed when p_holm < 0.05 and the mean > 0, "
             "otherwise not shown (not tested as verdict); p_holm: Holm's step-down adjustment of the two-sided paired "
             "t-test p-values (for equal differences, sd 0: the exact sign-flip p = 2^(1−n), 1 when all are 0) over the "
             "family of every row with a p-value (lineage and pooled rows, rows without collapsed seeds, all claims)")


@dataclass
class Row:
    """One comparison ``a − b`` in one lineage (or ``pooled``): its paired evidence and verdict."""

    lineage: str
    comparison: str
    a: str
    b: str
    n: int = 0
    mean: float | None = None
    low: float | None = None
    high: float | None = None
    wins: int = 0
    ties: int = 0
    verdict: str = NOT_TESTED
    sd: float | None = None
    p_value: float | None = None
    p_holm: float | None = None
    verdict_holm: str = NOT_TESTED
    rules_out_gain: float | None = None
    rules_out_loss: float | None = None
    mde: float | None = None
    note: str = ""
    seeds: list = field(default_factory=list)  # seed numbers (pooled rows: the seeds of the per-seed means)
    differences: list[float] = field(default_factory=list)
    chosen_on: list | str = field(default_factory=list)  # best BAN: "validation", or the seeds it was chosen on (test error)
    collapsed: list[dict] = field(default_factory=list)  # {"seed", "column"} of each compared member collapsed in a seed


def no_effect(margin: float) -> str:
    """The equivalence verdict for margin X: ``"no effect larger than X"`` (X in ``%g``)."""
    return f"{NO_EFFECT} {margin:g}"


def check_margin(margin: float | None) -> None:
    """Raise ``ValueError`` unless the equivalence margin is None or a finite number > 0."""
    if margin is not None and not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"the equivalence margin must be a positive number; got {margin}")


def verdict(low: float | None, high: float | None, n: int, margin: float | None = None) -> str:
    """The per-comparison verdict of an interval (``None`` bounds: one seed) of ``n`` paired
    differences: not tested (n = 0), not shown (no interval), holds (high < 0), reversed (low > 0),
    ``no_effect(margin)`` (−margin ≤ low ≤ 0 ≤ high ≤ margin, only with a margin), else not shown.
    A zero-width interval (low = high: n ≥ 2 equal differences, sd 0) is decided by the exact
    sign-flip p (``ban.report.stats.p_value``: 2^(1−n), 1 for differences of 0): holds when
    p < 0.05 and low < 0, reversed when p < 0.05 and low > 0, else not shown."""
    check_margin(margin)
    if n == 0:
        return NOT_TESTED
    if low is None or high is None:
        return NOT_SHOWN
    if low == high:
        p = p_value([low] * n)
        if p is None or not p < ALPHA or low == 0:
            return NOT_SHOWN
        return HOLDS if low < 0 else REVERSED
    if high < 0:
        return HOLDS
    if low > 0:
        return REVERSED
    if margin is not None and -margin <= low and high <= margin:
        return no_effect(margin)
    return NOT_SHOWN


def verdict_holm(mean: float | None, p_holm: float | None, n: int) -> str:
    """The family-wise verdict: not tested (n = 0); holds when p_holm < 0.05 and mean < 0, reversed
    when p_holm < 0.05 and mean > 0; not shown otherwise (and when there is no p_holm)."""
    if n == 0:
        return NOT_TESTED
    if p_holm is None or mean is None or not p_holm < ALPHA:
        return NOT_SHOWN
    return HOLDS if mean < 0 else REVERSED if mean > 0 else NOT_SHOWN


def evidence(row: Row, diffs: dict[int, float]) -> Row:
    """Fill ``row`` (and return it) with the paired evidence of ``diffs`` (seed → a − b): seeds,
    differences, n, Δ, interval, wins, ties, sd, p, mde, rules_out_gain = max(0, −low),
    rules_out_loss = max(0, high) and the verdict without a margin; no seed: not tested."""
    row.seeds = sorted(diffs)
    row.differences = [diffs[s] for s in row.seeds]
    row.n = len(diffs)
    if not diffs:
        row.verdict, row.note = NOT_TESTED, row.note or "no seed with both members"
        return row
    pairs = paired(row.differences, LEVEL)
    row.mean, row.low, row.high, row.wins, row.ties = pairs.mean, pairs.low, pairs.high, pairs.wins, pairs.ties
    row.sd, row.p_value, row.mde = pairs.sd, pairs.p_value, pairs.mde
    if pairs.low is not None and pairs.high is not None:
        row.rules_out_gain, row.rules_out_loss = max(0.0, -pairs.low), max(0.0, pairs.high)
    row.verdict = verdict(pairs.low, pairs.high, pairs.n)
    row.verdict_holm = NOT_SHOWN
    return row


def decide(rows: list[Row], margin: float | None) -> int:
    """Set every row's per-comparison verdict (with ``margin``) and its Holm-adjusted ``p_holm`` and
    ``verdict_holm`` over the family of the rows with a p-value; return the family size."""
    family = [row for row in rows if row.p_value is not None]
    for row, adjusted in zip(family, holm([row.p_value for row in family])):
        row.p_holm = adjusted
    for row in rows:
        row.verdict = verdict(row.low, row.high, row.n, margin)
        row.verdict_holm = verdict_holm(row.mean, row.p_holm, row.n)
    return len(family)


def without_collapsed(row: Row) -> Row:
    """``row``'s comparison (named ``comparison + WITHOUT_COLLAPSED``) on its seeds but those of
    ``row.collapsed``; not tested when no seed is left."""
    dropped = sorted({entry["seed"] for entry in row.collapsed})
    clean = Row(row.lineage, row.comparison + WITHOUT_COLLAPSED, row.a, row.b, chosen_on=row.chosen_on,
                note=f"without seed{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))}")
    evidence(clean, {s: d for s, d in zip(row.seeds, row.differences) if s not in dropped})
    if clean.n == 0:
        clean.note = "a compared member collapsed in every seed"
    return clean


def _pooled(comparison: str, tested: list[Row]) -> Row:
    """The pooled row of ``tested`` (≥ 2 lineage rows with seeds): per seed the mean of their differences."""
    pooled = Row(POOLED, comparison, tested[0].a if len({r.a for r in tested}) == 1 else "various",
                 tested[0].b if len({r.b for r in tested}) == 1 else "various")
    by_seed: dict[int, list[float]] = {}
    for row in tested:
        for seed, d in zip(row.seeds, row.differences):
            by_seed.setdefault(seed, []).append(d)
    evidence(pooled, {seed: fmean(values) for seed, values in by_seed.items()})
    pooled.note = f"per-seed means over {len(tested)} lineages ({', '.join(row.lineage for row in tested)})"
    return pooled


def pool(rows: list[Row]) -> list[Row]:
    """The lineage rows, each comparison followed (when ≥ 2 lineages test it) by its pooled row:
    per seed the mean of the tested lineages' differences in that seed, tested over the seeds.
    A row with ``collapsed`` seeds (a pooled row: those of its lineage rows, each with its
    ``lineage``) is followed by ``without_collapsed`` of it (the pooled one: pooled over the
    lineage rows without their collapsed seeds)."""
    out: list[Row] = []
    order: list[str] = []
    for row in rows:
        if row.comparison not in order:
            order.append(row.comparison)
    for comparison in order:
        group = [row for row in rows if row.comparison == comparison]
        for row in group:
            out += [row, without_collapsed(row)] if row.collapsed else [row]
        tested = [row for row in group if row.n > 0]
        if len(tested) >= 2:
            pooled = _pooled(comparison, tested)
            pooled.collapsed = [{**entry, "lineage": row.lineage} for row in tested for entry in row.collapsed]
            out.append(pooled)
            if pooled.collapsed:
                clean = [without_collapsed(row) if row.collapsed else row for row in tested]
                clean = [row for row in clean if row.n > 0]
                if len(clean) >= 2:
                    out.append(_pooled(comparison + WITHOUT_COLLAPSED, clean))
                    out[-1].note += "; without the seeds in which a compared member collapsed"
    return out
