"""``claims.md`` and ``claims.json`` of one study: what ``python -m ban claims`` writes (no torch).

``claims_markdown(result)`` renders the ``claims_of`` dict (``ban.report.claims``): the family size,
the randomness the intervals cover, the rules, the tuned label-only baseline of each lineage, a
summary of the verdicts per claim (per comparison and Holm-adjusted), then one table per claim
(lineage, comparison, Δ, interval, wins/seeds, p, verdict, p (Holm), verdict (Holm), what the
interval rules out, MDE; a row with a collapsed member is marked ⚠). ``write_claims`` writes both
files and ``scores.csv``, the per-seed data they are computed from (``StudyScores.seed_rows``).
The method: docs/method.md (the claims).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Iterable

from ban.report.claims import SCORE_LABELS, StudyScores, study_claims
from ban.report.markdown import table_lines
from ban.report.verdicts import HOLDS, NOT_SHOWN, NOT_TESTED, POOLED, REVERSED, VERDICTS, WITHOUT_COLLAPSED, check_margin, no_effect

__all__ = ["COLUMNS", "claims_markdown", "write_claims"]

_HEADER = """Each row tests one comparison *a − b* on the seeds both members ran, for a score where lower is better
({score} unless the claim names another):

- **Δ**: mean over seeds of the paired difference a − b; negative means *a* is better, as the claim says.
- **95% interval**: Student-t interval of that mean, Δ ± t(0.975, n−1) · sd / √n; none with one seed.
- **Wins/seeds**: seeds in which *a* scored strictly lower than *b* (ties counted apart).
- **p**: two-sided paired t-test of Δ = 0; none with one seed. When every difference is the same (sd 0, the t statistic
  undefined) p is the exact two-sided sign-flip test's: 2^(1−n) (0.25 with 3 seeds, 0.03125 with 6), 1 when all are 0.
