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


def test_ensemble_refuses_members_of_another_dataset_spec(tmp_path):
    a = member(tmp_path / "gen1", "gen1", [[0.6, 0.4]], [0])
    b = member(tmp_path / "gen2", "gen2", [[0.6, 0.4]], [0])
    for folder, subset in ((a, 0), (b, 500)):
        metrics = json.loads((folder / "metrics.json").read_text())
        metrics["dataset_spec"] = {"name": "fashion_mnist", "train_subset": subset}
        (folder / "metrics.json").write_text(json.dumps(metrics))
    with pytest.raises(EnsembleError, match=r"gen2: trained on dataset .*'train_subset': 500.*gen1 on"):
        ensemble([a, b], "ens2")


def test_a_bad_member_file_is_named(tmp_path):
    a = member(tmp_path / "gen1", "gen1", [[0.6, 0.4]], [0])
    b = member(tmp_path / "gen2", "gen2", [[0.6, 0.4]], [0])
    (b / "metrics.json").write_text("{oops")
    with pytest.raises(EnsembleError, match=f"{b}/metrics.json: unusable metrics file"):
        ensemble([a, b], "ens2")
    b.joinpath("metrics.json").write_text(a.joinpath("metrics.json").read_text())
    b.joinpath("predictions.npz").write_bytes(a.joinpath("predictions.npz").read_bytes()[:40])
    with pytest.raises(EnsembleError, match=f"{b}/predictions.npz: unreadable predictions"):
        ensemble([a, b], "ens2")
