"""The paper's claims, one registered function each, tested on one study (pandas, numpy, SciPy; no torch).

A claim is a function ``rows_of(study, score) -> list[Row]`` registered with ``@register_claim(id,
text, score=None)`` in ``CLAIMS`` (in the order claims.json and claims.md list them); each row
compares, per lineage, a member the claim says is better (*a*) with another (*b*) on a score where
lower is better (``score``; None: the task's primary score), and ``ban.report.verdicts`` gives
its evidence and verdicts. A function raises ``NotTested`` when the study cannot test its claim.
``claims_of(metrics_paths, equivalence_margin=None)`` evaluates every registered claim on one
study and returns the ``claims.json`` content. What each claim tests and the statistics:
docs/method.md (the claims).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from statistics import fmean
from typing import Callable, Iterable

from ban.member_kinds import CONTROLS, TEACHER, column_label, column_sort_key, ensemble_size, generation_of, kind_of
from ban.report.frame import lineage_order, load_metrics, read_metrics, single_study
from ban.report.stats import LEVEL, POWER
from ban.report.verdicts import RULE, RULE_EQUIVALENCE, RULE_HOLM, Row, check_margin, decide, evidence, pool
from ban.tasks import get_task

__all__ = ["BEST_BAN_MIN_SEEDS", "CLAIMS", "SCORE_LABELS", "ClaimDefinition", "ClaimResult", "NotTested", "StudyScores",
           "claims_of", "evaluate_claim", "randomness", "register_claim"]

BEST_BAN_MIN_SEEDS = 4
"""Seeds the best-BAN claim needs: half to choose the generation, half (at least 2) to test it."""
SCORE_LABELS = {"test_ece": "test ECE (%)", "test_nll": "test NLL (nats)"}
"""The names of the scores a claim may name instead of the task's primary one."""


class NotTested(Exception):
    """Raised by a claim's function when the study cannot test the claim; the message says why."""


class StudyScores:
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

    def require(self, *columns: str) -> None:
        """Raise ``NotTested`` naming the ``columns`` that no lineage of the study has."""
        absent = [column for column in columns if not self.has(column)]
        if absent:
            raise NotTested(f"the study has no {' and no '.join(absent)}")

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
        return evidence(row, {s: score_a[s] - score_b[s] for s in score_a if s in score_b and s in allowed})

    def generations(self, lineage: str) -> list[int]:
        return sorted(k for c in self.columns[lineage] if (k := generation_of(c)) is not None and k >= 1)

    def max_generation(self) -> int:
        """The largest BAN generation k of any lineage (0: none)."""
        return max((max(self.generations(lin), default=0) for lin in self.lineages), default=0)

    def ensembles(self) -> list[str]:
        """The study's Ens*k columns, in column order."""
        return sorted({c for cols in self.columns.values() for c in cols if ensemble_size(c) is not None}, key=column_sort_key)


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


# ---------------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimDefinition:
    """A registered claim: ``id`` (its key in claims.json), ``text``, the ``score`` it is tested on
    (None: the task's primary score) and ``rows_of(study, score)``, its lineage rows."""

    id: str
    text: str
    rows_of: Callable[[StudyScores, str], list[Row]]
    score: str | None = None


@dataclass
class ClaimResult:
    """A claim tested on one study: ``id``, ``text``, ``score``, its rows (lineage rows, each
    comparison followed by its pooled row), and a ``note`` (``not tested: ...`` when it has no row)."""

    id: str
    text: str
    score: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""


CLAIMS: dict[str, ClaimDefinition] = {}
"""The registered claims by id, in registration order (the order of claims.json and claims.md)."""


def register_claim(claim_id: str, text: str, *, score: str | None = None):
    """Decorator registering ``rows_of(study, score) -> list[Row]`` as claim ``claim_id`` (see :class:`ClaimDefinition`)."""

    def add(rows_of: Callable[[StudyScores, str], list[Row]]) -> Callable[[StudyScores, str], list[Row]]:
        if claim_id in CLAIMS:
            raise ValueError(f"claim {claim_id!r} is registered twice")
        CLAIMS[claim_id] = ClaimDefinition(claim_id, text, rows_of, score)
        return rows_of

    return add


def evaluate_claim(definition: ClaimDefinition, study: StudyScores) -> ClaimResult:
    """The claim's rows on ``study``, pooled (``ban.report.verdicts.pool``), or a note saying why it is not tested."""
    result = ClaimResult(definition.id, definition.text, definition.score or get_task(study.task).primary)
    try:
        rows = definition.rows_of(study, result.score)
    except NotTested as reason:
        result.note = f"not tested: {reason}"
        return result
    result.rows = pool(rows)
    if not rows:
        result.note = "not tested: no lineage has the members this claim needs"
    return result


def claims_of(metrics_paths: Iterable[str | Path], equivalence_margin: float | None = None) -> dict:
    """Every registered claim tested on one study's metrics files, as a JSON-ready dict (the
    ``claims.json`` content); ``equivalence_margin`` X > 0 (in the score's units; None: no
    equivalence verdict) lets a row whose interval contains 0 and lies within [−X, +X] read
    ``no effect larger than X``. ``family_size`` counts the Holm family (``ban.report.verdicts.decide``):
    every row, of every claim, with a p-value."""
    check_margin(equivalence_margin)
    study = StudyScores([Path(p) for p in metrics_paths])
    spec = get_task(study.task)
    tested = [evaluate_claim(definition, study) for definition in CLAIMS.values()]
    family_size = decide([row for claim in tested for row in claim.rows], equivalence_margin)
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
# The claims, in the order claims.md numbers them
# ---------------------------------------------------------------------------------------------


