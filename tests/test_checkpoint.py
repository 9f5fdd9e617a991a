"""Checkpoints: atomic writes, weights-only loading, and one-line refusals."""

import os

import pytest
import torch

from ban import checkpoint as ckpt_io
from ban.checkpoint import CheckpointError
from ban.lifecycle import run_member as train


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.conftest import TINY_SPEC

    out = tmp_path_factory.mktemp("teacher")
    spec = {**TINY_SPEC, "recipe": {**TINY_SPEC["recipe"], "epochs": 1}}
    train(spec, out, log=lambda _: None)
    return out / "model.pt"


def test_truncated_checkpoint_is_refused(trained, tmp_path):
    broken = tmp_path / "model.pt"
    broken.write_bytes(trained.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r"model.pt: unreadable or truncated"):
        ckpt_io.load_model_checkpoint(broken)


def test_pickle_that_runs_code_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    torch.save({"format": ckpt_io.MODEL_FORMAT, "payload": RunsCode(marker)}, evil)
    with pytest.raises(CheckpointError, match="refused, not a plain weights file"):
        ckpt_io.load_model_checkpoint(evil)
    assert not marker.exists()


def test_other_dataset_or_class_count_is_refused(trained):
    with pytest.raises(CheckpointError, match="trained on dataset 'synthetic', expected 'cifar10'"):
        ckpt_io.load_model_checkpoint(trained, dataset="cifar10")
    with pytest.raises(CheckpointError, match="has 4 classes, the dataset has 10"):
        ckpt_io.load_model_checkpoint(trained, dataset="synthetic", num_classes=10)


def test_weights_of_another_architecture_are_refused(trained, tmp_path):
    ckpt = ckpt_io.load_model_checkpoint(trained)
    ckpt["model"]["args"] = {"width": 8, "hidden": 16}
    with pytest.raises(CheckpointError, match="weights do not fit architecture 'cnn'"):
        ckpt_io.build_from_checkpoint(ckpt, trained)


def test_missing_and_foreign_files_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        ckpt_io.load_torch(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a ban model checkpoint"):
        ckpt_io.load_model_checkpoint(tmp_path / "other.pt")


def test_rng_state_round_trips_through_weights_only_load(tmp_path):
    g = torch.Generator().manual_seed(3)
    ckpt_io.save_torch({"rng": ckpt_io.rng_state({"g": g})}, tmp_path / "s.pt")
    expected = [torch.rand(3, generator=g), torch.rand(3)]
    state = torch.load(tmp_path / "s.pt", weights_only=True)["rng"]
    g2 = torch.Generator()
    ckpt_io.set_rng_state(state, {"g": g2})
    assert torch.equal(torch.rand(3, generator=g2), expected[0]) and torch.equal(torch.rand(3), expected[1])
