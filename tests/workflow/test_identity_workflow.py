"""A result is keyed by exactly what makes it: real Snakemake runs of the tiny study.

- Names are not part of a training's identity: a second study that asks for the same trainings
  restores them (byte-identical files), and renaming a lineage trains nothing.
- The recorded identity is compared with the config on every invocation, without Snakemake's
  records: a changed recipe, or an imported checkpoint replaced in place, plans exactly its members.
- The environment is part of the store's key: a store made under another CPU kernel level is not
  restored; ``store=off`` retrains; ``ban status`` names a result of another environment.
- The store shares no inode with ``results/``: an in-place write to a results file leaves the store
  and another clone intact, and is named by the next run. Two clones training the same spec at
  the same time end with one entry and the same files.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from ban.files import sha256_file
from ban.store import Store
from tests.workflow.conftest import TINY, make_project, planned_jobs, project_env, read_config, snakemake, write_config

REPORTS = {"table", "plot", "claims"}
TRAINED = ("gen0", "gen1", "gen2", "ban_l", "cwtm", "dkpp", "dkpp_fixed", "ind1")


def log_of(project: Path, study: str, lineage: str, label: str) -> str:
    return (project / f"logs/{study}/{lineage}/{label}.log").read_text()


def files_of(folder: Path) -> dict[str, str]:
    return {name: sha256_file(folder / name) for name in ("model.pt", "predictions.npz")}


def status(project: Path, *args: str) -> str:
    out = subprocess.run([sys.executable, "-m", "ban", "status", *args], cwd=project, env=project_env(project),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_names_are_not_part_of_the_identity(tiny_copy):
    """A second study of the same trainings (seed 0, gen0 and gen1) restores them from the store:
    its files are byte-identical to the first study's; renaming its lineage trains nothing."""
    config = read_config(tiny_copy)
    second = copy.deepcopy(config["studies"]["tiny"])
    second["seeds"] = [0]
    second["lineages"]["cnn"].update(generations=1, controls=[], ensembles=[], independent=0)
    config["studies"]["again"] = second
    write_config(tiny_copy, config)
    dry = snakemake(tiny_copy, "--dry-run")
    assert "2 members ask for the training of an earlier one and restore it from the store" in dry.stderr, dry.stderr[-2000:]
    snakemake(tiny_copy, *(f"results/again/cnn/seed0/{member}/metrics.json" for member in ("gen0", "gen1")))  # reports: below
    for member in ("gen0", "gen1"):
        log = log_of(tiny_copy, "again", "cnn", f"seed0/{member}")
        assert "restored from the store" in log and "epoch" not in log, log
        assert files_of(tiny_copy / f"results/again/cnn/seed0/{member}") == files_of(tiny_copy / f"results/tiny/cnn/seed0/{member}")
        metrics = json.loads((tiny_copy / f"results/again/cnn/seed0/{member}/metrics.json").read_text())
        assert (metrics["study"], metrics["lineage"], metrics["member"]) == ("again", "cnn", member)

    config["studies"]["again"]["lineages"] = {"renamed": config["studies"]["again"]["lineages"]["cnn"]}
    write_config(tiny_copy, config)
    assert planned_jobs(tiny_copy) == {"seed0/gen0", "seed0/gen1"} | REPORTS  # a new folder to fill, from the store
    snakemake(tiny_copy)
    for member in ("gen0", "gen1"):
        log = log_of(tiny_copy, "again", "renamed", f"seed0/{member}")
        assert "restored from the store" in log and "epoch" not in log, log
    assert planned_jobs(tiny_copy) == set()


