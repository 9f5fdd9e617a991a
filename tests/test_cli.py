"""`python -m ban evaluate` scores a saved model.pt as its training run did."""

import json
import subprocess
import sys

from ban.member import run_member as train


def test_evaluate_prints_the_scores_of_a_saved_model(tiny_spec, tmp_path):
    metrics = train(tiny_spec, tmp_path / "gen0", log=lambda line: None)
    out = subprocess.run(
        [sys.executable, "-m", "ban", "evaluate", str(tmp_path / "gen0" / "model.pt"), "--device", "cpu"],
        capture_output=True, text=True, check=True,
    ).stdout
    scores = json.loads(out)
    assert scores["test_error"] == metrics["test_error"]
    assert abs(scores["test_nll"] - metrics["test_nll"]) < 1e-5
