"""Nothing lost: killed jobs resume, killed workflows keep finished work, bad input costs nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ban.lifecycle import run_member as train
from tests.datasets.test_cifar import RunsCode, write_cifar
from tests.workflow.conftest import make_project, project_env, read_config, snakemake, write_config

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
    """A fresh Snakemake whose trainers are fresh processes, as a user's are: these tests kill them."""
    return subprocess.Popen(
        [sys.executable, "-m", "snakemake", "--cores", "2", *args], cwd=project, env=project_env(project, warm_trainers=False),
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


def teacher_on_other_data(folder: Path, dataset: dict) -> str:
    """A real model.pt of the tiny lineage's teacher architecture whose spec records the study's
    dataset with another ``data_seed`` (other synthetic images)."""
    from ban.checkpoint import save_model
    from ban.models import build_model

    args = {"width": 4, "hidden": 16}
    path = folder / "other_data" / "model.pt"
    path.parent.mkdir(parents=True)
    info = {"name": "cnn", "args": args, "in_channels": 1, "num_classes": 4}
    save_model(path, build_model("cnn", 1, 4, **args), info, "synthetic", {"dataset": {**dataset, "data_seed": 7}})
    return str(path)


def cifar_that_runs_code(folder: Path) -> str:
    """CIFAR-10 files in torchvision's format whose batches.meta would run ``touch <folder>/ran``
    when unpickled; the dataset root."""
    write_cifar(folder, hundred=False)
    meta = folder / "cifar-10-batches-py" / "batches.meta"
    entry = pickle.loads(meta.read_bytes())
    entry["num_vis"] = RunsCode(folder / "ran")
    meta.write_bytes(pickle.dumps(entry))
    return str(folder)


def lineage(config: dict) -> dict:
    return config["studies"]["tiny"]["lineages"]["cnn"]


def study(config: dict) -> dict:
    return config["studies"]["tiny"]


def override(member: str, **change):
    return lambda c, tmp: lineage(c)["overrides"].update({member: change})


def edits(*changes):
    """One config edit made of several: each case group below changes different keys at once."""
    return lambda c, tmp: [change(c, tmp) for change in changes]


# case group -> (edit, messages): every message is one line of the same failed run. The groups
# keep the suite short; each edit touches its own member or key, so every problem is reported.
BAD_INPUTS = {
    "schema violations": (
        edits(lambda c, tmp: study(c)["recipe"].update(epochs=0), override("gen1", recipe={"epochs": -2}),
              lambda c, tmp: lineage(c).update(generations=0)),
        ["config: studies.tiny.recipe.epochs: 0 is less than the minimum",
         "config: studies.tiny.lineages.cnn.overrides.gen1.recipe.epochs: -2 is less than the minimum",
         "config: studies.tiny.lineages.cnn.generations: 0 is less than the minimum"],
    ),
    "ensemble_with_teacher that is no ensemble": (
        lambda c, tmp: lineage(c).update(ensemble_with_teacher=[3]),
        ["studies.tiny.lineages.cnn.ensemble_with_teacher: [3] not in ensembles [2]"],
    ),
    "teacher_checkpoint that does not exist": (
        lambda c, tmp: lineage(c).update(teacher_checkpoint=str(tmp / "gone/model.pt")),
        ["teacher_checkpoint: {tmp}/gone/model.pt (seed 0) does not exist and no member of this run writes it"],
    ),
    "unknown dataset": (lambda c, tmp: study(c)["dataset"].update(name="mnist"), ["unknown dataset 'mnist'; valid:"]),
    "model and objective arguments": (
        edits(override("gen2", model={"name": "resnet50"}), override("gen1", objective="kd"),
              override("ban_l", objective_args={"temprature": 2.0}), override("cwtm", model={"name": "wrn-13-1"}),
              override("dkpp", model={"name": "cnn", "args": {"width": 4, "hidden": 16, "depth": 3}}),
              lambda c, tmp: lineage(c).update(objective_args={"temperature": "2"})),
        ["seed0/gen2: unknown model 'resnet50'; valid:",
         "seed0/gen1: objective.name: unknown objective 'kd'",
         "seed0/ban_l: objective.args.temprature = 2.0: not an argument of objective 'ban_l' (allowed: label_weight, temperature)",
         "seed0/cwtm: wrn depth must be 6n+4",
         "unexpected keyword argument 'depth'",
         "seed0/gen2: objective.args.temperature = '2': must be a number"],
    ),
    "a batch larger than the training set": (  # 128 training images once half of the 256 are held out
        edits(lambda c, tmp: study(c)["dataset"].update(val_split=0.5), override("gen1", recipe={"batch_size": 200})),
        ["seed0/gen1: recipe.batch_size = 200 is larger than the 128 training images of synthetic (after dataset.train_subset "
         "and val_split); allowed: 1 to the training set's size"],
    ),
    "teacher_checkpoint trained on other data": (
        lambda c, tmp: lineage(c).update(teacher_checkpoint=teacher_on_other_data(tmp, study(c)["dataset"])),
        ["{tmp}/other_data/model.pt: trained on other data than the study's: dataset data_seed 7 there, 1234 here"],
    ),
    "dataset arguments": (
        edits(lambda c, tmp: study(c)["dataset"].update(n_train="256"), lambda c, tmp: study(c)["dataset"].update(n_trian=256)),
        ["dataset.n_train = '256': must be an integer", "dataset.n_trian = 256: not an argument of dataset 'synthetic' (allowed:"],
    ),
    "student cannot take the teacher's classes": (
        lambda c, tmp: lineage(c).update(teacher_checkpoint=teacher_with_classes(tmp, 6)),
        ["predicts 6 classes, the study's synthetic has 4; its students cannot take the teacher's classes"],
    ),
    "missing dataset root": (
        lambda c, tmp: study(c).update(dataset={"name": "fashion_mnist", "root": str(tmp / "nowhere")}),
        ["Fashion-MNIST not found under"],
    ),
    "a CIFAR pickle that would run code": (  # the pre-flight check reads it: verify off skips the md5s
        lambda c, tmp: study(c).update(dataset={"name": "cifar10", "root": cifar_that_runs_code(tmp / "cifar"), "verify": False}),
        ["{tmp}/cifar/cifar-10-batches-py/batches.meta: refused: it calls posix.system, which would run code"],
    ),
    "corrupt dataset files": (
        lambda c, tmp: study(c).update(dataset={"name": "fashion_mnist", "root": str(tmp / "data")}),
        ["checksum mismatch"],
    ),
}


def assert_one_line_errors(text: str, message: str) -> None:
    """``message`` stands in short lines of their own, and no traceback or schema dump is shown."""
    lines = [line for line in text.splitlines() if message in line]
    assert lines, text[-3000:]
    assert all(len(line) < 600 for line in lines), lines  # one line, naming its paths (long under pytest-xdist)
    assert "Traceback" not in text and "Failed validating" not in text, text[-3000:]


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_error_and_loses_nothing(tiny_copy, tmp_path, monkeypatch, case):
    edit, messages = BAD_INPUTS[case]
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
    for message in messages:
        assert_one_line_errors(text, message.format(tmp=tmp_path))
    assert fingerprints(tiny_copy / "results") == before
    assert not (tmp_path / "cifar" / "ran").exists()


def test_a_key_given_twice_is_one_line(tiny_copy):
    before = fingerprints(tiny_copy / "results")
    text = (tiny_copy / "config.yaml").read_text()
    (tiny_copy / "config.yaml").write_text(text.replace("    seeds:", "    seeds: [5]\n    seeds:", 1))
    out = snakemake(tiny_copy, check=False)
    assert out.returncode != 0
    assert_one_line_errors(out.stdout + out.stderr, "key 'seeds' given twice in one mapping")
    assert fingerprints(tiny_copy / "results") == before


CORRUPTIONS = {
    "truncated checkpoint": ("gen0/model.pt", lambda p: p.write_bytes(p.read_bytes()[:5000]),
                             "results/tiny/cnn/seed0/gen0/model.pt: not the file this member's training wrote"),
    "predictions cut to 100 rows": ("gen1/predictions.npz", lambda p: cut_predictions(p, 100),
                                    "results/tiny/cnn/seed0/gen1/predictions.npz: not the file this member's training wrote"),
    "metrics that are not JSON": ("gen2/metrics.json", lambda p: p.write_text("{oops"),
                                  "results/tiny/cnn/seed0/gen2/metrics.json: unusable metrics file"),
}


def cut_predictions(path: Path, rows: int) -> None:
    import numpy as np

    with np.load(path) as arrays:
        kept = {key: arrays[key][:rows] for key in arrays.files}
    with open(path, "wb") as handle:
        np.savez(handle, **kept)


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_a_damaged_finished_file_stops_the_run_before_anything_is_deleted(tiny_copy, case):
    relative, damage, message = CORRUPTIONS[case]
    damage(tiny_copy / "results/tiny/cnn/seed0" / relative)
    before = fingerprints(tiny_copy / "results")
    out = snakemake(tiny_copy, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    folder = "results/tiny/cnn/seed0/" + relative.split("/")[0]
    assert_one_line_errors(text, message)
    assert f"{message}" in text and f"delete {folder} to rebuild it" in text
    assert fingerprints(tiny_copy / "results") == before
    if case == "truncated checkpoint":
        shutil.rmtree(tiny_copy / folder)  # the way out the message names: the member comes back (from the store)
        snakemake(tiny_copy, f"{folder}/model.pt")
        torch.load(tiny_copy / folder / "model.pt", weights_only=True)


def test_changing_the_device_reruns_nothing(tiny_copy):
    config = read_config(tiny_copy)
    config["device"] = "cpu"
    write_config(tiny_copy, config)
    out = snakemake(tiny_copy, "--dry-run")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_plain_snakemake_applies_the_default_profile(finished_tiny, tiny_copy):
    """The command users type, `snakemake --cores N`, loads profiles/default (keep-going,
    rerun-incomplete); the trained outputs are real files that share no inode with the store.
    (The dry run writes Snakemake's caches: it runs in a copy, as the finished study is shared.)"""
    out = snakemake(tiny_copy, "--dry-run")
    assert "Using workflow specific profile profiles/default" in out.stdout + out.stderr
    model = finished_tiny / "results/tiny/cnn/seed0/gen0/model.pt"
    assert not model.is_symlink() and model.stat().st_nlink == 1
    kept = [p for p in (finished_tiny / ".ban-store").glob("*/model.pt") if p.read_bytes() == model.read_bytes()]
    assert len(kept) == 1 and not kept[0].samefile(model)


def test_a_killed_workflow_leaves_no_trainer_writing(tmp_path):
    """kill -9 of Snakemake alone: its trainers stop within seconds (--watch-pid), the killed
    students resume after --unlock and finish, and the finished teachers are not retrained."""
    project = make_project(tmp_path / "project")
    config = slow_config(project, epochs=20)  # students long enough to be mid-run for seconds after the kill
    config["studies"]["tiny"]["seeds"] = [0]
    lineage(config).update(generations=1, controls=["cwtm"], ensembles=[], independent=0,
                           overrides={"gen0": {"recipe": {"epochs": 2}}})  # only the students need to be long
    write_config(project, config)
    run = popen_snakemake(project)
    seeds = [project / "results/tiny/cnn/seed0"]
    try:
        wait_for(lambda: all((d / "gen0/metrics.json").exists() for d in seeds), what="the teacher")
        wait_for(lambda: all(resume_epoch(d / m) >= 1 for d in seeds for m in ("gen1", "cwtm")), what="both students mid-run")
        os.kill(run.pid, signal.SIGKILL)  # Snakemake only: its trainers are left running
        run.wait(timeout=60)
        killed = time.monotonic()
        wait_for(lambda: not trainers(project), timeout=30, what="the trainers to stop")
        assert time.monotonic() - killed < 15
    finally:
        os.killpg(run.pid, signal.SIGKILL)
    stopped = [p.read_text() for p in (project / "logs/tiny/cnn").rglob("*.log")]
    assert any(f"workflow process {run.pid} has ended" in log for log in stopped)
    teachers = {d.name: fingerprints(d / "gen0") for d in seeds}
    snakemake(project, "--unlock")
    out = snakemake(project, *(f"results/tiny/cnn/{d.name}/{m}/metrics.json" for d in seeds for m in ("gen1", "cwtm")))  # the students
    text = out.stdout + out.stderr
    assert "rule teacher:" not in text and "localrule teacher:" not in text
    assert {d.name: fingerprints(d / "gen0") for d in seeds} == teachers
    logs = [p.read_text() for p in (project / "logs/tiny/cnn").rglob("*.log")]
    assert any("resumed from epoch" in log for log in logs)


def trainers(project: Path) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"ban train .*{project}"], capture_output=True, text=True)
    own = subprocess.run(["pgrep", "-f", "ban train .*--out results/tiny"], capture_output=True, text=True)
    return [pid for pid in (found.stdout + own.stdout).split() if Path(f"/proc/{pid}/cwd").exists()
            and os.readlink(f"/proc/{pid}/cwd") == str(project)]


