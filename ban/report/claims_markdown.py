"""``claims.md`` and ``claims.json`` of one study: what ``python -m ban claims`` writes (no torch).

``claims_markdown(result)`` renders the ``claims_of`` dict (``ban.report.claims``): the family size,
the randomness the intervals cover, the rules, a summary of the verdicts per claim (per comparison
and Holm-adjusted), then one table per claim (lineage, comparison, Δ, interval, wins/seeds, p,
verdict, p (Holm), verdict (Holm), what the interval rules out, MDE). ``write_claims`` writes both
files. The method: docs/method.md (the claims).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterable

from ban.report.claims import SCORE_LABELS, claims_of
from ban.report.markdown import table_lines
from ban.report.verdicts import HOLDS, NOT_SHOWN, NOT_TESTED, POOLED, REVERSED, VERDICTS, no_effect

__all__ = ["COLUMNS", "claims_markdown", "write_claims"]

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
    """Write ``claims.json`` and ``claims.md`` of ``claims_of(metrics_paths, equivalence_margin)`` into
    ``out_dir`` (created); return their paths."""
    result = claims_of(metrics_paths, equivalence_margin=equivalence_margin)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "claims.json", out_dir / "claims.md"
    json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    md_path.write_text(claims_markdown(result), encoding="utf-8")
    return [md_path, json_path]
