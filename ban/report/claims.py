"""The paper's claims, one registered function each, tested on one study (pandas, numpy, SciPy; no torch).

A claim is a function ``rows_of(study, score) -> list[Row]`` registered with ``@register_claim(id,
text, score=None)`` in ``CLAIMS`` (in the order claims.json and claims.md list them); each row
compares, per lineage, a member the claim says is better (*a*) with another (*b*) on a score where
lower is better (``score``; None: the task's primary score), and ``ban.report.verdicts`` gives
its evidence and verdicts. A function raises ``NotTested`` when the study cannot test its claim.
``claims_of(metrics_paths, equivalence_margin=None)`` evaluates every registered claim on one
study and returns the ``claims.json`` content; ``StudyScores.seed_rows`` are its per-seed data
(``scores.csv``). Choices a claim makes (the tuned label-only baseline, the best BAN) are made on
the validation score (``VAL_KEYS``) and never on the test set, except the best BAN of a lineage
without validation scores (half of the seeds' test error, tested on the other half). A compared
member that collapsed (``collapsed`` in its metrics.json) is listed in the row's ``collapsed``.
What each claim tests and the statistics: docs/method.md (the claims).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from statistics import fmean
from typing import Callable, Iterable

from ban.member_kinds import CONTROLS, TEACHER, column_label, column_sort_key, ensemble_size, generation_of, kind_of, kind_of_column
from ban.report.frame import is_number, lineage_order, load_metrics, read_metrics, single_study
from ban.report.stats import LEVEL, POWER
from ban.report.verdicts import RULE, RULE_EQUIVALENCE, RULE_HOLM, Row, check_margin, decide, evidence, pool
from ban.tasks import get_task

__all__ = ["BEST_BAN_MIN_SEEDS", "CLAIMS", "SCORE_LABELS", "SEED_KEYS", "TUNED", "VAL_KEYS", "BestBan", "ClaimDefinition",
           "ClaimResult", "NotTested", "StudyScores", "claims_of", "evaluate_claim", "randomness", "register_claim", "study_claims"]

BEST_BAN_MIN_SEEDS = 4
"""Seeds the best-BAN claim needs without validation scores: half to choose the generation, half (at least 2) to test it."""
SCORE_LABELS = {"test_ece": "test ECE (%)", "test_nll": "test NLL (nats)"}
"""The names of the scores a claim may name instead of the task's primary one."""
VAL_KEYS = {"image": "val_error", "text": "val_ppl"}
"""Per task, the validation score (lower is better) that the tuned baseline and the best BAN are chosen on."""
SEED_KEYS = ("train_error", "train_error_clean", "noise_memorised", "teacher_max_prob")
"""metrics.json keys that scores.csv gives beside the task's test and validation scores."""
TUNED = "Tuned"
"""The name comparisons give the tuned label-only baseline (``StudyScores.tuned_choice``)."""


class NotTested(Exception):
    """Raised by a claim's function when the study cannot test the claim; the message says why."""