def test_a_failed_jobs_error_line_is_on_the_console(tiny_copy):
    """At the end of a run, each job of this run whose log ends in `error: …` is one console line
    `<log>: error: …` (Snakefile onerror, ban/failures.py): a diverged training and a truncated
    resume.pt, whose line names the way out; an earlier run's failed log is not repeated."""
    config = read_config(tiny_copy)
    lineage(config)["overrides"] = {"ind1": {"recipe": {"lr": 1e12}},  # diverges in its first epoch
                                    "gen2": {"recipe": {"epochs": 4}}}  # a new identity: trained, it reads resume.pt
    write_config(tiny_copy, config)
    gen2 = tiny_copy / "results/tiny/cnn/seed0/gen2"
    (gen2 / "resume.pt").write_bytes((gen2 / "model.pt").read_bytes()[:5000])
    earlier = tiny_copy / "logs/tiny/cnn/seed1/dkpp.log"
    earlier.write_text("error: the error of an earlier run\n")
    failing = [f"results/tiny/cnn/seed{seed}/ind1/metrics.json" for seed in (0, 1)] + ["results/tiny/cnn/seed0/gen2/metrics.json"]
    out = snakemake(tiny_copy, *failing, check=False)  # the members that fail (a full run adds trainings that succeed)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    for seed in (0, 1):
        assert_one_line_errors(text, f"logs/tiny/cnn/seed{seed}/ind1.log: error: training diverged in epoch 1 (loss nan)")
    resume = "results/tiny/cnn/seed0/gen2/resume.pt"
    assert_one_line_errors(text, f"logs/tiny/cnn/seed0/gen2.log: error: {resume}: unreadable or truncated checkpoint")
    assert f"delete {resume} to start this member afresh" in text
    assert "the error of an earlier run" not in text
    (tiny_copy / resume).unlink()  # the way out the line names
    snakemake(tiny_copy, str(gen2.relative_to(tiny_copy) / "metrics.json"))


