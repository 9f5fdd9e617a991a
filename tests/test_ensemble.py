import json

import numpy as np
import pytest

from ban.ensemble import EnsembleError, ensemble


def member(folder, name, probs, labels):
    folder.mkdir(parents=True)
    np.savez(folder / "predictions.npz", probs=np.asarray(probs, dtype=np.float32), labels=np.asarray(labels))
    (folder / "metrics.json").write_text(json.dumps({"member": name, "study": "s", "lineage": "l", "seed": 0, "task": "image"}))
    return folder


def test_ensemble_averages_probabilities(tmp_path):
    labels = [0, 1]
    a = member(tmp_path / "gen1", "gen1", [[0.6, 0.4], [0.6, 0.4]], labels)  # second sample wrong
    b = member(tmp_path / "gen2", "gen2", [[0.2, 0.8], [0.2, 0.8]], labels)  # first sample wrong
    metrics = ensemble([a, b], "ens2")
    # mean: [[0.4, 0.6], [0.4, 0.6]] -> first wrong, second right
    assert metrics["members"] == ["gen1", "gen2"] and metrics["member"] == "ens2"
    assert metrics["test_error"] == 50.0
    assert metrics["test_nll"] == pytest.approx(-(np.log(0.4) + np.log(0.6)) / 2, rel=1e-6)


def test_ensemble_refuses_mismatched_members(tmp_path):
    a = member(tmp_path / "gen1", "gen1", [[0.6, 0.4]], [0])
    b = member(tmp_path / "gen2", "gen2", [[0.6, 0.4]], [1])
    with pytest.raises(EnsembleError, match="test labels differ"):
        ensemble([a, b], "ens2")
    with pytest.raises(EnsembleError, match="missing"):
        ensemble([a, tmp_path / "gen3"], "ens2")
