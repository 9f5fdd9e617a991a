"""The SLURM profile on a real one-node SLURM cluster (scripts/slurm/start.sh, as root).

One module-scoped run does everything. It trims the tiny study to one seed, one generation, one
control and Ens*2 with the teacher, so every rule kind is present. It runs that study through
``--workflow-profile workflow/profiles/slurm`` and, at the same time, locally. Once the teacher's
SLURM job has written its first epoch checkpoint, the job is ``scancel``-ed. The tests then check:

* every training job went through ``sbatch``, and the cheap rules did not. Each job id appears in
  Snakemake's log, has its own ``.snakemake/slurm_logs`` file and shows in ``squeue --states=all``.
* Snakemake resubmitted the cancelled teacher with twice the time limit (attempt 2), and the
  trainer carried on from its checkpoint (``resumed from epoch N``) rather than from scratch.
* the SLURM run leaves the same files as the local run, with equal scores: a resumed run trains
  exactly as an uninterrupted one.
* ``scripts/slurm/stop.sh`` leaves no daemon running.

Needs root: it installs munge/slurm-wlm when they are missing and starts munged, slurmctld and
slurmd. Elsewhere it is skipped with that reason.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slurm

REPO = Path(__file__).resolve().parents[2]
SLURM_SCRIPTS = REPO / "scripts" / "slurm"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
STATE_DIR = Path(os.environ.get("BAN_SLURM_DIR", "/tmp/ban-slurm"))
TRAINING_RULES = {"teacher", "generation", "control"}
TEACHER_EPOCHS = 60  # long enough to cancel the teacher's job between two epochs
RUN_TIMEOUT = 600
# What the test node can give a job (2 CPUs, no GPU): small requests, 10 minutes per attempt.
NODE_ENV = {
    "BAN_SLURM_PARTITION": "debug",
    "BAN_SLURM_GPUS": "0",
    "BAN_SLURM_CPUS": "1",
    "BAN_SLURM_MEM_MB": "1000",
    "BAN_SLURM_RUNTIME": "10",
}
DAEMONS = ("slurmctld", "slurmd", "slurmstepd")


def _tail(path: Path, lines: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else f"({path} missing)"


def _slurm_unavailable_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to install munge/slurm-wlm and run munged, slurmctld and slurmd"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and apt-get is unavailable to install it"
    return None


@pytest.fixture(scope="module")
def slurm_cluster():
    """A running one-node cluster (partition ``debug``); stopped again after the module."""
    reason = _slurm_unavailable_reason()
    if reason:
        pytest.skip(reason)
    started = time.perf_counter()
    proc = subprocess.run([str(SLURM_SCRIPTS / "start.sh")], capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        subprocess.run([str(SLURM_SCRIPTS / "stop.sh")], capture_output=True, timeout=120)
        pytest.fail(f"scripts/slurm/start.sh failed:\n{proc.stdout}\n{proc.stderr}")
    print(f"\n{proc.stdout.strip()} (fixture: {time.perf_counter() - started:.1f} s)")
    try:
        yield
    finally:
        subprocess.run([str(SLURM_SCRIPTS / "stop.sh")], capture_output=True, timeout=120)


def trimmed_tiny_study() -> dict:
    """tests/workflow/tiny.yaml cut to one seed, gen0 + gen1 + one control + Ens*2 (gen0, gen1)."""
    config = yaml.safe_load((REPO / "tests" / "workflow" / "tiny.yaml").read_text())
    config["device"] = "cpu"
    study = config["studies"]["tiny"]
    study["seeds"] = study["seeds"][:1]
    lineage = study["lineages"]["cnn"]
    lineage["generations"] = 1
    lineage["controls"] = lineage["controls"][:1]
    lineage["ensembles"] = [2]
    lineage["ensemble_with_teacher"] = [2]
    lineage["independent"] = 0
    lineage["overrides"] = {"gen0": {"recipe": {"epochs": TEACHER_EPOCHS}}}
    return config


@dataclass
class Runs:
    slurm_dir: Path
    local_dir: Path
    slurm_rc: int
    local_rc: int
    slurm_seconds: float
    local_seconds: float
    cancelled_job: str
    jobs: dict[str, tuple[str, str, str]]  # this run's SLURM job id -> (state, comment, time limit)

    def slurm_log(self) -> str:
        return (self.slurm_dir / "snakemake.out").read_text(errors="replace")


def _snakemake(workdir: Path, config: Path, *extra: str, env: dict) -> subprocess.Popen:
    """Start Snakemake on the repository's Snakefile in ``workdir``; its output goes to snakemake.out."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--configfile", str(config),
           "--nocolor", *extra]
    with open(workdir / "snakemake.out", "w") as out:
        return subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)


