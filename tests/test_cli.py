"""`python -m ban evaluate` scores a saved model.pt as its training run did, and takes from the
checkpoint's embedded spec nothing that would write outside the project or download."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ban.lifecycle import run_member as train

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def evaluate(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ban", "evaluate", *args, "--device", "cpu"], capture_output=True, text=True,
                          cwd=cwd, env=ENV, timeout=300)


@pytest.fixture
def model(tiny_spec, tmp_path) -> Path:
    """A trained tiny model.pt in ``tmp_path/project``."""
    train(tiny_spec, tmp_path / "project/gen0", log=lambda line: None)
    return tmp_path / "project/gen0/model.pt"


def embed_dataset(path: Path, dataset: dict) -> None:
    """Rewrite the dataset of the spec the checkpoint at ``path`` embeds."""
    ckpt = torch.load(path, weights_only=True)
    ckpt["spec"]["dataset"] = dataset
    torch.save(ckpt, path)


@pytest.mark.torch_process
def test_evaluate_prints_the_scores_of_a_saved_model(tiny_spec, tmp_path):
    metrics = train(tiny_spec, tmp_path / "gen0", log=lambda line: None)
    out = subprocess.run(
        [sys.executable, "-m", "ban", "evaluate", str(tmp_path / "gen0" / "model.pt"), "--device", "cpu"],
        capture_output=True, text=True, check=True,
    ).stdout
    scores = json.loads(out)
    assert scores["test_error"] == metrics["test_error"]
    assert abs(scores["test_nll"] - metrics["test_nll"]) < 1e-5


@pytest.mark.torch_process
def test_an_unknown_key_of_the_embedded_dataset_is_one_line(model, tiny_spec):
    embed_dataset(model, {**tiny_spec["dataset"], "n_trian": 256})
    out = evaluate("gen0/model.pt", cwd=model.parents[1])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1
    assert out.stderr.startswith("error: gen0/model.pt: its spec's dataset.n_trian = 256: not an argument of dataset "
                                 "'synthetic' (allowed: channels, data_seed, "), out.stderr


@pytest.mark.torch_process
def test_the_embedded_root_outside_the_project_and_download_are_not_used(model, tmp_path):
    """A spec that says ``root: <elsewhere>, download: true`` creates nothing there (Fashion-MNIST
    would be staged or downloaded into it): one line asks for --data-root."""
    elsewhere = tmp_path / "elsewhere"
    embed_dataset(model, {"name": "fashion_mnist", "root": str(elsewhere), "download": True})
    out = evaluate("gen0/model.pt", cwd=model.parents[1])
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.splitlines() == [f"error: gen0/model.pt: its spec's dataset.root '{elsewhere}' is outside this project "
                                       f"({model.parents[1]}); name the data folder with --data-root"]
    assert not elsewhere.exists()
    embed_dataset(model, {"name": "fashion_mnist", "root": "../elsewhere"})  # also when relative
    assert "is outside this project" in evaluate("gen0/model.pt", cwd=model.parents[1]).stderr
    assert not elsewhere.exists()


@pytest.mark.torch_process
def test_a_data_root_named_on_the_command_line_is_used(model, tiny_spec, tmp_path):
    embed_dataset(model, {**tiny_spec["dataset"], "root": str(tmp_path / "elsewhere"), "download": True})
    out = evaluate("gen0/model.pt", "--data-root", str(tmp_path / "named"), cwd=model.parents[1])
    assert out.returncode == 0, out.stderr
    assert 0 <= json.loads(out.stdout)["test_error"] <= 100
    assert not (tmp_path / "elsewhere").exists()


def test_a_reader_that_goes_away_stops_the_output_quietly(tmp_path):
    """``python -m ban status | head``: the pipe closes before the first line is written."""
    proc = subprocess.Popen([sys.executable, "-m", "ban", "status", "--configfile", str(REPO / "tests/workflow/tiny.yaml")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait() == 141 and err == "", err
