"""The workflow tests' trainings (``python -m ban train`` forked from ``warm_trainer.py``) are the
trainings a user's fresh process runs: the same bytes, the same failure line, and a trainer ends
when its job is killed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess

import pytest

from tests.workflow.conftest import REPO, WARM_TRAINER_SERVER, project_env, read_config, snakemake, write_config
from tests.workflow.test_failures import wait_for

pytestmark = pytest.mark.skipif(os.environ.get("BAN_TEST_FRESH_TRAINERS") == "1", reason="BAN_TEST_FRESH_TRAINERS=1: no warm trainer")

FILES = ("model.pt", "predictions.npz")


def digests(folder) -> dict[str, str]:
    return {name: hashlib.sha256((folder / name).read_bytes()).hexdigest() for name in FILES}


def test_a_warm_training_writes_the_bytes_of_a_fresh_process(tiny_copy):
    """The finished tiny study was trained warm; its seed-0 teacher and BAN-1 student, trained
    again by fresh processes (no store to restore from), are byte-identical."""
    seed0 = tiny_copy / "results/tiny/cnn/seed0"
    warm = {member: digests(seed0 / member) for member in ("gen0", "gen1")}
    for member in ("gen0", "gen1"):
        shutil.rmtree(seed0 / member)
    shutil.rmtree(tiny_copy / ".ban-store")
    before = len(WARM_TRAINER_SERVER.requests())
    snakemake(tiny_copy, "results/tiny/cnn/seed0/gen1/metrics.json", warm_trainers=False)
    assert WARM_TRAINER_SERVER.requests()[before:] == []  # both trained afresh
    assert any(argv[:3] == ["-m", "ban", "train"] for argv in WARM_TRAINER_SERVER.requests())  # the study was trained warm
    for member in ("gen0", "gen1"):
        assert "epoch" in (tiny_copy / f"logs/tiny/cnn/seed0/{member}.log").read_text()
        assert digests(seed0 / member) == warm[member], member


def test_a_warm_training_fails_as_a_fresh_one_does(tiny_copy):
    """A diverging training: a failed job and the same one error line in its log, either way."""
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"ind1": {"recipe": {"lr": 1e12}}}
    write_config(tiny_copy, config)
    target = "results/tiny/cnn/seed0/ind1/metrics.json"
    log = tiny_copy / "logs/tiny/cnn/seed0/ind1.log"
    lines = []
    for warm in (True, False):
        before = len(WARM_TRAINER_SERVER.requests())
        out = snakemake(tiny_copy, target, check=False, warm_trainers=warm)
        assert out.returncode != 0
        assert len(WARM_TRAINER_SERVER.requests()) - before == (1 if warm else 0)
        lines.append([line for line in log.read_text().splitlines() if line.startswith("error: ")])
    assert lines[0] == lines[1] and len(lines[0]) == 1, lines
    assert lines[0][0].startswith("error: training diverged in epoch 1 (loss nan)")


def test_a_warm_trainer_ends_when_its_client_is_killed(tiny_spec, tmp_path):
    """``kill -9`` of a job's ``python -m ban train`` (no ``--watch-pid``: only the server can stop
    it): the trainer forked for it ends within seconds, thousands of epochs before its last."""
    spec = {**tiny_spec, "recipe": {**tiny_spec["recipe"], "epochs": 5000}}
    env = {**project_env(REPO), "BAN_STORE": str(tmp_path / "store")}
    with open(tmp_path / "gen0.log", "w") as log:
        job = subprocess.Popen(["python", "-m", "ban", "train", "--spec", json.dumps(spec), "--out", str(tmp_path / "gen0"),
                                "--device", "cpu", "--threads", "1"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: (tmp_path / "gen0/resume.pt").exists(), what="the first epoch")
        assert WARM_TRAINER_SERVER.trainers(), "the training was not forked by the server"
        job.kill()
        job.wait(timeout=10)
        wait_for(lambda: not WARM_TRAINER_SERVER.trainers(), timeout=5, what="the trainer to end")
    finally:
        job.kill()
    assert "epoch 5000/5000" not in (tmp_path / "gen0.log").read_text()
