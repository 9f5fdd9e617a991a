"""The paper's claims tested on one study, with their evidence and verdicts (pandas, numpy, SciPy; no torch).

Every claim compares a member that the claim says is better (``a``) with another (``b``) on a
score where lower is better (the task's primary score: test error for image studies, test
perplexity for text; the calibration claims use test ECE and test NLL). Over the seeds s both
ran (n of them), with ``ban.report.stats``:

    d_s  = score_a(s) − score_b(s)                       (negative: a is better, as the paper says)
    Δ    = (1/n) Σ_s d_s,   95% CI = Δ ∓ t_{0.975, n−1} · sd(d) / √n       (sd with ddof = 1)
    p    = 2 · P(T_{n−1} > |Δ| √n / sd(d))                                 (two-sided paired t-test)
    wins = #{s : d_s < 0}   (a strictly lower; ties, d_s = 0, are counted apart)
    rules_out_gain = max(0, −low),  rules_out_loss = max(0, high)          (a gain is a negative d)
    mde  = the smallest |δ| the paired t-test at 5% detects with 80% power, with n pairs and sd(d)
           (noncentral t, noncentrality δ √n / sd(d); ``ban.report.stats.mde``)

No p-value, interval, rules_out_* or mde with one seed; with all differences equal the interval
has zero width and p is 0 (Δ ≠ 0) or 1 (Δ = 0). ``rules_out_gain`` is the largest gain of *a*
over *b* the interval leaves possible (it rules out larger ones; 0: it rules out every gain),
``rules_out_loss`` the largest loss.

Per-comparison verdict (``verdict``), from the 95% interval:

- **holds**: the interval lies entirely below 0 (the paper's direction);
- **reversed**: the interval lies entirely above 0;
- **no effect larger than X**: only with an equivalence margin X > 0 (``equivalence_margin``;
  default none, and then this verdict never appears): the interval contains 0 and lies within
  [−X, +X] (bounds included);
- **not shown**: the interval contains 0 (and, with a margin, reaches beyond it), or there is one
  seed (no interval);
- **not tested**: a member the comparison needs is missing (the row says which), or no seed has both.

Family-wise verdict (``verdict_holm``): the family is every row of the study, over all claims,
that has a p-value (n ≥ 2), lineage rows and pooled rows alike; its size is ``family_size``.
Holm's step-down adjustment of their p-values (``ban.report.stats.holm``) gives ``p_holm``, and
``verdict_holm`` is **holds** when p_holm < 0.05 and Δ < 0, **reversed** when p_holm < 0.05 and
Δ > 0, **not shown** otherwise (including rows with one seed, whose ``p_holm`` is None), **not
tested** as ``verdict``. The equivalence verdict is per-comparison only.

Rows are per lineage; a comparison that two or more lineages test also gets a ``pooled`` row.
Lineages of a study share their seeds (the same member kind trains with the same random streams in
every lineage) and the test set, so their differences are not independent: the pooled row first
averages, within each seed, the differences of the lineages that ran the comparison in that seed,
and tests those per-seed means (n = seeds). The claims:

1. BAN-1 beats its teacher (BAN-1 − Teacher).
2. Each BAN-k beats BAN-(k−1) (BAN-k − BAN-(k−1), k = 2..K).
3. The best BAN beats the teacher: per lineage the seeds both the Teacher and BAN-1 ran, sorted,
   are split in halves; the BAN-k (k ≥ 1) with the lowest mean over the first half (ties: the
   lower k) is chosen there and tested against the Teacher on the second half only, so the choice
   does not bias the test. With fewer than 4 such seeds the row is not tested.
4. BAN+L beats the teacher (BAN+L − Teacher).
5. Each other control of ``ban.member_kinds.CONTROLS`` (CWTM, DKPP, ...) beats the teacher
   (control − Teacher) and falls short of BAN-1 (BAN-1 − control).
6. Ens*k beats each of its members (Ens*k − member, for the members its metrics.json lists:
   gen1..genk, or gen0..gen(k−1) with ``ensemble_with_teacher``).
7. Ens*k beats Indep*k (Ens*k − Indep*k: born-again ensembling vs an ensemble of the teacher and
   k−1 independently trained networks of the same architecture, paired by seed). Ours.
8. Students are better calibrated than their teachers, one claim per score (test ECE, test NLL):
   every BAN generation vs its own teacher (BAN-k − BAN-(k−1), k = 1..K; each row a paired test
   of independent trainings). Ours; image studies only.

``randomness`` states what the intervals cover, from the members' ``dataset_spec``: training
randomness (initialisation, batch order, augmentation, the objective's draws) always, the choice of
training images only with ``dataset.subset_seed: per_seed``, never the test set (every seed is
scored on the same test images).

``claims(paths, equivalence_margin=None)`` returns the claims as a dict (the ``claims.json``
content); ``write_claims(paths, out_dir, equivalence_margin=None)`` writes ``claims.json`` and
``claims.md`` (the family size, a summary, then one short table per claim: lineage, comparison, Δ,
interval, wins/seeds, p, verdict, p (Holm), verdict (Holm), what the interval rules out, MDE).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Iterable

from ban.member_kinds import CONTROLS, TEACHER, column_label, column_sort_key, ensemble_size, generation_of, kind_of
from ban.report.frame import lineage_order, load_metrics, read_metrics, single_study
from ban.report.markdown import table_lines
from ban.report.stats import ALPHA, LEVEL, POWER, holm, paired
from ban.tasks import get_task

__all__ = ["BEST_BAN_MIN_SEEDS", "HOLDS", "NOT_SHOWN", "NOT_TESTED", "NO_EFFECT", "POOLED", "REVERSED", "VERDICTS", "Claim",
           "Row", "claims", "no_effect", "randomness", "verdict", "verdict_holm", "write_claims"]

BEST_BAN_MIN_SEEDS = 4
"""Seeds the best-BAN claim needs: half to choose the generation, half (at least 2) to test it."""
HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED = "holds", "not shown", "reversed", "not tested"
VERDICTS = (HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED)
NO_EFFECT = "no effect larger than"
POOLED = "pooled"
RULE = ("holds: the 95% t-interval of the mean paired difference (claimed-better − other, lower is better) lies below 0; "
        "reversed: it lies above 0; not shown: it contains 0, or one seed (no interval); "
        "not tested: a member the claim needs is missing")
RULE_EQUIVALENCE = "; no effect larger than X: the interval contains 0 and lies within [−X, +X] (X: the equivalence margin)"
RULE_HOLM = ("verdict_holm: holds when p_holm < 0.05 and the mean < 0, reversed when p_holm < 0.05 and the mean > 0, "
             "otherwise not shown (not tested as verdict); p_holm: Holm's step-down adjustment of the two-sided paired "
             "t-test p-values over the family of every row with a p-value (lineage and pooled rows, all claims)")
_HEADER = """Each row tests one comparison *a − b* on the seeds both members ran, for a score where lower is better
({score} unless the claim names another):

