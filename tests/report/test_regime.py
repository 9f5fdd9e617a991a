"""The regime map (ban.report.regime) against hand-made claims and metrics files."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from metrics_files import image_record, write_metrics

from ban.report.frame import ReportInputError
from ban.report.regime import Cell, regime_frame, write_regime


def claims_file(path, rows):
    """A claims.json holding the given (claim id, lineage, comparison, mean, low, high, n, verdict_holm) rows."""
    claims = {}
    for claim_id, lineage, comparison, mean, low, high, n, holm in rows:
        claims.setdefault(claim_id, []).append({"lineage": lineage, "comparison": comparison, "mean": mean, "low": low,
                                                "high": high, "n": n, "verdict_holm": holm})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"claims": [{"id": k, "rows": v} for k, v in claims.items()]}), encoding="utf-8")
    return path


def cell(root, name, factors, teacher_errors, rows, max_probs=(0.9, 0.8)):
    metrics = []
    for seed, (noisy, clean, memorised) in enumerate(teacher_errors):
        teacher = {**image_record("cnn", seed, "gen0", 10.0, study=name), "train_error": noisy}
        if clean is not None:
            teacher.update(train_error_clean=clean, noise_memorised=memorised)
        student = {**image_record("cnn", seed, "gen1", 9.0, study=name), "teacher_max_prob": max_probs[seed]}
        metrics += [write_metrics(root, teacher), write_metrics(root, student)]
    return Cell(name, factors, claims_file(root / name / "claims.json", rows), tuple(metrics))


def test_rows_carry_factors_teacher_fit_and_the_cells_verdicts(tmp_path):
    clean = cell(tmp_path, "sw.rate0", {"dataset.label_noise.rate": 0}, [(1.0, None, None), (3.0, None, None)],
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", 0.1, -0.2, 0.4, 2, "not shown"),
                  ("ban_k_beats_previous", "cnn", "BAN-2 − BAN-1", 0.3, 0.1, 0.5, 2, "reversed"),
                  ("ens_beats_indep", "cnn", "Ens*2 − Indep*2", 0.5, 0.2, 0.8, 2, "reversed"),
                  ("ens_beats_members", "cnn", "Ens*2 − BAN-1", -1.0, -1.2, -0.8, 2, "holds")])  # not a map column
    noisy = cell(tmp_path, "sw.rate0-4", {"dataset.label_noise.rate": 0.4}, [(20.0, 50.0, 40.0), (30.0, 60.0, 60.0)],
                 [("ban1_beats_teacher", "cnn", "BAN-1 − Teacher", -2.0, -3.0, -1.0, 2, "holds"),
                  ("best_ban_beats_teacher", "cnn", "best BAN − Teacher", None, None, None, 0, "not tested")])
    frame = regime_frame([clean, noisy])
    assert list(frame["cell"]) == ["sw.rate0", "sw.rate0-4"] and list(frame["dataset.label_noise.rate"]) == [0, 0.4]
    assert frame.loc[0, "teacher_train_error"] == 2.0 and math.isnan(frame.loc[0, "teacher_train_error_clean"])
    assert (frame.loc[1, "teacher_train_error"], frame.loc[1, "teacher_train_error_clean"]) == (25.0, 55.0)
    assert frame.loc[1, "teacher_noise_memorised"] == 50.0 and frame.loc[0, "teacher_max_prob"] == pytest.approx(0.85)
    assert frame.loc[1, "BAN-1 − Teacher Δ"] == -2.0 and frame.loc[1, "BAN-1 − Teacher verdict (Holm)"] == "holds"
    assert frame.loc[0, "BAN-2 − BAN-1 low"] == 0.1 and frame.loc[0, "Ens*2 − Indep*2 verdict (Holm)"] == "reversed"
    assert "Ens*2 − BAN-1 Δ" not in frame and math.isnan(frame.loc[1, "best BAN − Teacher Δ"])

    written = write_regime([clean, noisy], tmp_path / "out", "sw")
    assert [p.name for p in written] == ["regime.csv", "regime.md", "regime.png"] and written[2].stat().st_size > 0
    assert pd.read_csv(written[0])["BAN-1 − Teacher Δ"].tolist() == [0.1, -2.0]
    text = written[1].read_text(encoding="utf-8")
    assert "| Cell | rate | Lineage | Teacher train err (%) | clean (%) | noise memorised (%) | teacher max prob |" in text
    assert ("| BAN-1 − Teacher | best BAN − Teacher | BAN-2 − BAN-1 | Ens*2 − Indep*2 |") in text  # the claims' order
    assert ("| sw.rate0-4 | 0.4 | cnn | 25.00 | 55.00 | 50.00 | 0.85 | -2.00 [-3.00, -1.00] holds | — | — | — |") in text
    assert ("| sw.rate0 | 0 | cnn | 2.00 | — | — | 0.85 | +0.10 [-0.20, +0.40] not shown | — "
            "| +0.30 [+0.10, +0.50] reversed | +0.50 [+0.20, +0.80] reversed |") in text


def test_a_missing_claims_file_is_named(tmp_path):
    lonely = Cell("sw.x", {}, tmp_path / "sw.x/claims.json", ())
    with pytest.raises(ReportInputError, match="sw.x/claims.json: unusable claims file"):
        regime_frame([lonely])
