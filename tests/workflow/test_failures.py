"""Nothing lost: killed jobs resume, killed workflows keep finished work, bad input costs nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ban.train import train
from tests.workflow.conftest import make_project, read_config, snakemake, write_config

FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


def fingerprints(folder: Path) -> dict[str, tuple[int, str]]:
    """mtime and sha256 of every file below ``folder``."""
    return {
        str(p.relative_to(folder)): (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def slow_config(project: Path, epochs: int = 6) -> dict:
    """The tiny study with enough data that an epoch takes a noticeable fraction of a second."""
    config = read_config(project)
    study = config["studies"]["tiny"]
    study["dataset"].update(n_train=3072, size=16)
    study["recipe"]["epochs"] = epochs
    return config


def popen_snakemake(project: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(project)}
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=project, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )


def wait_for(condition, timeout: float = 240.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def resume_epoch(member_dir: Path) -> int:
    path = member_dir / "resume.pt"
    try:
        return torch.load(path, weights_only=True)["epoch"]
    except Exception:  # not there yet, or being renamed into place
        return 0


def test_training_killed_mid_run_resumes_bit_for_bit(tmp_path):
    project = make_project(tmp_path / "project")
    write_config(project, slow_config(project))
    member = project / "results/tiny/cnn/seed0/gen0"
    target = str(member.relative_to(project) / "metrics.json")
    run = popen_snakemake(project, target)
    try:
        wait_for(lambda: resume_epoch(member) >= 2, what="two finished epochs")
        trainer = subprocess.run(["pgrep", "-f", f"ban train .*--out {member.relative_to(project)}"], capture_output=True, text=True)
        for pid in trainer.stdout.split():
            os.kill(int(pid), signal.SIGKILL)
        run.wait(timeout=120)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    killed_at = resume_epoch(member)
    assert 2 <= killed_at < 6 and not (member / "metrics.json").exists()

    snakemake(project, target)
    log = (project / "logs/tiny/cnn/seed0/gen0.log").read_text()
    assert f"resumed from epoch {killed_at}" in log
    assert not (member / "resume.pt").exists()

    saved = torch.load(member / "model.pt", weights_only=True)
    reference = train(saved["spec"], tmp_path / "reference", log=lambda _: None)
    expected = torch.load(tmp_path / "reference/model.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(saved["state_dict"][k], expected[k]) for k in expected)
    resumed = json.loads((member / "metrics.json").read_text())
    assert [r["test_error"] for r in resumed["history"]] == [r["test_error"] for r in reference["history"]]
    assert resumed["test_nll"] == reference["test_nll"]


def test_killed_workflow_keeps_finished_generations(tmp_path):
    project = make_project(tmp_path / "project")
    write_config(project, slow_config(project, epochs=4))
    run = popen_snakemake(project)
    seed_dirs = [project / f"results/tiny/cnn/seed{s}" for s in (0, 1)]
    try:
        wait_for(lambda: all((d / "gen0/metrics.json").exists() for d in seed_dirs), what="both teachers")
        wait_for(lambda: any(resume_epoch(d / m) >= 1 for d in seed_dirs for m in ("gen1", "ban_l", "cwtm", "dkpp")), what="a student mid-run")
    finally:
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=60)
    finished = {d.name: fingerprints(d / "gen0") for d in seed_dirs}
    snakemake(project, "--unlock")  # a SIGKILLed Snakemake leaves its directory lock behind
    out = snakemake(project, "--rerun-incomplete")
    text = out.stdout + out.stderr
    assert "localrule teacher" not in text and "rule teacher:" not in text
    assert {d.name: fingerprints(d / "gen0") for d in seed_dirs} == finished
    assert (project / "results/tiny/table.md").exists()
    assert any("resumed from epoch" in p.read_text() for p in (project / "logs/tiny/cnn").rglob("*.log"))


def corrupt_fashion_mnist(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for source in FASHION_MNIST.glob("*.gz"):
        shutil.copy2(source, folder / source.name)
    labels = folder / "t10k-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(labels.read_bytes()))
    raw[100] ^= 0xFF
    labels.write_bytes(gzip.compress(bytes(raw)))
    return folder


def teacher_with_classes(folder: Path, num_classes: int) -> str:
    """A real model.pt of the tiny lineage's teacher architecture, on its dataset, with other classes."""
    from ban.checkpoint import save_model
    from ban.models import build_model

    args = {"width": 4, "hidden": 16}
    model = build_model("cnn", 1, num_classes, **args)
    path = folder / "other_teacher" / "model.pt"
    path.parent.mkdir(parents=True)
    info = {"name": "cnn", "args": args, "in_channels": 1, "num_classes": num_classes}
    save_model(path, model, info, "synthetic", {})
    return str(path)


BAD_INPUTS = {
    "invalid model depth": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"].update(student={"name": "wrn-13-1"}), "wrn depth must be 6n+4"),
    "unknown model name": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"]["overrides"].update(gen2={"model": {"name": "resnet50"}}), "unknown model 'resnet50'; valid:"),
    "unknown objective": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"]["overrides"].update(gen1={"objective": "kd"}), "objective"),
    "unknown dataset": (lambda c, tmp: c["studies"]["tiny"]["dataset"].update(name="mnist"), "unknown dataset 'mnist'; valid:"),
    "zero epochs": (lambda c, tmp: c["studies"]["tiny"]["recipe"].update(epochs=0), "epochs"),
    "negative epochs": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"]["overrides"].update(gen1={"recipe": {"epochs": -2}}), "epochs"),
    "no generations": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"].update(generations=0), "generations"),
    "unknown model argument": (lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"]["teacher"]["args"].update(depth=3), "depth"),
    "student cannot take the teacher's classes": (
        lambda c, tmp: c["studies"]["tiny"]["lineages"]["cnn"].update(teacher_checkpoint=teacher_with_classes(tmp, 6)),
        "predicts 6 classes, the study's synthetic has 4; its students cannot take the teacher's classes",
    ),
    "missing dataset root": (
        lambda c, tmp: c["studies"]["tiny"].update(dataset={"name": "fashion_mnist", "root": str(tmp / "nowhere")}),
        "Fashion-MNIST not found under",
    ),
    "corrupt dataset files": (
        lambda c, tmp: c["studies"]["tiny"].update(dataset={"name": "fashion_mnist", "root": str(tmp / "data")}),
        "checksum mismatch",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_error_and_loses_nothing(tiny_copy, tmp_path, monkeypatch, case):
    edit, message = BAD_INPUTS[case]
    if case in ("missing dataset root", "corrupt dataset files"):
        if not FASHION_MNIST.is_dir():
            pytest.skip("Debian package dataset-fashion-mnist is not installed")
        system = corrupt_fashion_mnist(tmp_path / "system") if case == "corrupt dataset files" else tmp_path / "empty"
        system.mkdir(exist_ok=True)
        monkeypatch.setenv("BAN_SYSTEM_DATA", str(system))
    before = fingerprints(tiny_copy / "results")
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"].setdefault("overrides", {})
    edit(config, tmp_path)
    write_config(tiny_copy, config)
    out = snakemake(tiny_copy, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert message in text, text[-3000:]
    assert fingerprints(tiny_copy / "results") == before