@register_claim("ban1_beats_teacher", "BAN-1 beats its teacher")
def ban1_beats_teacher(study: StudyScores, score: str) -> list[Row]:
    """BAN-1 − Teacher in every lineage."""
    study.require("BAN-1", TEACHER)
    return [study.compare(lin, "BAN-1", TEACHER, score) for lin in study.lineages]


@register_claim("ban_k_beats_previous", "Each BAN-k beats BAN-(k−1)")
def ban_k_beats_previous(study: StudyScores, score: str) -> list[Row]:
    """BAN-k − BAN-(k−1), k = 2..K, in the lineages that have either."""
    study.require("BAN-2")
    rows = []
    for k in range(2, study.max_generation() + 1):
        rows += [study.compare(lin, f"BAN-{k}", f"BAN-{k - 1}", score) for lin in study.lineages
                 if f"BAN-{k - 1}" in study.columns[lin] or f"BAN-{k}" in study.columns[lin]]
    return rows


@register_claim("best_ban_beats_teacher", "The best BAN beats the teacher")
def best_ban_beats_teacher(study: StudyScores, score: str) -> list[Row]:
    """best BAN − Teacher: the BAN-k with the lowest mean on the first half of the (sorted) seeds
    (ties: the lower k), tested on the second half; not tested with fewer than BEST_BAN_MIN_SEEDS."""
    study.require("BAN-1", TEACHER)
    rows = []
    for lin in study.lineages:
        seeds = sorted(set(study.scores(lin, TEACHER, score)) & set(study.scores(lin, "BAN-1", score)))
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
            scores = study.scores(lin, f"BAN-{k}", score)
            if all(s in scores for s in chosen_on):
                means[k] = fmean(scores[s] for s in chosen_on)
        k = min(means, key=lambda g: (means[g], g))
        row = study.compare(lin, f"BAN-{k}", TEACHER, score, comparison="best BAN − Teacher", seeds=tested_on)
        row.chosen_on = chosen_on
        rows.append(row)
    return rows


_BAN_L = CONTROLS["ban_l"].label


@register_claim("ban_l_beats_teacher", f"{_BAN_L} beats the teacher")
def ban_l_beats_teacher(study: StudyScores, score: str) -> list[Row]:
    """BAN+L − Teacher in the lineages that train BAN+L."""
    study.require(_BAN_L, TEACHER)
    return [study.compare(lin, _BAN_L, TEACHER, score) for lin in study.lineages if _BAN_L in study.columns[lin]]


def control_beats_teacher_short_of_ban1(study: StudyScores, score: str, *, label: str) -> list[Row]:
    """control − Teacher, then BAN-1 − control, in the lineages that train the control ``label``."""
    study.require(label, TEACHER)
    present = [lin for lin in study.lineages if label in study.columns[lin]]
    return ([study.compare(lin, label, TEACHER, score) for lin in present]
            + [study.compare(lin, "BAN-1", label, score) for lin in present])


for _name, _control in CONTROLS.items():  # one claim per control of ban.member_kinds.CONTROLS but BAN+L
    if _name != "ban_l":
        register_claim(f"{_name}_beats_teacher_short_of_ban1", f"{_control.label} beats the teacher and falls short of BAN-1")(
            partial(control_beats_teacher_short_of_ban1, label=_control.label))


@register_claim("ens_beats_members", "Ens*k beats each of its members")
def ens_beats_members(study: StudyScores, score: str) -> list[Row]:
    """Ens*k − member, for each member its metrics.json lists, on the seeds that list it."""
    ensembles = study.ensembles()
    study.require(*(ensembles[:1] or ["Ens*k"]))
    rows = []
    for ens in ensembles:
        for lin in study.lineages:
            listed = study.members.get((lin, ens), {})
            names = []
            for seed_members in listed.values():
                names += [m for m in seed_members if m not in names]
            for member in sorted(names, key=lambda m: column_sort_key(column_label(m))):
                seeds = [s for s, seed_members in listed.items() if member in seed_members]
                rows.append(study.compare(lin, ens, column_label(member), score, seeds=seeds))
    return rows


@register_claim("ens_beats_indep", "Ens*k beats Indep*k (ours)")
def ens_beats_indep(study: StudyScores, score: str) -> list[Row]:
    """Ens*k − Indep*k in the lineages that have the Ens*k."""
    ensembles = study.ensembles()
    has_indep = any(ensemble_size(c, "indep") is not None for cols in study.columns.values() for c in cols)
    study.require(*(ensembles[:1] or ["Ens*k"]), *([] if has_indep else ["Indep*k"]))
    rows = []
    for ens in ensembles:
        indep = f"Indep*{ensemble_size(ens)}"
        rows += [study.compare(lin, ens, indep, score) for lin in study.lineages if ens in study.columns[lin]]
    return rows


def students_better_calibrated(study: StudyScores, score: str) -> list[Row]:
    """BAN-k − BAN-(k−1), k = 1..K (BAN-0: the Teacher), on a calibration score; image studies only."""
    if study.task != "image":
        raise NotTested(f"calibration claims are tested on image studies ({study.task} studies carry no {score})")
    study.require("BAN-1", TEACHER)
    rows = []
    for k in range(1, study.max_generation() + 1):
        teacher = TEACHER if k == 1 else f"BAN-{k - 1}"
        rows += [study.compare(lin, f"BAN-{k}", teacher, score) for lin in study.lineages
                 if f"BAN-{k}" in study.columns[lin] or teacher in study.columns[lin]]
    return rows


for _score in ("test_ece", "test_nll"):
    register_claim(f"students_better_calibrated_{_score.removeprefix('test_')}",
                   f"Students are better calibrated than their teachers: {SCORE_LABELS[_score]} (ours)",
                   score=_score)(students_better_calibrated)