def test_cuda_without_cuda_is_refused_on_a_dry_run(tiny_copy):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    before = fingerprints(tiny_copy / "results")
    config = read_config(tiny_copy)
    config["device"] = "cuda"
    write_config(tiny_copy, config)
    out = snakemake(tiny_copy, "--dry-run", check=False)
    assert out.returncode != 0
    assert_one_line_errors(out.stdout + out.stderr, "device: device 'cuda' requested but CUDA is not available (allowed here: auto or cpu)")
    assert fingerprints(tiny_copy / "results") == before


def test_an_edited_report_file_is_named_kept_and_rebuilt(tiny_copy):
    """A report job records the sha256 of what it wrote; the next invocation, a dry run too, names a
    file changed since, keeps it as <file>.edited and plans its job; the run rebuilds it."""
    table = tiny_copy / "results/tiny/table.md"
    original = table.read_bytes()
    table.write_text(table.read_text().replace("|", "!", 3))
    out = snakemake(tiny_copy, "--dry-run")
    text = out.stdout + out.stderr
    assert_one_line_errors(text, "results/tiny/table.md: changed since its job wrote it (sha256 differs from "
                                 ".snakemake/ban/written/results/tiny/table.md.json); kept as results/tiny/table.md.edited")
    assert "rule table:" in text and "output: results/tiny/table.csv, results/tiny/table.md, results/tiny/table.tex" in text
    assert (tiny_copy / "results/tiny/table.md.edited").read_text().count("!") == 3
    snakemake(tiny_copy)
    assert table.read_bytes() == original
    again = snakemake(tiny_copy, "--dry-run")
    assert "Nothing to be done" in again.stdout + again.stderr
