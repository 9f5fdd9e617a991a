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


def test_disagreement_of_a_three_member_ensemble_by_hand(tmp_path):
    labels = [0, 1, 2, 0]
    # top-1 predictions: a = (0, 1, 2, 0), b = (0, 1, 0, 1), c = (2, 1, 2, 1)
    a = member(tmp_path / "gen1", "gen1", np.eye(3)[[0, 1, 2, 0]] * 0.7 + 0.1, labels)
    b = member(tmp_path / "gen2", "gen2", np.eye(3)[[0, 1, 0, 1]] * 0.7 + 0.1, labels)
    c = member(tmp_path / "gen3", "gen3", np.eye(3)[[2, 1, 2, 1]] * 0.7 + 0.1, labels)
    # pairs: a–b differ on samples 3, 4; a–c on 1, 4; b–c on 1, 3: 50 % each, mean 50 %
    assert ensemble([a, b, c], "ens3")["disagreement"] == pytest.approx(50.0)
    # one pair, a–b: 2 of 4 samples
    assert ensemble([a, b], "ens2")["disagreement"] == pytest.approx(50.0)
    d = member(tmp_path / "gen4", "gen4", np.eye(3)[[0, 1, 2, 1]] * 0.7 + 0.1, labels)  # differs from a on sample 4
    # a–c 50 %, a–d 25 % (sample 4), c–d 25 % (sample 1): mean 100/3
    assert ensemble([a, c, d], "ens3")["disagreement"] == pytest.approx(100 / 3)


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
