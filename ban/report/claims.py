"""The paper's claims tested on one study, with their evidence and a verdict (pandas, numpy; no torch).

Every claim compares a member that the claim says is better (``a``) with another (``b``) on a
score where lower is better (the task's primary score: test error for image studies, test
perplexity for text; the calibration claims use test ECE and test NLL). Over the seeds s both
ran (n of them), with ``ban.report.stats``:

    d_s  = score_a(s) − score_b(s)                       (negative: a is better, as the paper says)
    Δ    = (1/n) Σ_s d_s,   95% CI = Δ ∓ t_{0.975, n−1} · sd(d) / √n       (sd with ddof = 1)
    wins = #{s : d_s < 0}   (a strictly lower; ties, d_s = 0, are counted apart)

Verdict of a comparison:

- **holds**: the interval lies entirely below 0 (the paper's direction);
- **reversed**: the interval lies entirely above 0;
- **not shown**: the interval contains 0, or there is one seed (no interval);
- **not tested**: a member the comparison needs is missing (the row says which), or no seed has both.

Rows are per lineage; a comparison that two or more lineages test also gets a ``pooled`` row
that pools the paired differences of all those lineages (one per lineage and seed). The claims:

1. BAN-1 beats its teacher (BAN-1 − Teacher).
2. Each BAN-k beats BAN-(k−1) (BAN-k − BAN-(k−1), k = 2..K).
3. The best BAN beats the teacher: per lineage the BAN-k (k ≥ 1) with the lowest seed mean,
   vs the Teacher (chosen on the same seeds it is tested on, so the claim is optimistic).
4. BAN+L beats the teacher (BAN+L − Teacher).
5. Each other control of ``ban.members.CONTROLS`` (CWTM, DKPP, ...) beats the teacher
   (control − Teacher) and falls short of BAN-1 (BAN-1 − control).
6. Ens*k beats each of its members (Ens*k − member, for the members its metrics.json lists:
   gen1..genk, or gen0..gen(k−1) with ``ensemble_with_teacher``).
7. Ens*k beats Indep*k (Ens*k − Indep*k: born-again ensembling vs an ensemble of the teacher and
   k−1 independently trained networks of the same architecture, paired by seed). Ours.
8. Students are better calibrated than their teachers, one claim per score (test ECE, test NLL):
   every BAN generation vs its own teacher (BAN-k − BAN-(k−1), k = 1..K; each row a paired test
   of independent trainings). Ours; image studies only.

``claims(paths)`` returns the claims as a dict (the ``claims.json`` content); ``write_claims(paths,
out_dir)`` writes ``claims.json`` and ``claims.md`` (a summary, then one short table per claim:
lineage, comparison, Δ, interval, wins/seeds, verdict).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import fmean
from typing import Iterable

from ban.members import CONTROLS, TEACHER, column_label, column_sort_key, ensemble_size, generation_of, kind_of
from ban.report.frame import lineage_order, load_metrics, read_metrics, single_study
from ban.report.stats import LEVEL, paired
from ban.tasks import get_task

__all__ = ["HOLDS", "NOT_SHOWN", "NOT_TESTED", "POOLED", "REVERSED", "VERDICTS", "Claim", "Row", "claims", "verdict",
           "write_claims"]

HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED = "holds", "not shown", "reversed", "not tested"
VERDICTS = (HOLDS, NOT_SHOWN, REVERSED, NOT_TESTED)
POOLED = "pooled"
RULE = ("holds: the 95% t-interval of the mean paired difference (claimed-better − other, lower is better) lies below 0; "
        "reversed: it lies above 0; not shown: it contains 0, or one seed (no interval); "
        "not tested: a member the claim needs is missing")
_HEADER = """Each row tests one comparison *a − b* on the seeds both members ran, for a score where lower is better
({score} unless the claim names another):