def _wait(proc: subprocess.Popen, deadline: float) -> int:
    try:
        return proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait(timeout=60)
        return -1


def _squeue_all(name: str | None = None) -> dict[str, tuple[str, str, str]]:
    """job id -> (state, comment, time limit) of every job squeue lists (of job name ``name``)."""
    cmd = ["squeue", "--states=all", "-h", "-o", "%i|%T|%k|%l"] + (["--name", name] if name else [])
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return {job: (state, comment, limit) for job, state, comment, limit in
            (line.split("|", 3) for line in out.splitlines() if line.strip())}


def _cancel_teacher_after_first_epoch(slurm_dir: Path, proc: subprocess.Popen, deadline: float) -> str:
    """Wait for the teacher's resume.pt, then scancel its SLURM job; return the job id."""
    member = slurm_dir / "results" / "tiny" / "cnn" / "seed0" / "gen0"
    while not (member / "resume.pt").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the teacher never wrote resume.pt; SLURM run log:\n{_tail(slurm_dir / 'snakemake.out')}")
        time.sleep(0.05)
    running = [job for job, (state, comment, _) in _squeue_all().items()
               if state == "RUNNING" and comment.startswith("rule_teacher_")]
    assert len(running) == 1, f"expected one running teacher job, squeue shows {_squeue_all()}"
    subprocess.run(["scancel", running[0]], check=True)
    assert not (member / "metrics.json").exists(), (
        f"the teacher finished before it could be cancelled; raise TEACHER_EPOCHS ({TEACHER_EPOCHS})")
    return running[0]


@pytest.fixture(scope="module")
def runs(slurm_cluster, tmp_path_factory) -> Runs:
    base = tmp_path_factory.mktemp("slurm_study")
    config = base / "tiny.yaml"
    config.write_text(yaml.safe_dump(trimmed_tiny_study()))
    slurm_dir, local_dir = base / "slurm", base / "local"
    slurm_dir.mkdir()
    local_dir.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAN_SLURM_", "SLURM_"))}
    env.update(NODE_ENV)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"

    deadline = time.monotonic() + RUN_TIMEOUT
    started = time.perf_counter()
    # The plugin polls squeue at a growing interval; start it at 1 s so the test stays short.
    slurm = _snakemake(slurm_dir, config, "--workflow-profile", str(PROFILE), "--latency-wait", "5",
                       "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
                       env=env)
    local = _snakemake(local_dir, config, "--cores", "1", env=env)
    try:
        cancelled = _cancel_teacher_after_first_epoch(slurm_dir, slurm, deadline)
        local_rc = _wait(local, deadline)
        local_seconds = time.perf_counter() - started
        slurm_rc = _wait(slurm, deadline)
        slurm_seconds = time.perf_counter() - started
    finally:
        for proc in (slurm, local):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=60)
    # The plugin names every job of a run after the run's id; MinJobAge=600 keeps finished jobs listed.
    run_id = re.search(r"SLURM run ID: (\S+)", (slurm_dir / "snakemake.out").read_text())
    jobs = _squeue_all(run_id.group(1)) if run_id else {}
    print(f"\nSLURM run {slurm_seconds:.0f} s, local run {local_seconds:.0f} s (concurrently)")
    return Runs(slurm_dir, local_dir, slurm_rc, local_rc, slurm_seconds, local_seconds, cancelled, jobs)


SUBMITTED = re.compile(r"has been submitted with SLURM jobid (\d+) \(log: \S*/rule_(\w+)/")


def submissions(log: str) -> list[tuple[str, str]]:
    """(rule, SLURM job id) of every submission in Snakemake's log, in order."""
    return [(rule, job) for job, rule in SUBMITTED.findall(log)]


def test_both_runs_succeed(runs):
    assert runs.local_rc == 0, f"local run failed:\n{_tail(runs.local_dir / 'snakemake.out')}"
    assert runs.slurm_rc == 0, f"SLURM run failed:\n{_tail(runs.slurm_dir / 'snakemake.out')}"