class StudyScores:
    """Scores per (lineage, column) and seed, and each ensemble's members, of one study."""

    def __init__(self, paths: list[Path]):
        self.frame = load_metrics(paths)
        self.name, self.task = single_study(self.frame)
        self.val_key = VAL_KEYS[self.task]
        self.lineages = lineage_order(self.frame)
        self.columns = {lineage: set(self.frame.loc[self.frame["lineage"] == lineage, "column"]) for lineage in self.lineages}
        self.members: dict[tuple[str, str], dict[int, list[str]]] = {}
        self.datasets: list[dict] = []  # the teachers' dataset specs
        self.records: dict[tuple[str, str, int], dict] = {}  # (lineage, column, seed) -> its metrics.json
        self._by_column: dict[tuple[str, str], dict[int, dict]] = {}  # (lineage, column) -> seed -> its metrics.json
        for lineage, seed, member, path in zip(self.frame["lineage"], self.frame["seed"], self.frame["member"], self.frame["path"]):
            record = read_metrics(path)
            record.pop("history", None)
            self.records[(lineage, column_label(member), int(seed))] = record
            self._by_column.setdefault((lineage, column_label(member)), {})[int(seed)] = record
            if kind_of(member).role == "ensemble":
                listed = record.get("members")
                if isinstance(listed, list):
                    self.members.setdefault((lineage, column_label(member)), {})[int(seed)] = [str(m) for m in listed]
            elif member == "gen0" and isinstance(spec := record.get("dataset_spec"), dict):
                self.datasets.append(spec)
        self._best: dict[tuple[str, str], BestBan | str] = {}
        self.tuned = {lin: choice for lin in self.lineages if isinstance(choice := self.tuned_choice(lin), dict)}
        """The tuned label-only baseline of each lineage that has one (``tuned_choice``): claims.json's ``tuned``."""

    def scores(self, lineage: str, column: str, key: str) -> dict[int, float]:
        """Seed → the number ``key`` of the member ``column`` of ``lineage`` (seeds without it are left out)."""
        return {seed: float(value) for seed, record in self._by_column.get((lineage, column), {}).items()
                if is_number(value := record.get(key)) and not math.isnan(value)}

    def val(self, lineage: str, column: str) -> dict[int, float]:
        """Seed → the validation score (``VAL_KEYS``) of ``column`` in ``lineage``."""
        return self.scores(lineage, column, self.val_key)

    def collapsed(self, lineage: str, column: str) -> set[int]:
        """The seeds in which the member ``column`` of ``lineage`` collapsed (``collapsed: true`` in its metrics.json)."""
        return {seed for seed, record in self._by_column.get((lineage, column), {}).items() if record.get("collapsed") is True}

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
        evidence(row, {s: score_a[s] - score_b[s] for s in score_a if s in score_b and s in allowed})
        collapsed = {column: self.collapsed(lineage, column) for column in (a, b)}
        row.collapsed = [{"seed": s, "column": column} for s in row.seeds for column in (a, b) if s in collapsed[column]]
        return row

    def generations(self, lineage: str) -> list[int]:
        return sorted(k for c in self.columns[lineage] if (k := generation_of(c)) is not None and k >= 1)

    def max_generation(self) -> int:
        """The largest BAN generation k of any lineage (0: none)."""
        return max((max(self.generations(lin), default=0) for lin in self.lineages), default=0)

    def ensembles(self) -> list[str]:
        """The study's Ens*k columns, in column order."""
        return sorted({c for cols in self.columns.values() for c in cols if ensemble_size(c) is not None}, key=column_sort_key)

    def tuning_columns(self, lineage: str) -> list[str]:
        """The lineage's Tune-i columns, in grid order."""
        return sorted((c for c in self.columns[lineage] if kind_of_column(c).role == "tuning"), key=column_sort_key)

    def tuned_choice(self, lineage: str) -> dict | str:
        """The tuned label-only baseline of ``lineage``: of the candidates Teacher, Tune-1..N, the one
        with the lowest mean validation score over the seeds where every candidate has one (ties: the
        first in that order), as ``{"column", "member", "setting" (its ``tuning_point``; {} for the
        Teacher: the study's recipe), "chosen_on": "validation", "seeds", "val" ({candidate: mean}),
        "test" (the chosen one's mean test score (the task's primary) over those seeds)}``; or a
        sentence saying why there is none."""
        tuning = self.tuning_columns(lineage)
        if not tuning:
            return "lineage has no tuning grid (Tune-i)"
        candidates = [TEACHER, *tuning]
        vals = {column: self.val(lineage, column) for column in candidates}
        seeds = sorted(set.intersection(*(set(v) for v in vals.values())))
        if not seeds:
            return f"no seed in which the Teacher and every Tune-i have a validation score ({self.val_key}) to choose on"
        means = {column: fmean(vals[column][s] for s in seeds) for column in candidates}
        chosen = min(candidates, key=lambda column: means[column])  # min keeps the first of equal means
        record = self.records[(lineage, chosen, seeds[0])]
        setting = record.get("tuning_point", {}) if chosen != TEACHER else {}
        test = self.scores(lineage, chosen, get_task(self.task).primary)
        return {"column": chosen, "member": record["member"], "setting": setting if isinstance(setting, dict) else {},
                "chosen_on": "validation", "seeds": seeds, "val": means,
                "test": fmean(test[s] for s in seeds) if all(s in test for s in seeds) else None}

    def best_ban(self, lineage: str, score: str) -> BestBan | str:
        """The best BAN of ``lineage`` (``BestBan``), or a sentence saying why there is none: where
        every BAN generation has validation scores, the BAN-k with the lowest mean validation score over
        the seeds where all of them have one (ties: the lower k), tested on every seed; else the BAN-k
        with the lowest mean ``score`` on the first half of the (sorted) seeds that the Teacher and
        BAN-1 ran (ties: the lower k), tested on the second half (at least ``BEST_BAN_MIN_SEEDS`` seeds)."""
        if (lineage, score) in self._best:
            return self._best[(lineage, score)]
        generations = self.generations(lineage)
        vals = {k: self.val(lineage, f"BAN-{k}") for k in generations}
        on_val = sorted(set.intersection(*(set(v) for v in vals.values()))) if generations else []
        if not generations:
            best: BestBan | str = "lineage has no BAN generation"
        elif on_val:
            means = {k: fmean(vals[k][s] for s in on_val) for k in generations}
            best = BestBan(min(generations, key=lambda g: (means[g], g)), "validation", None)
        else:
            seeds = sorted(set(self.scores(lineage, TEACHER, score)) & set(self.scores(lineage, "BAN-1", score)))
            if len(seeds) < BEST_BAN_MIN_SEEDS:
                best = (f"{len(seeds)} seeds; without validation scores, choosing the generation on half of the seeds and "
                        f"testing it on the other half needs {BEST_BAN_MIN_SEEDS}")
            else:
                chosen_on, tested_on = seeds[: len(seeds) // 2], seeds[len(seeds) // 2 :]
                means = {}
                for k in generations:
                    scores = self.scores(lineage, f"BAN-{k}", score)
                    if all(s in scores for s in chosen_on):
                        means[k] = fmean(scores[s] for s in chosen_on)
                best = BestBan(min(means, key=lambda g: (means[g], g)), chosen_on, tested_on)
        self._best[(lineage, score)] = best
        return best

    def seed_rows(self) -> tuple[list[str], list[list]]:
        """``scores.csv``: its header and one row per (lineage, seed, member) of every member, in
        lineage, seed and column order: lineage, seed, member, column, the task's test scores, its
        validation score, ``SEED_KEYS``, collapsed, tuning_point (JSON) and identity; None where a
        member has no such value."""
        test_keys = [key for key in get_task(self.task).score_keys if key.startswith("test_")]
        header = ["lineage", "seed", "member", "column", *test_keys, self.val_key, *SEED_KEYS, "collapsed", "tuning_point",
                  "identity"]
        rank = {lineage: i for i, lineage in enumerate(self.lineages)}
        rows = []
        for (lineage, column, seed), record in sorted(self.records.items(),
                                                      key=lambda item: (rank[item[0][0]], item[0][2], column_sort_key(item[0][1]))):
            numbers = [float(v) if is_number(v := record.get(key)) else None for key in (*test_keys, self.val_key, *SEED_KEYS)]
            collapsed = record.get("collapsed")
            point = record.get("tuning_point")
            rows.append([lineage, seed, record["member"], column, *numbers, collapsed if isinstance(collapsed, bool) else None,
                         json.dumps(point, sort_keys=True) if point is not None else None, record.get("identity")])
        return header, rows


@dataclass(frozen=True)
class BestBan:
    """A lineage's best BAN: generation ``k``, ``chosen_on`` (``"validation"``, or the seeds whose
    test score chose it) and ``tested_on`` (None: every seed; else the seeds it is tested on)."""

    k: int
    chosen_on: str | list[int]
    tested_on: list[int] | None


def randomness(dataset_specs: list[dict]) -> str:
    """What the intervals cover, from the teachers' dataset specs (``dataset_spec`` in metrics.json)."""
    subsets = {spec.get("train_subset", 0) for spec in dataset_specs}
    drawn = any(spec.get("subset_seed", "first") != "first" for spec in dataset_specs)
    noisy = any(isinstance(noise := spec.get("label_noise"), dict) and is_number(noise.get("rate")) and noise["rate"] > 0
                for spec in dataset_specs)
    size = f"{next(iter(subsets)):,} " if len(subsets) == 1 and 0 not in subsets else ""
    test = "every seed is scored on the same test images, so they do not cover the sampling of the test set"
    training = "training randomness (initialisation, batch order, augmentation, the objective's draws)"
    noise = " and the label-noise draw: each seed corrupts its own labels (dataset.label_noise)" if noisy else ""
    if drawn:
        return (f"The intervals cover {training}, the choice of training data: each seed trains on its own class-stratified "
                f"draw of {size}training images (dataset.subset_seed: per_seed){noise}; {test}.") if noisy else (
                f"The intervals cover {training} and the choice of training data: each seed trains on its own class-stratified "
                f"draw of {size}training images (dataset.subset_seed: per_seed); {test}.")
    images = f"the same first {size}training images" if size else "the same training images"
    if noisy:
        return (f"The intervals cover {training}{noise}; every seed trains on {images}, so they do not cover the choice of "
                f"training data, and {test}.")
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
    return study_claims(StudyScores([Path(p) for p in metrics_paths]), equivalence_margin)


def study_claims(study: StudyScores, equivalence_margin: float | None = None) -> dict:
    """``claims_of`` of a loaded study. ``tuned``: per lineage with a tuning grid, its tuned label-only
    baseline (``StudyScores.tuned_choice``); ``val_key``: the validation score choices are made on."""
    check_margin(equivalence_margin)
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
        "val_key": study.val_key,
        "tuned": study.tuned,
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


def _best_ban_row(study: StudyScores, lineage: str, other: str, name: str, score: str) -> Row:
    """best BAN − ``other`` (a column) in ``lineage``, compared as ``StudyScores.best_ban`` says; ``name``: its comparison."""
    best = study.best_ban(lineage, score)
    if isinstance(best, str):
        return Row(lineage, name, "BAN-k", other, note=best)
    row = study.compare(lineage, f"BAN-{best.k}", other, score, comparison=name, seeds=best.tested_on)
    row.chosen_on = best.chosen_on
    if best.chosen_on != "validation":
        row.note = f"chosen on the {score} of seeds {', '.join(map(str, best.chosen_on))}"
    return row


@register_claim("best_ban_beats_teacher", "The best BAN beats the teacher")
def best_ban_beats_teacher(study: StudyScores, score: str) -> list[Row]:
    """best BAN − Teacher: the BAN-k with the lowest mean validation score (ties: the lower k), tested
    on every seed; without validation scores chosen on the first half of the (sorted) seeds and
    tested on the second half, not tested with fewer than BEST_BAN_MIN_SEEDS (``StudyScores.best_ban``)."""
    study.require("BAN-1", TEACHER)
    return [_best_ban_row(study, lin, TEACHER, "best BAN − Teacher", score) for lin in study.lineages]


def _require_tuned(study: StudyScores) -> None:
    """Raise ``NotTested`` when no lineage has a tuning grid or no lineage's grid has validation scores."""
    if not any(study.tuning_columns(lin) for lin in study.lineages):
        raise NotTested("the study has no tuning grid (Tune-i)")
    if not study.tuned:
        raise NotTested(f"the study has no validation scores ({study.val_key}) to choose the tuned label-only baseline on")


def _tuned_row(study: StudyScores, lineage: str, a: str, name: str, score: str) -> Row | None:
    """A row without a tuned baseline (``a`` − Tuned, saying why), or None when ``lineage`` has one."""
    choice = study.tuned_choice(lineage)
    return Row(lineage, name, a, TUNED, note=choice) if isinstance(choice, str) else None


@register_claim("ban1_beats_tuned", "BAN-1 beats the tuned label-only baseline")
def ban1_beats_tuned(study: StudyScores, score: str) -> list[Row]:
    """BAN-1 − Tuned, Tuned the lineage's tuned label-only baseline (``StudyScores.tuned_choice``:
    chosen on validation), on every seed both ran."""
    study.require("BAN-1")
    _require_tuned(study)
    name = f"BAN-1 − {TUNED}"
    return [_tuned_row(study, lin, "BAN-1", name, score)
            or study.compare(lin, "BAN-1", study.tuned[lin]["column"], score, comparison=name) for lin in study.lineages]


@register_claim("best_ban_beats_tuned", "The best BAN beats the tuned label-only baseline")
def best_ban_beats_tuned(study: StudyScores, score: str) -> list[Row]:
    """best BAN − Tuned: the best BAN (as in best_ban_beats_teacher) against the tuned label-only baseline."""
    study.require("BAN-1")
    _require_tuned(study)
    name = f"best BAN − {TUNED}"
    return [_tuned_row(study, lin, "BAN-k", name, score) or _best_ban_row(study, lin, study.tuned[lin]["column"], name, score)
            for lin in study.lineages]


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