- **Δ**: mean over seeds of the paired difference a − b; negative means *a* is better, as the claim says.
- **95% interval**: Student-t interval of that mean, Δ ± t(0.975, n−1) · sd / √n; none with one seed.
- **Wins/seeds**: seeds in which *a* scored strictly lower than *b* (ties counted apart).
- **p**: two-sided paired t-test of Δ = 0; none with one seed (0 when every difference is the same nonzero value).
- **Verdict**: **holds** — the interval lies entirely below 0 (the claim's direction); **reversed** — entirely
  above 0;{equivalence} *not shown* — it contains 0, or there is one seed (no interval); *not tested* — a member
  the claim needs is missing. Decided per comparison, at 5%.
- **p (Holm)**, **Verdict (Holm)**: Holm's step-down adjustment of p over the family of the {family} rows with a
  p-value in this file (lineage and pooled rows of every claim); **holds** — p (Holm) < 0.05 and Δ < 0,
  **reversed** — p (Holm) < 0.05 and Δ > 0, *not shown* — otherwise. These verdicts hold family-wise at 5%.
- **Rules out**: the largest gain (Δ below 0) and loss (Δ above 0) the interval leaves possible: "gain > 0.25"
  means it rules out that *a* beats *b* by more than 0.25; "any gain" means it lies entirely above 0.
- **MDE**: minimum detectable effect, the smallest |Δ| that a paired t-test at 5% with these seeds detects with
  {power:.0%} power at the observed sd of the differences.
- **pooled** rows average, within each seed, the differences of the lineages that test the comparison (lineages share
  seeds and the test set, so they are not independent), then test those per-seed means (n = seeds).
- **best BAN**: the generation is chosen on the first half of the seeds (sorted) and tested on the other half, never on
  the seeds it was chosen on; not tested with fewer than 4 seeds."""
SCORE_LABELS = {"test_ece": "test ECE (%)", "test_nll": "test NLL (nats)"}
_DECIMALS = {"test_nll": 3}


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
    chosen_on: list = field(default_factory=list)  # best BAN: the seeds its generation was chosen on


@dataclass
class Claim:
    """A claim: ``id``, its ``text``, the ``score`` it is tested on, its rows, and a ``note``
    (``not tested: ...`` when no lineage could test it)."""

    id: str
    text: str
    score: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""


def no_effect(margin: float) -> str:
    """The equivalence verdict for margin X: ``"no effect larger than X"`` (X in ``%g``)."""
    return f"{NO_EFFECT} {margin:g}"


def _check_margin(margin: float | None) -> None:
    if margin is not None and not (math.isfinite(margin) and margin > 0):
        raise ValueError(f"the equivalence margin must be a positive number; got {margin}")


def verdict(low: float | None, high: float | None, n: int, margin: float | None = None) -> str:
    """The per-comparison verdict of an interval (``None`` bounds: one seed) of ``n`` paired
    differences: not tested (n = 0), not shown (no interval), holds (high < 0), reversed (low > 0),
    ``no_effect(margin)`` (−margin ≤ low ≤ 0 ≤ high ≤ margin, only with a margin), else not shown."""
    _check_margin(margin)
    if n == 0:
        return NOT_TESTED
    if low is None or high is None:
        return NOT_SHOWN
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


def _evidence(row: Row, diffs: dict[int, float]) -> Row:
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


def _decide(rows: list[Row], margin: float | None) -> int:
    """Set every row's per-comparison verdict (with ``margin``) and its Holm-adjusted ``p_holm`` and
    ``verdict_holm`` over the family of the rows with a p-value; return the family size."""
    family = [row for row in rows if row.p_value is not None]
    for row, adjusted in zip(family, holm([row.p_value for row in family])):
        row.p_holm = adjusted
    for row in rows:
        row.verdict = verdict(row.low, row.high, row.n, margin)
        row.verdict_holm = verdict_holm(row.mean, row.p_holm, row.n)
    return len(family)


class _Study:
    """Scores per (lineage, column) and seed, and each ensemble's members, of one study."""

    def __init__(self, paths: list[Path]):
        self.frame = load_metrics(paths)
        self.name, self.task = single_study(self.frame)
        self.lineages = lineage_order(self.frame)
        self.columns = {lineage: set(self.frame.loc[self.frame["lineage"] == lineage, "column"]) for lineage in self.lineages}
        self.members: dict[tuple[str, str], dict[int, list[str]]] = {}
        self.datasets: list[dict] = []  # the teachers' dataset specs
        for lineage, seed, member, path in zip(self.frame["lineage"], self.frame["seed"], self.frame["member"], self.frame["path"]):
            if kind_of(member).role == "ensemble":
                listed = read_metrics(path).get("members")
                if isinstance(listed, list):
                    self.members.setdefault((lineage, column_label(member)), {})[int(seed)] = [str(m) for m in listed]
            elif member == "gen0" and isinstance(spec := read_metrics(path).get("dataset_spec"), dict):
                self.datasets.append(spec)

    def scores(self, lineage: str, column: str, key: str) -> dict[int, float]:
        rows = self.frame[(self.frame["lineage"] == lineage) & (self.frame["column"] == column)]
        return {int(seed): float(value) for seed, value in zip(rows["seed"], rows[key]) if not math.isnan(value)}

    def has(self, column: str) -> bool:
        return any(column in columns for columns in self.columns.values())

    def compare(self, lineage: str, a: str, b: str, key: str, comparison: str | None = None,
                seeds: Iterable[int] | None = None) -> Row:
        """``a − b`` in ``lineage`` over the seeds both ran (restricted to ``seeds`` if given)."""
        row = Row(lineage, comparison or f"{a} − {b}", a, b)
        missing = [c for c in (a, b) if c not in self.columns[lineage]]
        if missing:
            row.note = f"lineage has no {' and no '.join(missing)}"
            return row
        score_a, score_b = self.scores(lineage, a, key), self.scores(lineage, b, key)
        allowed = set(score_a) if seeds is None else set(seeds)
        return _evidence(row, {s: score_a[s] - score_b[s] for s in score_a if s in score_b and s in allowed})

    def generations(self, lineage: str) -> list[int]:
        return sorted(k for c in self.columns[lineage] if (k := generation_of(c)) is not None and k >= 1)


def randomness(dataset_specs: list[dict]) -> str:
    """What the intervals cover, from the teachers' dataset specs (``dataset_spec`` in metrics.json)."""
    subsets = {spec.get("train_subset", 0) for spec in dataset_specs}
    drawn = any(spec.get("subset_seed", "first") != "first" for spec in dataset_specs)
    size = f"{next(iter(subsets)):,} " if len(subsets) == 1 and 0 not in subsets else ""
    test = "every seed is scored on the same test images, so they do not cover the sampling of the test set"
    if drawn:
        return (f"The intervals cover training randomness (initialisation, batch order, augmentation, the objective's draws) "
                f"and the choice of training data: each seed trains on its own class-stratified draw of {size}training "
                f"images (dataset.subset_seed: per_seed); {test}.")
    images = f"the same first {size}training images" if size else "the same training images"
    return (f"The intervals cover training randomness only (initialisation, batch order, augmentation, the objective's "
            f"draws): every seed trains on {images}, so they do not cover the choice of training data, and {test}.")


def _pool(rows: list[Row]) -> list[Row]:
    """The lineage rows, each comparison followed (when ≥ 2 lineages test it) by its pooled row:
    per seed the mean of the tested lineages' differences in that seed, tested over the seeds."""
    out: list[Row] = []
    order: list[str] = []
    for row in rows:
        if row.comparison not in order:
            order.append(row.comparison)
    for comparison in order:
        group = [row for row in rows if row.comparison == comparison]
        out += group
        tested = [row for row in group if row.n > 0]
        if len(tested) >= 2:
            pooled = Row(POOLED, comparison, tested[0].a if len({r.a for r in tested}) == 1 else "various",
                         tested[0].b if len({r.b for r in tested}) == 1 else "various")
            by_seed: dict[int, list[float]] = {}
            for row in tested:
                for seed, d in zip(row.seeds, row.differences):
                    by_seed.setdefault(seed, []).append(d)
            _evidence(pooled, {seed: fmean(values) for seed, values in by_seed.items()})
            pooled.note = f"per-seed means over {len(tested)} lineages ({', '.join(row.lineage for row in tested)})"
            out.append(pooled)
    return out


def _claim(study: _Study, claim: Claim, needs: Iterable[str], build) -> Claim:
    """Fill ``claim`` with ``build()``'s lineage rows, or say which members the study lacks."""
    absent = [column for column in needs if not study.has(column)]
    if absent:
        claim.note = f"not tested: the study has no {' and no '.join(absent)}"
        return claim
    rows = build()
    claim.rows = _pool(rows)
    if not rows:
        claim.note = "not tested: no lineage has the members this claim needs"
    return claim


def _claims(study: _Study) -> list[Claim]:
    primary = get_task(study.task).primary
    result = []
    lineages = study.lineages

    result.append(_claim(study, Claim("ban1_beats_teacher", "BAN-1 beats its teacher", primary), ["BAN-1", TEACHER],
                         lambda: [study.compare(lin, "BAN-1", TEACHER, primary) for lin in lineages]))

    max_k = max((max(study.generations(lin), default=0) for lin in lineages), default=0)

    def successive() -> list[Row]:
        rows = []
        for k in range(2, max_k + 1):
            rows += [study.compare(lin, f"BAN-{k}", f"BAN-{k - 1}", primary) for lin in lineages
                     if f"BAN-{k - 1}" in study.columns[lin] or f"BAN-{k}" in study.columns[lin]]
        return rows

    result.append(_claim(study, Claim("ban_k_beats_previous", "Each BAN-k beats BAN-(k−1)", primary), ["BAN-2"], successive))

    def best() -> list[Row]:
        rows = []
        for lin in lineages:
            seeds = sorted(set(study.scores(lin, TEACHER, primary)) & set(study.scores(lin, "BAN-1", primary)))
            if not study.generations(lin):
                rows.append(Row(lin, "best BAN − Teacher", "BAN-k", TEACHER, note="lineage has no BAN generation"))
                continue
            if len(seeds) < BEST_BAN_MIN_SEEDS:
                rows.append(Row(lin, "best BAN − Teacher", "BAN-k", TEACHER,
                                note=f"{len(seeds)} seeds; choosing the generation on half of the seeds and testing it on "
                                     f"the other half needs {BEST_BAN_MIN_SEEDS}"))
                continue
            chosen_on, tested_on = seeds[: len(seeds) // 2], seeds[len(seeds) // 2 :]
            means = {}
            for k in study.generations(lin):
                scores = study.scores(lin, f"BAN-{k}", primary)
                if all(s in scores for s in chosen_on):
                    means[k] = fmean(scores[s] for s in chosen_on)
            k = min(means, key=lambda g: (means[g], g))
            row = study.compare(lin, f"BAN-{k}", TEACHER, primary, comparison="best BAN − Teacher", seeds=tested_on)
            row.chosen_on = chosen_on
            rows.append(row)
        return rows

    result.append(_claim(study, Claim("best_ban_beats_teacher", "The best BAN beats the teacher", primary),
                         ["BAN-1", TEACHER], best))

    ban_l = CONTROLS["ban_l"].label
    result.append(_claim(study, Claim("ban_l_beats_teacher", f"{ban_l} beats the teacher", primary), [ban_l, TEACHER],
                         lambda: [study.compare(lin, ban_l, TEACHER, primary) for lin in lineages if ban_l in study.columns[lin]]))

    for name, control in CONTROLS.items():
        if name == "ban_l":
            continue
        label = control.label

        def build(label=label) -> list[Row]:
            present = [lin for lin in lineages if label in study.columns[lin]]
            return ([study.compare(lin, label, TEACHER, primary) for lin in present]
                    + [study.compare(lin, "BAN-1", label, primary) for lin in present])

        result.append(_claim(study, Claim(f"{name}_beats_teacher_short_of_ban1",
                                          f"{label} beats the teacher and falls short of BAN-1", primary),
                             [label, TEACHER], build))

    ensembles = sorted({c for cols in study.columns.values() for c in cols if ensemble_size(c) is not None}, key=column_sort_key)

    def members() -> list[Row]:
        rows = []
        for ens in ensembles:
            for lin in lineages:
                listed = study.members.get((lin, ens), {})
                names = []
                for seed_members in listed.values():
                    names += [m for m in seed_members if m not in names]
                for member in sorted(names, key=lambda m: column_sort_key(column_label(m))):
                    seeds = [s for s, seed_members in listed.items() if member in seed_members]
                    rows.append(study.compare(lin, ens, column_label(member), primary, seeds=seeds))
        return rows

    result.append(_claim(study, Claim("ens_beats_members", "Ens*k beats each of its members", primary),
                         ensembles[:1] or ["Ens*k"], members))

    def versus_independent() -> list[Row]:
        rows = []
        for ens in ensembles:
            indep = f"Indep*{ensemble_size(ens)}"
            rows += [study.compare(lin, ens, indep, primary) for lin in lineages if ens in study.columns[lin]]
        return rows

    has_indep = any(ensemble_size(c, "indep") is not None for cols in study.columns.values() for c in cols)
    result.append(_claim(study, Claim("ens_beats_indep", "Ens*k beats Indep*k (ours)", primary),
                         (ensembles[:1] or ["Ens*k"]) + ([] if has_indep else ["Indep*k"]), versus_independent))

    for key in ("test_ece", "test_nll"):
        claim = Claim(f"students_better_calibrated_{key.removeprefix('test_')}",
                      f"Students are better calibrated than their teachers: {SCORE_LABELS[key]} (ours)", key)
        if study.task != "image":
            claim.note = f"not tested: calibration claims are tested on image studies ({study.task} studies carry no {key})"
            result.append(claim)
            continue

        def calibration(key=key) -> list[Row]:
            rows = []
            for k in range(1, max_k + 1):
                teacher = TEACHER if k == 1 else f"BAN-{k - 1}"
                rows += [study.compare(lin, f"BAN-{k}", teacher, key) for lin in lineages
                         if f"BAN-{k}" in study.columns[lin] or teacher in study.columns[lin]]
            return rows

        result.append(_claim(study, claim, ["BAN-1", TEACHER], calibration))
    return result


def claims(metrics_paths: Iterable[str | Path], equivalence_margin: float | None = None) -> dict:
    """The claims of one study's metrics files as a JSON-ready dict (see the module docstring);
    ``equivalence_margin`` X > 0 (in the score's units; None: no equivalence verdict) lets a row
    whose interval contains 0 and lies within [−X, +X] read ``no effect larger than X``.

    ``family_size`` counts the Holm family: every row, of every claim, with a p-value (n ≥ 2),
    lineage and pooled rows alike; ``p_holm`` is Holm's adjustment over exactly those rows (None
    for the others) and ``verdict_holm`` holds/reverses when p_holm < 0.05 and Δ < 0 / Δ > 0."""
    _check_margin(equivalence_margin)
    study = _Study([Path(p) for p in metrics_paths])
    spec = get_task(study.task)
    tested = _claims(study)
    family_size = _decide([row for claim in tested for row in claim.rows], equivalence_margin)
    return {
        "study": study.name,
        "task": study.task,
        "score": spec.primary,
        "score_label": spec.primary_label,
        "level": LEVEL,
        "power": POWER,
        "equivalence_margin": equivalence_margin,
        "family_size": family_size,
        "randomness": randomness(study.datasets),
        "rule": RULE + (RULE_EQUIVALENCE if equivalence_margin is not None else ""),
        "rule_holm": RULE_HOLM,
        "claims": [{**{k: v for k, v in asdict(claim).items() if k != "rows"}, "rows": [asdict(row) for row in claim.rows]}
                   for claim in tested],
    }


# ---------------------------------------------------------------------------------------------
# claims.md
# ---------------------------------------------------------------------------------------------


def _number(value: float | None, decimals: int) -> str:
    if value is None:
        return "—"
    text = f"{value:+.{decimals}f}"
    return f"+{0:.{decimals}f}" if float(text) == 0 else text


def _p(value: float | None) -> str:
    """A p-value: three decimals, ``<0.001`` below that, ``0`` when exactly 0, ``—`` when none."""
    if value is None:
        return "—"
    if value == 0:
        return "0"
    return "<0.001" if value < 0.001 else f"{value:.3f}"


def _rules_out(row: dict, decimals: int) -> str:
    """``gain > G, loss > L`` (magnitudes the interval rules out), ``any gain``/``any loss`` for 0."""
    if row["rules_out_gain"] is None:
        return "—"
    parts = []
    for word, value in (("gain", row["rules_out_gain"]), ("loss", row["rules_out_loss"])):
        parts.append(f"any {word}" if value == 0 else f"{word} > {value:.{decimals}f}")
    return ", ".join(parts)


def _bold(verdict_text: str) -> str:
    return verdict_text if verdict_text in (NOT_SHOWN, NOT_TESTED) else f"**{verdict_text}**"


COLUMNS = ["Lineage", "Comparison", "Δ", "95% interval", "Wins/seeds", "p", "Verdict", "p (Holm)", "Verdict (Holm)",
           "Rules out", "MDE"]


def _row_cells(row: dict, decimals: int) -> list[str]:
    if row["n"] == 0:
        tested = f"{NOT_TESTED}: {row['note']}" if row["note"] else NOT_TESTED
        return [row["lineage"], row["comparison"], "—", "—", "—", "—", tested, "—", "—", "—", "—"]
    comparison = row["comparison"]
    if row["lineage"] != POOLED and comparison != f"{row['a']} − {row['b']}":
        chosen = f", chosen on seeds {', '.join(map(str, row['chosen_on']))}" if row.get("chosen_on") else ""
        comparison += f" ({row['a']}{chosen})"
    interval = "—" if row["low"] is None else f"[{_number(row['low'], decimals)}, {_number(row['high'], decimals)}]"
    wins = f"{row['wins']}/{row['n']}" + (f" ({row['ties']} tie{'s' if row['ties'] > 1 else ''})" if row["ties"] else "")
    mde = "—" if row["mde"] is None else f"{row['mde']:.{decimals}f}"
    return [row["lineage"], comparison, _number(row["mean"], decimals), interval, wins, _p(row["p_value"]),
            _bold(row["verdict"]), _p(row["p_holm"]), _bold(row["verdict_holm"]), _rules_out(row, decimals), mde]


def _counts(rows: list[dict], key: str) -> str:
    """``"2 holds, 1 not shown"``: how many ``rows`` have each verdict under ``key``, in a fixed order."""
    words = [HOLDS, *sorted({r[key] for r in rows} - set(VERDICTS)), NOT_SHOWN, REVERSED, NOT_TESTED]
    return ", ".join(f"{sum(r[key] == v for r in rows)} {v}" for v in words if any(r[key] == v for r in rows))


def claims_markdown(result: dict) -> str:
    """``claims.md``: the family size and method, the rules, a summary of verdicts per claim (per
    comparison and Holm-adjusted), one table per claim."""
    margin = result.get("equivalence_margin")
    equivalence = (f" **{no_effect(margin)}** — the interval contains 0 and lies within ±{margin:g} (the study's"
                   " equivalence margin);" if margin is not None else "")
    family = result["family_size"]
    lines = [f"# Claims tested on study `{result['study']}`", "",
             f"Family: {family} comparison{'s' if family != 1 else ''}; Holm-adjusted verdicts at "
             f"{1 - result['level']:.0%}. Equivalence margin: {'none' if margin is None else f'{margin:g}'}.", "",
             result["randomness"], "",
             _HEADER.format(score=f"{result['score_label']}, `{result['score']}`", equivalence=equivalence, family=family,
                            power=result["power"]),
             "", "## Summary", ""]
    summary = []
    for number, claim in enumerate(result["claims"], 1):
        lineage_rows = [row for row in claim["rows"] if row["lineage"] != POOLED]
        pooled = [row for row in claim["rows"] if row["lineage"] == POOLED]
        if claim["note"] and not lineage_rows:
            cells = [claim["note"], "—"]
        else:
            cells = [_counts(lineage_rows, key) + (f"; pooled: {_counts(pooled, key)}" if pooled else "")
                     for key in ("verdict", "verdict_holm")]
        summary.append([str(number), claim["text"], *cells])
    lines += table_lines(["#", "Claim", "Verdicts (lineage rows; pooled rows)", "Holm-adjusted verdicts"], summary)
    for number, claim in enumerate(result["claims"], 1):
        decimals = _DECIMALS.get(claim["score"], 2)
        lines += ["", f"## {number}. {claim['text']}", ""]
        if claim["score"] != result["score"]:
            lines += [f"Score: {SCORE_LABELS.get(claim['score'], claim['score'])} (`{claim['score']}`).", ""]
        if claim["note"]:
            lines += [claim["note"]] + ([""] if claim["rows"] else [])
        if claim["rows"]:
            lines += table_lines(COLUMNS, [_row_cells(row, decimals) for row in claim["rows"]])
    return "\n".join(lines).rstrip("\n") + "\n"


def write_claims(metrics_paths: Iterable[str | Path], out_dir: str | Path, equivalence_margin: float | None = None) -> list[Path]:
    """Write ``claims.json`` and ``claims.md`` of ``claims(metrics_paths, equivalence_margin)`` into
    ``out_dir`` (created); return their paths."""
    result = claims(metrics_paths, equivalence_margin=equivalence_margin)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "claims.json", out_dir / "claims.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(claims_markdown(result), encoding="utf-8")
    return [md_path, json_path]
