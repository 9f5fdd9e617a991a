"""The fidelity table (ban.report.fidelity, table_fidelity.*): agreement and KL vs a direct numpy computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from metrics_files import image_record, table_lines, text_study, write_metrics

from ban.report.fidelity import agreement, fidelity_frame, kl
from ban.report.frame import ReportInputError
from ban.report.tables import write_tables

N, C = 40, 5
MEMBERS = ("gen0", "gen1", "gen2", "cwtm", "ind1", "ens2")


# What ban.lifecycle and ban.ensemble record: each student's teacher confidence, the ensemble's disagreement.
STUDENT = lambda seed: {"teacher_max_prob": 0.9 + 0.02 * seed, "teacher_entropy": 0.3 - 0.1 * seed}  # noqa: E731
RECORDED = {"gen1": STUDENT, "gen2": STUDENT, "cwtm": STUDENT, "ens2": lambda seed: {"disagreement": 10.0 + 4 * seed}}


def random_probs(rng: np.random.Generator) -> np.ndarray:
    logits = rng.normal(scale=3.0, size=(N, C))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probs[0] = [1.0, 0.0, 0.0, 0.0, 0.0]  # 0 · log 0 in the teacher, a student probability of 0
    return probs.astype(np.float32)


def study(root, seeds=(0, 1)) -> tuple[list, dict]:
    """Image study "fid", lineage cnn: saved predictions for every trained member (not the ensemble)."""
    rng = np.random.default_rng(7)
    labels = rng.integers(0, C, size=N)
    paths, probs = [], {}
    for seed in seeds:
        for member in MEMBERS:
            record = image_record("cnn", seed, member, 5.0 + seed, study="fid")
            record.update(RECORDED.get(member, lambda seed: {})(seed))
            path = write_metrics(root, record)
            paths.append(path)
            if member != "ens2":
                probs[(seed, member)] = random_probs(rng)
                np.savez(path.with_name("predictions.npz"), probs=probs[(seed, member)], labels=labels)
    return paths, probs


def direct(teacher: np.ndarray, student: np.ndarray) -> tuple[float, float]:
    """Agreement (%) and mean KL(teacher ‖ student), written out sample by sample."""
    agree, total = 0, 0.0
    tiny = np.finfo(np.float32).tiny
    for p, q in zip(teacher.astype(np.float64), student.astype(np.float64)):
        agree += int(np.argmax(p) == np.argmax(q))
        total += sum(pc * math.log(pc / max(qc, tiny)) for pc, qc in zip(p, q) if pc > 0)
    return 100.0 * agree / len(teacher), total / len(teacher)


def test_agreement_and_kl_match_a_direct_computation(tmp_path):
    paths, probs = study(tmp_path)
    frame = fidelity_frame(paths)
    teachers = [t if isinstance(t, str) else None for t in frame.teacher]  # an ensemble has none (NaN)
    assert list(zip(frame.seed, frame.member, teachers)) == [
        (seed, member, teacher) for seed in (0, 1)
        for member, teacher in (("gen1", "gen0"), ("gen2", "gen1"), ("cwtm", "gen0"), ("ens2", None))]
    ensembles = frame[frame.member == "ens2"]
    assert list(ensembles.disagreement) == [10.0, 14.0] and ensembles.agreement.isna().all()
    assert ensembles.teacher_max_prob.isna().all()
    for row in frame[frame.member != "ens2"].itertuples():
        assert (row.teacher_max_prob, row.teacher_entropy) == pytest.approx((0.9 + 0.02 * row.seed, 0.3 - 0.1 * row.seed))
        assert math.isnan(row.disagreement)
        expected_agreement, expected_kl = direct(probs[(row.seed, row.teacher)], probs[(row.seed, row.member)])
        assert row.agreement == pytest.approx(expected_agreement)
        assert row.kl == pytest.approx(expected_kl, rel=1e-9)
        assert math.isfinite(row.kl) and row.kl > 0


def test_identical_predictions_agree_fully_with_zero_kl():
    probs = random_probs(np.random.default_rng(0))
    assert agreement(probs, probs) == 100.0 and kl(probs, probs) == pytest.approx(0.0, abs=1e-12)
    # Row 0 of the teacher is one-hot on class 0; a student that gives class 0 probability 0 is clipped, not infinite.
    student = probs.copy()
    student[0] = [0.0, 1.0, 0.0, 0.0, 0.0]
    assert kl(probs[:1], student[:1]) == pytest.approx(-math.log(np.finfo(np.float32).tiny))
    assert agreement(probs[:1], student[:1]) == 0.0


def test_fidelity_table_files(tmp_path):
    paths, probs = study(tmp_path / "results")
    written = write_tables(paths, tmp_path / "out", stem="table_fidelity")
    assert [p.name for p in written] == ["table_fidelity.csv", "table_fidelity.md", "table_fidelity.tex"]
    table = pd.read_csv(tmp_path / "out" / "table_fidelity.csv").set_index("lineage")
    measures = ("agreement", "kl", "teacher_max_prob", "teacher_entropy", "disagreement")
    assert list(table.columns) == [f"{c} {s}" for c in ("BAN-1", "BAN-2", "CWTM", "Ens*2")
                                   for s in [f"{m} {stat}" for m in measures for stat in ("mean", "std")] + ["n_seeds"]]
    values = [direct(probs[(seed, "gen1")], probs[(seed, "gen2")]) for seed in (0, 1)]
    assert table.loc["cnn", "BAN-2 agreement mean"] == pytest.approx(np.mean([v[0] for v in values]))
    assert table.loc["cnn", "BAN-2 agreement std"] == pytest.approx(np.std([v[0] for v in values], ddof=1))
    assert table.loc["cnn", "BAN-2 kl mean"] == pytest.approx(np.mean([v[1] for v in values]))
    assert table.loc["cnn", "CWTM n_seeds"] == 2 and table.loc["cnn", "Ens*2 n_seeds"] == 2
    assert table.loc["cnn", "BAN-1 teacher_max_prob mean"] == pytest.approx(0.91)
    assert table.loc["cnn", "Ens*2 disagreement mean"] == pytest.approx(12.0)
    assert table.loc["cnn", "Ens*2 disagreement std"] == pytest.approx(np.std([10.0, 14.0], ddof=1))
    assert math.isnan(table.loc["cnn", "Ens*2 agreement mean"]) and math.isnan(table.loc["cnn", "BAN-1 disagreement mean"])
    rows = table_lines(tmp_path / "out" / "table_fidelity.md")
    assert rows[0] == ["Lineage", "Measure", "Seeds", "BAN-1", "BAN-2", "CWTM", "Ens*2"]  # no Teacher or Ind-1
    assert [row[1] for row in rows[2:]] == ["agreement (%)", "KL (nats)", "teacher max prob (train views)",
                                            "teacher entropy (nats, train views)", "members' disagreement (%)"]
    assert "±" in rows[2][3] and "Δ" not in rows[2][3] and rows[2][6] == "—" and rows[6][6] == "12.00 ± 2.83"
    assert rows[4][3] == "0.91 ± 0.01" and rows[6][3] == "—"
    assert "\\begin{tabular}{lllrrrr}" in (tmp_path / "out" / "table_fidelity.tex").read_text(encoding="utf-8")
    # Only by name: writing every table leaves it out (hand-made studies have no predictions).
    assert "table_fidelity.csv" not in {p.name for p in write_tables(paths, tmp_path / "all")}


def test_missing_predictions_and_teacher_name_the_file(tmp_path):
    paths, _ = study(tmp_path / "results", seeds=(0,))
    gen2 = next(p for p in paths if p.parent.name == "gen2")
    gen2.with_name("predictions.npz").unlink()
    with pytest.raises(ReportInputError, match="gen2/predictions.npz: missing"):
        write_tables(paths, tmp_path / "out", stem="table_fidelity")
    assert not (tmp_path / "out").exists()
    without_gen1 = [p for p in paths if p.parent.name not in ("gen1", "gen2")] + [gen2]
    with pytest.raises(ReportInputError, match="needs its teacher gen1"):
        fidelity_frame(without_gen1)


def test_text_studies_have_no_fidelity_table(tmp_path):
    with pytest.raises(ReportInputError, match="no table 'table_fidelity' for text studies"):
        write_tables(text_study(tmp_path / "results"), tmp_path / "out", stem="table_fidelity")