def test_training_jobs_went_through_sbatch(runs):
    subs = submissions(runs.slurm_log())
    assert sorted(rule for rule, _ in subs) == ["control", "generation", "teacher", "teacher"], subs
    for rule, job in subs:
        state, comment, _ = runs.jobs[job]
        assert comment.startswith(f"rule_{rule}_"), (job, comment)
        assert state == ("CANCELLED" if job == runs.cancelled_job else "COMPLETED"), (job, state)
        logs = list((runs.slurm_dir / ".snakemake" / "slurm_logs" / f"rule_{rule}").glob(f"*/{job}.log"))
        assert len(logs) == 1, f"no SLURM log for job {job}"
        if job != runs.cancelled_job:
            assert f"rule {rule}:" in logs[0].read_text(), f"{logs[0]} does not show rule {rule} running"
    # SLURM saw exactly these jobs from the run: the cheap rules ran on the submitting host
    assert set(runs.jobs) == {job for _, job in subs}
    assert {comment.split("_wildcards_")[0] for _, comment, _ in runs.jobs.values()} == {
        f"rule_{rule}" for rule in TRAINING_RULES}


def test_cancelled_teacher_resubmitted_and_resumed(runs):
    teacher_jobs = [job for rule, job in submissions(runs.slurm_log()) if rule == "teacher"]
    assert teacher_jobs[0] == runs.cancelled_job
    # attempt 2 asks for twice the first attempt's wall time (runtime = BAN_SLURM_RUNTIME * attempt)
    assert [runs.jobs[job][2] for job in teacher_jobs] == ["10:00", "20:00"]
    log = (runs.slurm_dir / "logs" / "tiny" / "cnn" / "seed0" / "gen0.log").read_text()
    resumed = re.search(r"resumed from epoch (\d+)", log)
    assert resumed, f"the resubmitted teacher started from scratch:\n{log[:2000]}"
    assert 1 <= int(resumed.group(1)) < TEACHER_EPOCHS
    metrics = json.loads((runs.slurm_dir / "results" / "tiny" / "cnn" / "seed0" / "gen0" / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["history"]] == list(range(1, TEACHER_EPOCHS + 1))
    assert not (runs.slurm_dir / "results" / "tiny" / "cnn" / "seed0" / "gen0" / "resume.pt").exists()


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


SCORES = ("test_error", "test_nll", "test_ece")


def test_outputs_equal_local_run(runs):
    slurm_results, local_results = runs.slurm_dir / "results", runs.local_dir / "results"
    assert _files(slurm_results) == _files(local_results)
    assert _files(runs.slurm_dir / "logs") == _files(runs.local_dir / "logs")
    for path in sorted(local_results.rglob("metrics.json")):
        local = json.loads(path.read_text())
        slurm = json.loads((slurm_results / path.relative_to(local_results)).read_text())
        assert set(slurm) == set(local), path
        for key in SCORES:
            assert slurm[key] == pytest.approx(local[key], rel=1e-6, abs=1e-9), (path, key)
        if "history" in local:
            assert [r["epoch"] for r in slurm["history"]] == [r["epoch"] for r in local["history"]], path
            assert [r["train_loss"] for r in slurm["history"]] == pytest.approx(
                [r["train_loss"] for r in local["history"]], rel=1e-6), path
    for path in sorted(local_results.rglob("predictions.npz")):
        with np.load(path) as local, np.load(slurm_results / path.relative_to(local_results)) as slurm:
            np.testing.assert_allclose(slurm["probs"], local["probs"], rtol=1e-5, atol=1e-7)
            np.testing.assert_array_equal(slurm["labels"], local["labels"])


def test_stop_leaves_no_daemons(runs):
    pids = {name: (STATE_DIR / f"{name}.pid").read_text().strip() for name in ("slurmctld", "slurmd")}
    proc = subprocess.run([str(SLURM_SCRIPTS / "stop.sh")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    for name, pid in pids.items():
        assert not Path(f"/proc/{pid}").exists(), f"{name} (pid {pid}) still running"
    for name in DAEMONS:
        assert subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 1, f"{name} still running"
    assert not Path("/etc/slurm/slurm.conf").exists()