def test_the_config_is_compared_on_every_invocation(tiny_copy, tmp_path):
    """Without .snakemake/, a changed recipe plans exactly the members it changes, and ban status
    names them; an imported checkpoint replaced in place (an old mtime) plans its members."""
    shutil.rmtree(tiny_copy / ".snakemake")
    assert planned_jobs(tiny_copy) == set()
    config = read_config(tiny_copy)
    config["studies"]["tiny"]["lineages"]["cnn"]["overrides"] = {"cwtm": {"recipe": {"epochs": 4}}}
    write_config(tiny_copy, config)
    shutil.rmtree(tiny_copy / ".snakemake")
    assert planned_jobs(tiny_copy) == {"seed0/cwtm", "seed1/cwtm"} | REPORTS
    rows = [line.split() for line in status(tiny_copy).splitlines()[2:]]
    assert {(row[1], row[2]) for row in rows if row[3:] == ["differs", "from", "the", "config"]} == {("0", "cwtm"), ("1", "cwtm")}
    assert {row[3] for row in rows if row[2] != "cwtm"} == {"finished"}

    # A lineage imported from checkpoints outside results/; one is then replaced in place.
    del config["studies"]["tiny"]["lineages"]["cnn"]["overrides"]
    for seed in (0, 1):
        shutil.copyfile(tiny_copy / f"results/tiny/cnn/seed{seed}/gen0/model.pt", tmp_path / f"teacher{seed}.pt")
    cnn = config["studies"]["tiny"]["lineages"]["cnn"]
    config["studies"]["tiny"]["lineages"]["reused"] = {"teacher": cnn["teacher"], "generations": 1,
                                                       "teacher_checkpoint": str(tmp_path / "teacher{seed}.pt")}
    write_config(tiny_copy, config)
    snakemake(tiny_copy, *(f"results/tiny/reused/seed{s}/gen1/metrics.json" for s in (0, 1)))
    old = os.stat(tmp_path / "teacher1.pt")
    shutil.copyfile(tiny_copy / "results/tiny/cnn/seed1/ind1/model.pt", tmp_path / "teacher1.pt")
    os.utime(tmp_path / "teacher1.pt", ns=(old.st_atime_ns, old.st_mtime_ns - 10**12))
    shutil.rmtree(tiny_copy / ".snakemake")
    planned = planned_jobs(tiny_copy, *(f"results/tiny/reused/seed{s}/gen1/metrics.json" for s in (0, 1)))
    assert planned == {"seed1/gen0", "seed1/gen1"}


def test_the_environment_keys_the_store_and_store_off_retrains(tiny_copy):
    """metrics.json records the environment; a store made under the AVX2 kernel level is not
    restored under ATEN_CPU_CAPABILITY=default, whose result ban status then names; with
    --config store=off a deleted member trains again and nothing is kept."""
    target = "results/tiny/cnn/seed0/gen0/metrics.json"
    recorded = json.loads((tiny_copy / target).read_text())["environment"]
    assert set(recorded) == {"python", "torch", "numpy", "device", "cpu_capability", "precision"}
    assert recorded["device"] == "cpu" and recorded["precision"] == "fp32"
    assert recorded["cpu_capability"] == os.environ.get("ATEN_CPU_CAPABILITY", "avx2")  # ban caps x86 CPUs at AVX2
    store = Store(tiny_copy / ".ban-store")
    kept = len(store.entries())

    shutil.rmtree(tiny_copy / "results/tiny/cnn/seed0/gen0")
    snakemake(tiny_copy, target, env={"ATEN_CPU_CAPABILITY": "default"})
    log = log_of(tiny_copy, "tiny", "cnn", "seed0/gen0")
    assert "restored" not in log and "epoch   3/3" in log, log
    assert json.loads((tiny_copy / target).read_text())["environment"]["cpu_capability"] == "default"
    assert len(store.entries()) == kept + 1  # beside the AVX2 entry, not over it
    row = next(line for line in status(tiny_copy).splitlines() if line.split()[1:3] == ["0", "gen0"])
    assert row.split(None, 3)[3] == f"finished (other environment: cpu_capability default -> {recorded['cpu_capability']})"

    shutil.rmtree(tiny_copy / "results/tiny/cnn/seed0/gen0")
    snakemake(tiny_copy, target, "--config", "store=off")
    log = log_of(tiny_copy, "tiny", "cnn", "seed0/gen0")
    assert "restored" not in log and "epoch   3/3" in log, log
    assert len(store.entries()) == kept + 1


def flip_a_byte(path: Path) -> None:
    """Change one byte of ``path`` in place (the same inode, as an editor or np.savez would)."""
    with open(path, "r+b") as handle:
        handle.seek(100)
        byte = handle.read(1)
        handle.seek(100)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_results_share_no_inode_with_the_store_or_another_clone(tiny_copy, tmp_path):
    """A second clone restored from the same store; np.savez onto one clone's predictions.npz and a
    flipped byte in its model.pt leave the store's entries and the other clone's files as they were,
    and the next run names the damaged files."""
    clone = tmp_path / "clone"
    shutil.copytree(tiny_copy, clone, symlinks=True, ignore=shutil.ignore_patterns("results", ".snakemake", "logs", ".ban-store"))
    shared = {"BAN_STORE": str(tiny_copy / ".ban-store")}
    snakemake(clone, *(f"results/tiny/cnn/seed0/{m}/metrics.json" for m in TRAINED), env=shared)
    assert "restored from the store" in log_of(clone, "tiny", "cnn", "seed0/gen2")
    before = {m: files_of(clone / f"results/tiny/cnn/seed0/{m}") for m in TRAINED}
    store = Store(tiny_copy / ".ban-store")
    entries = {e.path.name: {n: sha256_file(e.path / n) for n in ("model.pt", "predictions.npz")} for e in store.entries()}

    damaged = tiny_copy / "results/tiny/cnn/seed0/gen2"
    with np.load(damaged / "predictions.npz") as saved:
        arrays = {key: saved[key] for key in saved.files}
    arrays["probs"] = np.full_like(arrays["probs"], 0.25)
    np.savez(damaged / "predictions.npz", **arrays)  # written in place: the same inode
    flip_a_byte(damaged / "model.pt")

    assert {m: files_of(clone / f"results/tiny/cnn/seed0/{m}") for m in TRAINED} == before
    assert {e.path.name: {n: sha256_file(e.path / n) for n in ("model.pt", "predictions.npz")} for e in store.entries()} == entries
    key = json.loads((damaged / "metrics.json").read_text())["store_key"]
    assert store.check(key)["key"] == key
    out = snakemake(tiny_copy, "--dry-run", check=False)
    assert out.returncode != 0
    named = [line for line in (out.stdout + out.stderr).splitlines() if "not the file this member's training wrote" in line]
    assert {line.split(":")[0] for line in named} == {str(Path("results/tiny/cnn/seed0/gen2") / n) for n in ("model.pt", "predictions.npz")}