- **Verdict**: **holds** — the interval lies entirely below 0 (the claim's direction); **reversed** — entirely
  above 0;{equivalence} *not shown* — it contains 0, or there is one seed (no interval); *not tested* — a member
  the claim needs is missing. Decided per comparison, at 5%. A zero-width interval (every difference the same) is
  decided by the sign-flip p instead: **holds** when p < 0.05 and Δ < 0, **reversed** when p < 0.05 and Δ > 0,
  *not shown* otherwise (so never with fewer than 6 seeds).
- **p (Holm)**, **Verdict (Holm)**: Holm's step-down adjustment of p over the family of the {family} rows with a
  p-value in this file (lineage and pooled rows of every claim, and the rows without collapsed seeds); **holds** —
  p (Holm) < 0.05 and Δ < 0, **reversed** — p (Holm) < 0.05 and Δ > 0, *not shown* — otherwise. These verdicts hold
  family-wise at 5%.
- **Rules out**: the largest gain (Δ below 0) and loss (Δ above 0) the interval leaves possible: "gain > 0.25"
  means it rules out that *a* beats *b* by more than 0.25; "any gain" means it lies entirely above 0.
- **MDE**: minimum detectable effect, the smallest |Δ| that a paired t-test at 5% with these seeds detects with
  {power:.0%} power at the observed sd of the differences.
- **pooled** rows average, within each seed, the differences of the lineages that test the comparison (lineages share
  seeds and the test set, so they are not independent), then test those per-seed means (n = seeds).
- **⚠ collapsed**: a compared member collapsed in the seeds named (`collapsed` in its metrics.json: it did not fit its
  training data, or predicts one class); the row is followed by the same comparison without those seeds,
  "… (without collapsed)".
- **Tuned**: the lineage's tuned label-only baseline: of the Teacher and its tuning grid's points Tune-1..N, the one
  with the lowest mean validation score ({val}) over the seeds where every one has it (ties: the first), chosen on
  validation, never on the test set (below).
- **best BAN**: {best_ban}"""
_DECIMALS = {"test_nll": 3}
COLUMNS = ["Lineage", "Comparison", "Δ", "95% interval", "Wins/seeds", "p", "Verdict", "p (Holm)", "Verdict (Holm)",
           "Rules out", "MDE"]


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


_BEST_BAN_ON_VALIDATION = ("the BAN-k with the lowest mean validation score ({val}) over the seeds where every generation "
                           "has one (ties: the lower k), chosen on validation and tested on every seed.")
_BEST_BAN_ON_TEST = ("the generation is chosen on the test error of the first half of the seeds (sorted) and tested on the "
                     "other half, never on the seeds it was chosen on; not tested with fewer than 4 seeds.")


def _best_ban_rule(result: dict) -> str:
    """The header's best-BAN rule: on validation, or (lineages without validation scores) on half of the seeds' test error."""
    rows = [row for claim in result["claims"] if claim["id"].startswith("best_ban") for row in claim["rows"]
            if row["lineage"] != POOLED]
    on_val = _BEST_BAN_ON_VALIDATION.format(val=f"`{result['val_key']}`")
    on_test = sorted({row["lineage"] for row in rows if row["chosen_on"] != "validation"
                      and (row["chosen_on"] or "without validation scores" in row["note"])})
    if not on_test:
        return on_val
    if len(on_test) == len({row["lineage"] for row in rows if row["chosen_on"] or "without validation" in row["note"]}):
        return f"this study has no validation scores, so {_BEST_BAN_ON_TEST}"
    return f"{on_val} Lineage{'s' if len(on_test) > 1 else ''} without validation scores ({', '.join(on_test)}): {_BEST_BAN_ON_TEST}"


def _collapsed_mark(row: dict) -> str:
    """`` ⚠ collapsed: BAN-2 seeds 1, 3; BAN-1 seed 2`` (pooled rows: ``a/BAN-2 seed 1``), or "" without a collapsed member."""
    if not row.get("collapsed"):
        return ""
    by_member: dict[str, list[int]] = {}
    for entry in row["collapsed"]:
        name = f"{entry['lineage']}/{entry['column']}" if "lineage" in entry else entry["column"]
        by_member.setdefault(name, []).append(entry["seed"])
    parts = [f"{name} seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}" for name, seeds in by_member.items()]
    return f" ⚠ collapsed: {'; '.join(parts)}"


def _comparison(row: dict) -> str:
    """The comparison's name, with the members a named role stands for (``best BAN − Tuned (BAN-2 − Tune-1; chosen on
    validation)``), and its collapse mark."""
    comparison = row["comparison"]
    name = comparison.removesuffix(WITHOUT_COLLAPSED)
    if row["lineage"] != POOLED and name != f"{row['a']} − {row['b']}" and row["n"] > 0:
        chosen = row.get("chosen_on")
        how = ("; chosen on validation" if chosen == "validation"
               else f"; chosen on the test error of seeds {', '.join(map(str, chosen))}" if chosen else "")
        comparison += f" ({row['a']} − {row['b']}{how})"
    return comparison + _collapsed_mark(row)


def _row_cells(row: dict, decimals: int) -> list[str]:
    if row["n"] == 0:
        tested = f"{NOT_TESTED}: {row['note']}" if row["note"] else NOT_TESTED
        return [row["lineage"], _comparison(row), "—", "—", "—", "—", tested, "—", "—", "—", "—"]
    comparison = _comparison(row)
    interval = "—" if row["low"] is None else f"[{_number(row['low'], decimals)}, {_number(row['high'], decimals)}]"
    wins = f"{row['wins']}/{row['n']}" + (f" ({row['ties']} tie{'s' if row['ties'] > 1 else ''})" if row["ties"] else "")
    mde = "—" if row["mde"] is None else f"{row['mde']:.{decimals}f}"
    return [row["lineage"], comparison, _number(row["mean"], decimals), interval, wins, _p(row["p_value"]),
            _bold(row["verdict"]), _p(row["p_holm"]), _bold(row["verdict_holm"]), _rules_out(row, decimals), mde]


def _counts(rows: list[dict], key: str) -> str:
    """``"2 holds, 1 not shown"``: how many ``rows`` have each verdict under ``key``, in a fixed order."""
    words = [HOLDS, *sorted({r[key] for r in rows} - set(VERDICTS)), NOT_SHOWN, REVERSED, NOT_TESTED]
    return ", ".join(f"{sum(r[key] == v for r in rows)} {v}" for v in words if any(r[key] == v for r in rows))


STUDY_RECIPE = "the study's recipe"


def _setting(choice: dict) -> str:
    """``Tune-2 (objective_args.label_smoothing = 0.1, recipe.select = best_val)``; ``Teacher (the study's recipe)``."""
    setting = ", ".join(f"{key} = {value}" for key, value in choice["setting"].items())
    return f"{choice['column']} ({setting or STUDY_RECIPE})"


def _tuned_lines(result: dict, decimals: int) -> list[str]:
    """The tuned label-only baseline of each lineage: which setting, its mean validation and test score, the candidates'."""
    lines = []
    for lineage, choice in result["tuned"].items():
        candidates = ", ".join(f"{column} {value:.{decimals}f}" for column, value in choice["val"].items())
        test = "—" if choice.get("test") is None else f"{choice['test']:.{decimals}f}"
        lines.append(f"- {lineage}: {_setting(choice)}, chosen on validation: mean {result['val_key']} "
                     f"{choice['val'][choice['column']]:.{decimals}f}, mean {result['score']} {test}, over seeds "
                     f"{', '.join(map(str, choice['seeds']))} (validation means: {candidates}).")
    return lines


def claims_markdown(result: dict) -> str:
    """``claims.md`` of a ``claims_of`` dict: the family size and method, the rules, a summary of
    verdicts per claim (per comparison and Holm-adjusted), one table per claim."""
    margin = result.get("equivalence_margin")
    equivalence = (f" **{no_effect(margin)}** — the interval contains 0 and lies within ±{margin:g} (the study's"
                   " equivalence margin);" if margin is not None else "")
    family = result["family_size"]
    lines = [f"# Claims tested on study `{result['study']}`", "",
             f"Family: {family} comparison{'s' if family != 1 else ''}; Holm-adjusted verdicts at "
             f"{1 - result['level']:.0%}. Equivalence margin: {'none' if margin is None else f'{margin:g}'}.", "",
             result["randomness"], "",
             _HEADER.format(score=f"{result['score_label']}, `{result['score']}`", equivalence=equivalence, family=family,
                            power=result["power"], val=f"`{result['val_key']}`", best_ban=_best_ban_rule(result)),
             ""]
    if result["tuned"]:
        lines += ["## Tuned label-only baseline", "", *_tuned_lines(result, _DECIMALS.get(result["score"], 2)), ""]
    lines += ["## Summary", ""]
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


def write_scores(study: StudyScores, path: str | Path) -> Path:
    """Write ``scores.csv`` (``StudyScores.seed_rows``: one row per lineage, seed and member) to ``path``;
    numbers as Python writes them (every digit), empty cells where a member has no value."""
    header, rows = study.seed_rows()
    path = Path(path)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else "true" if v is True else "false" if v is False else v for v in row])
    return path


def write_claims(metrics_paths: Iterable[str | Path], out_dir: str | Path, equivalence_margin: float | None = None) -> list[Path]:
    """Write ``claims.md``, ``claims.json`` (``claims_of(metrics_paths, equivalence_margin)``) and
    ``scores.csv`` (``write_scores``) into ``out_dir`` (created); return their paths."""
    check_margin(equivalence_margin)
    study = StudyScores([Path(p) for p in metrics_paths])
    result = study_claims(study, equivalence_margin=equivalence_margin)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "claims.json", out_dir / "claims.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(claims_markdown(result), encoding="utf-8")
    return [md_path, json_path, write_scores(study, out_dir / "scores.csv")]
