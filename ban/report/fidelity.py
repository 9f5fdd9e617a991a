"""Fidelity of each student to its own teacher (Stanton et al. 2021), from saved test predictions.

For every student of an image study — BAN generation k ≥ 1 (its teacher is generation k−1) and
every control (its teacher is the Teacher, gen0): ``ban.member_kinds.kind_of(member).teacher`` — and
each seed, with p_t, p_s the teacher's and the student's test-set probabilities ``probs [N, C]``
from the ``predictions.npz`` beside each ``metrics.json``:

    agreement = 100 · (1/N) Σ_n [argmax_c p_t[n, c] = argmax_c p_s[n, c]]           (%; top-1)
    KL        = (1/N) Σ_n Σ_c p_t[n, c] · (log p_t[n, c] − log max(p_s[n, c], tiny))  (nats)

with tiny = ``np.finfo(np.float32).tiny`` (the smallest normal float32: a student probability
that underflowed to 0 stays finite) and 0 · log 0 = 0 (terms with p_t = 0 are 0), in float64.
High agreement and low KL mean the student reproduces its teacher; a BAN student that beats its
teacher while agreeing with it less is the paper's "not just copying" regime.

Beside them, from the metrics files (``ban.lifecycle``, ``ban.ensemble``): each student's
``teacher_max_prob`` and ``teacher_entropy`` (nats), its teacher's mean max probability and entropy
on the augmented training views the student trained on — T = 1 targets of a teacher near 1 carry
little beyond the label — and each ensemble's (Ens*k, Indep*k) ``disagreement``, the mean pairwise
top-1 disagreement (%) of its members on the test set.

``fidelity_frame(paths)`` returns one row per (lineage, seed, student or ensemble), NaN where a
measure does not apply; ``ban.report.tables`` renders the seed mean ± std per (lineage, column) as
``table_fidelity.{csv,md,tex}``. Teachers and independent networks have no row (neither is a
student nor an ensemble); a student whose teacher's metrics file is not among the paths is an
error, as is a missing or mismatched predictions file. Text studies have no fidelity table.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from ban.member_kinds import column_label, kind_of
from ban.predictions import PredictionsError, load_predictions
from ban.report.frame import ReportInputError, is_number, read_metrics
from ban.tasks import TableScore

__all__ = ["FIDELITY_COLUMNS", "FIDELITY_SCORES", "FIDELITY_STEM", "FIDELITY_TITLE", "RECORDED", "TINY", "agreement",
           "fidelity_frame", "kl"]

FIDELITY_STEM = "table_fidelity"
FIDELITY_TITLE = "Fidelity to the own teacher, teacher confidence and ensemble diversity"
FIDELITY_SCORES = (
    TableScore("agreement", "agreement (%)", "agreement"),
    TableScore("kl", "KL (nats)", "kl"),
    TableScore("teacher_max_prob", "teacher max prob (train views)", "teacher_max_prob"),
    TableScore("teacher_entropy", "teacher entropy (nats, train views)", "teacher_entropy"),
    TableScore("disagreement", "members' disagreement (%)", "disagreement"),
)
"""The rows of each lineage in table_fidelity (key, Markdown row label, CSV tag)."""
RECORDED = ("teacher_max_prob", "teacher_entropy", "disagreement")
"""The measures read from the metrics files rather than computed from predictions."""
FIDELITY_COLUMNS = ["study", "lineage", "seed", "member", "column", "teacher", "agreement", "kl", *RECORDED]
TINY = float(np.finfo(np.float32).tiny)


def agreement(teacher: np.ndarray, student: np.ndarray) -> float:
    """Top-1 agreement (%) of two ``[N, C]`` probability arrays."""
    return float(100.0 * np.mean(np.argmax(teacher, axis=1) == np.argmax(student, axis=1)))


def kl(teacher: np.ndarray, student: np.ndarray) -> float:
    """Mean over samples of KL(teacher ‖ student) in nats (module docstring: clip and 0 · log 0)."""
    p = np.asarray(teacher, dtype=np.float64)
    q = np.maximum(np.asarray(student, dtype=np.float64), TINY)
    positive = p > 0
    terms = np.zeros_like(p)
    terms[positive] = p[positive] * (np.log(p[positive]) - np.log(q[positive]))
    return float(np.mean(terms.sum(axis=1)))


def _probs(metrics_path: Path) -> tuple[np.ndarray, np.ndarray | None]:
    path = metrics_path.with_name("predictions.npz")
    if not path.is_file():
        raise ReportInputError(f"{path}: missing (the fidelity table reads each student's and teacher's predictions)")
    try:
        arrays = load_predictions(path)
    except PredictionsError as error:
        raise ReportInputError(str(error)) from None
    if "probs" not in arrays:
        raise ReportInputError(f"{path}: no 'probs' array (is it an image study's predictions file?)")
    return arrays["probs"], arrays.get("labels")


def fidelity_frame(metrics_paths: Iterable[str | Path]) -> pd.DataFrame:
    """One row per student and seed: ``FIDELITY_COLUMNS`` (see the module docstring)."""
    groups: dict[tuple[str, str, int], dict[str, Path]] = {}
    recorded: dict[Path, dict[str, float]] = {}
    for path in (Path(p) for p in metrics_paths):
        record = read_metrics(path)
        if record["task"] != "image":
            raise ReportInputError(f"{path}: fidelity is for image studies (task {record['task']!r})")
        groups.setdefault((record["study"], record["lineage"], record["seed"]), {})[record["member"]] = path
        recorded[path] = {key: float(record[key]) if is_number(record.get(key)) else math.nan for key in RECORDED}
    rows = []
    for (study, lineage, seed), members in groups.items():
        loaded: dict[Path, tuple[np.ndarray, np.ndarray | None]] = {}  # one lineage and seed in memory at a time
        for member, path in members.items():
            kind = kind_of(member)
            teacher = kind.teacher if kind.trained else None
            if kind.role == "ensemble":
                rows.append({"study": study, "lineage": lineage, "seed": seed, "member": member, "column": column_label(member),
                             "teacher": None, "agreement": math.nan, "kl": math.nan, **recorded[path]})
            if teacher is None:
                continue
            teacher_path = members.get(teacher)
            if teacher_path is None:
                raise ReportInputError(f"{path}: the fidelity of {member} needs its teacher {teacher}'s metrics file (seed {seed})")
            for needed in (teacher_path, path):
                if needed not in loaded:
                    loaded[needed] = _probs(needed)
            (p_t, labels_t), (p_s, labels_s) = loaded[teacher_path], loaded[path]
            if p_t.shape != p_s.shape or (labels_t is not None and labels_s is not None and not np.array_equal(labels_t, labels_s)):
                predictions = path.with_name("predictions.npz")
                raise ReportInputError(f"{predictions}: not the test set of {teacher_path.with_name('predictions.npz')}")
            rows.append({"study": study, "lineage": lineage, "seed": seed, "member": member, "column": column_label(member),
                         "teacher": teacher, "agreement": agreement(p_t, p_s), "kl": kl(p_t, p_s), **recorded[path]})
    frame = pd.DataFrame(rows, columns=FIDELITY_COLUMNS)
    frame["seed"] = frame["seed"].astype("int64")
    return frame