def test_two_clones_training_the_same_spec_at_once_train_it_once(tiny_copy, tmp_path):
    """Two real Snakemake runs of two clones that share an empty store start together on the same
    teacher: one trains, the other waits and restores; one entry, the same bytes in both."""
    store = tmp_path / "shared-store"
    clones = []
    for name in ("one", "two"):
        clone = tmp_path / name
        shutil.copytree(tiny_copy, clone, symlinks=True, ignore=shutil.ignore_patterns("results", ".snakemake", "logs", ".ban-store"))
        clones.append(clone)
    env = {"BAN_STORE": str(store)}
    runs = [subprocess.Popen([sys.executable, "-m", "snakemake", "--cores", "1", "results/tiny/cnn/seed0/gen0/metrics.json"],
                             cwd=clone, env={**project_env(clone), **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for clone in clones]
    for run in runs:
        output = run.communicate(timeout=600)[0]
        assert run.returncode == 0, output[-3000:]
    logs = [log_of(clone, "tiny", "cnn", "seed0/gen0") for clone in clones]
    assert sorted("restored from the store" in log for log in logs) == [False, True], logs
    assert len(Store(store).entries()) == 1
    first, second = (files_of(clone / "results/tiny/cnn/seed0/gen0") for clone in clones)
    assert first == second == files_of(tiny_copy / "results/tiny/cnn/seed0/gen0")


def test_a_store_path_that_is_a_file_is_one_line(tiny_copy):
    store = tiny_copy / ".ban-store"
    shutil.rmtree(store)
    store.write_text("not a folder\n")
    out = snakemake(tiny_copy, "--dry-run", check=False)
    assert out.returncode != 0 and "Traceback" not in out.stderr
    lines = [line for line in (out.stdout + out.stderr).splitlines() if "invalid store" in line]
    assert lines == [f"invalid store: store {store}: a file, not a folder ($BAN_STORE, else .ban-store in the project, names "
                     "the store of finished trainings; move the file or set $BAN_STORE to a folder, or to off)"], out.stderr[-2000:]
    assert hashlib.sha256(store.read_bytes()).hexdigest() == hashlib.sha256(b"not a folder\n").hexdigest()


def test_a_tuning_point_of_the_teachers_setting_is_the_teachers_training(tmp_path):
    """A dry run of a sweep over ``teacher_recipe.select`` whose lineage has a ``tuning`` grid over
    ``recipe.select`` (students train to the end). Per seed: in cell selectlast tune1 (last) is
    gen0's training; in cell selectbest_val gen0 (best_val) is selectlast's tune2, and its tune1
    and tune2 are selectlast's gen0 and tune2. 40 trained members, 32 trainings."""
    base = yaml.safe_load(TINY.read_text())["studies"]["tiny"]
    base["dataset"]["val_split"] = 0.25
    base["recipe"]["select"] = "last"
    base["lineages"]["cnn"]["tuning"] = {"recipe.select": ["last", "best_val"]}
    factors = {"lineages.*.teacher_recipe.select": ["last", "best_val"]}
    project = make_project(tmp_path / "project", {"sweeps": {"stop": {"base": base, "factors": factors}}})
    dry = snakemake(project, "--dry-run")
    text = dry.stdout + dry.stderr
    assert "40 trained members, 32 distinct trainings: 8 members ask for the training of an earlier one" in dry.stderr, dry.stderr[-3000:]
    for cell in ("stop.selectlast", "stop.selectbest_val"):
        for member in ("gen0", "gen1", "ind1", "tune1", "tune2"):
            assert f"results/{cell}/cnn/seed1/{member}/metrics.json" in text
    counts = {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", text.split("Job stats:")[1], re.M)}
    assert (counts["teacher"], counts["tuning"], counts["independent"]) == (4, 8, 4)