- **Δ**: mean over seeds of the paired difference a − b; negative means *a* is better, as the claim says.
- **95% interval**: Student-t interval of that mean, Δ ± t(0.975, n−1) · sd / √n; none with one seed.
- **Wins/seeds**: seeds in which *a* scored strictly lower than *b* (ties counted apart).
- **Verdict**: **holds** — the interval lies entirely below 0 (the claim's direction); **reversed** — entirely
  above 0; *not shown* — it contains 0, or there is one seed (no interval); *not tested* — a member the claim
  needs is missing.
- **pooled** rows pool the paired differences of every lineage that tests the comparison (one per lineage and seed)."""
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
    note: str = ""
    seeds: list = field(default_factory=list)  # seed numbers; "lineage/seed<s>" in pooled rows
    differences: list[float] = field(default_factory=list)


@dataclass
class Claim:
    """A claim: ``id``, its ``text``, the ``score`` it is tested on, its rows, and a ``note``
    (``not tested: ...`` when no lineage could test it)."""

    id: str
    text: str
    score: str
    rows: list[Row] = field(default_factory=list)
    note: str = ""


def verdict(low: float | None, high: float | None, n: int) -> str:
    """The verdict of an interval (``None`` bounds: one seed) of ``n`` paired differences."""
    if n == 0:
        return NOT_TESTED
    if low is None or high is None:
        return NOT_SHOWN
    if high < 0:
        return HOLDS
    if low > 0:
        return REVERSED
    return NOT_SHOWN


def _evidence(row: Row, diffs: dict[int, float]) -> Row:
    row.seeds = sorted(diffs)
    row.differences = [diffs[s] for s in row.seeds]
    row.n = len(diffs)
    if not diffs:
        row.verdict, row.note = NOT_TESTED, row.note or "no seed with both members"
        return row
    pairs = paired(row.differences, LEVEL)
    row.mean, row.low, row.high, row.wins, row.ties = pairs.mean, pairs.low, pairs.high, pairs.wins, pairs.ties
    row.verdict = verdict(pairs.low, pairs.high, pairs.n)
    return row


class _Study:
    """Scores per (lineage, column) and seed, and each ensemble's members, of one study."""

    def __init__(self, paths: list[Path]):
        self.frame = load_metrics(paths)
        self.name, self.task = single_study(self.frame)
        self.lineages = lineage_order(self.frame)
        self.columns = {lineage: set(self.frame.loc[self.frame["lineage"] == lineage, "column"]) for lineage in self.lineages}
        self.members: dict[tuple[str, str], dict[int, list[str]]] = {}
        for lineage, seed, member, path in zip(self.frame["lineage"], self.frame["seed"], self.frame["member"], self.frame["path"]):
            if kind_of(member).role == "ensemble":
                listed = read_metrics(path).get("members")
                if isinstance(listed, list):
                    self.members.setdefault((lineage, column_label(member)), {})[int(seed)] = [str(m) for m in listed]

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


def _pool(rows: list[Row]) -> list[Row]:
    """The lineage rows, each comparison followed (when ≥ 2 lineages test it) by its pooled row."""
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
            diffs = [d for row in tested for d in row.differences]
            _evidence(pooled, dict(enumerate(diffs)))
            pooled.seeds = [f"{row.lineage}/seed{s}" for row in tested for s in row.seeds]
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
            means = {k: fmean(study.scores(lin, f"BAN-{k}", primary).values()) for k in study.generations(lin)}
            if not means:
                rows.append(Row(lin, "best BAN − Teacher", "BAN-k", TEACHER, note="lineage has no BAN generation"))
                continue
            k = min(means, key=lambda g: (means[g], g))
            rows.append(study.compare(lin, f"BAN-{k}", TEACHER, primary, comparison="best BAN − Teacher"))
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


def claims(metrics_paths: Iterable[str | Path]) -> dict:
    """The claims of one study's metrics files as a JSON-ready dict (see the module docstring)."""
    study = _Study([Path(p) for p in metrics_paths])
    spec = get_task(study.task)
    tested = _claims(study)
    return {
        "study": study.name,
        "task": study.task,
        "score": spec.primary,
        "score_label": spec.primary_label,
        "level": LEVEL,
        "rule": RULE,
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


def _cell(text: str) -> str:
    return text.replace("|", r"\|")


def _row_cells(row: dict, decimals: int) -> list[str]:
    if row["n"] == 0:
        return [row["lineage"], row["comparison"], "—", "—", "—", f"{NOT_TESTED}: {row['note']}" if row["note"] else NOT_TESTED]
    comparison = row["comparison"]
    if row["lineage"] != POOLED and comparison != f"{row['a']} − {row['b']}":
        comparison += f" ({row['a']})"
    interval = "—" if row["low"] is None else f"[{_number(row['low'], decimals)}, {_number(row['high'], decimals)}]"
    wins = f"{row['wins']}/{row['n']}" + (f" ({row['ties']} tie{'s' if row['ties'] > 1 else ''})" if row["ties"] else "")
    verdict_text = f"**{row['verdict']}**" if row["verdict"] in (HOLDS, REVERSED) else row["verdict"]
    return [row["lineage"], comparison, _number(row["mean"], decimals), interval, wins, verdict_text]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]


def claims_markdown(result: dict) -> str:
    """``claims.md``: the verdict rule, a summary of verdicts per claim, one table per claim."""
    lines = [f"# Claims tested on study `{result['study']}`", "",
             _HEADER.format(score=f"{result['score_label']}, `{result['score']}`"), "", "## Summary", ""]
    summary = []
    for number, claim in enumerate(result["claims"], 1):
        lineage_rows = [row for row in claim["rows"] if row["lineage"] != POOLED]
        pooled = [row for row in claim["rows"] if row["lineage"] == POOLED]
        if claim["note"] and not lineage_rows:
            counts = claim["note"]
        else:
            counts = ", ".join(f"{sum(r['verdict'] == v for r in lineage_rows)} {v}" for v in VERDICTS
                               if any(r["verdict"] == v for r in lineage_rows))
            if pooled:
                counts += "; pooled: " + ", ".join(f"{sum(r['verdict'] == v for r in pooled)} {v}" for v in VERDICTS
                                                   if any(r["verdict"] == v for r in pooled))
        summary.append([str(number), claim["text"], counts])
    lines += _table(["#", "Claim", "Verdicts (lineage rows; pooled rows)"], summary)
    for number, claim in enumerate(result["claims"], 1):
        decimals = _DECIMALS.get(claim["score"], 2)
        lines += ["", f"## {number}. {claim['text']}", ""]
        if claim["score"] != result["score"]:
            lines += [f"Score: {SCORE_LABELS.get(claim['score'], claim['score'])} (`{claim['score']}`).", ""]
        if claim["note"]:
            lines += [claim["note"]] + ([""] if claim["rows"] else [])
        if claim["rows"]:
            lines += _table(["Lineage", "Comparison", "Δ", "95% interval", "Wins/seeds", "Verdict"],
                            [_row_cells(row, decimals) for row in claim["rows"]])
    return "\n".join(lines).rstrip("\n") + "\n"


def write_claims(metrics_paths: Iterable[str | Path], out_dir: str | Path) -> list[Path]:
    """Write ``claims.json`` and ``claims.md`` into ``out_dir`` (created); return their paths."""
    result = claims(metrics_paths)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "claims.json", out_dir / "claims.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(claims_markdown(result), encoding="utf-8")
    return [md_path, json_path]
