"""The store of finished trainings: identity, hash-checked restores, pruning that cannot lose data,
permissions and full disks. Trainings run through the real command line (``python -m ban train``)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ban.files import DiskFullError, sha256_file, write_json
from ban.identity import member_identity
from ban.lifecycle import run_member
from ban.store import LOCKS, Store
from tests.conftest import TINY_SPEC

REPO = Path(__file__).resolve().parents[1]


def ban(*args: str, store: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BAN_STORE": str(store), "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "ban", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def train(spec: dict, out: Path, store: Path, teacher: Path | None = None) -> str:
    """``run_member`` with the store at ``store``, in this process (the command line does the
    same, and looks in the store before importing torch); returns the log."""
    lines = []
    run_member(spec, out, teacher, device="cpu", log=lines.append, store=Store(store))
    return "\n".join(lines)


def student_spec() -> dict:
    return {**TINY_SPEC, "member": "gen1", "objective": {"name": "ban", "args": {}}, "train_seed": 1}


@contextlib.contextmanager
def tiny_disk(folder: Path, size: str):
    """A real, small tmpfs at ``folder`` (root only; skipped elsewhere)."""
    folder.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("a tmpfs cannot be mounted here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_store_key_is_the_identity_and_the_teachers_bytes(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"teacher a")
    b.write_bytes(b"teacher b")
    spec = student_spec()
    assert member_identity(spec, a) == member_identity(spec, a)
    assert member_identity(spec, a).key != member_identity(spec, b).key
    assert member_identity(spec, a).hash != member_identity({**spec, "train_seed": 2}, a).hash
    assert member_identity(spec, a).teacher_sha256 == sha256_file(a)
    imported = {**TINY_SPEC, "checkpoint": str(a)}
    before = member_identity(imported)
    a.write_bytes(b"another file at the same path")
    assert member_identity(imported).hash != before.hash and member_identity(imported).checkpoint_sha256 == sha256_file(a)


def test_a_student_of_a_changed_teacher_is_trained_never_restored(tmp_path):
    """The stale-student case: the same student spec under a retrained teacher must train."""
    store = tmp_path / "store"
    teacher = tmp_path / "gen0"
    train(TINY_SPEC, teacher, store)
    student = tmp_path / "gen1"
    first = train(student_spec(), student, store, teacher=teacher / "model.pt")
    assert "restored" not in first
    old = {name: (student / name).read_bytes() for name in ("model.pt", "predictions.npz")}
    recorded = json.loads((student / "metrics.json").read_text())
    assert recorded["teacher_sha256"] == sha256_file(teacher / "model.pt")
    assert recorded["files"] == {name: sha256_file(student / name) for name in ("model.pt", "predictions.npz")}

    train({**TINY_SPEC, "recipe": {**TINY_SPEC["recipe"], "epochs": 4}}, teacher, store)  # the teacher changes
    for name in ("model.pt", "predictions.npz", "metrics.json"):
        (student / name).unlink()  # what Snakemake does before rerunning the student
    again = train(student_spec(), student, store, teacher=teacher / "model.pt")
    assert "restored" not in again and "epoch   3/3" in again
    assert (student / "predictions.npz").read_bytes() != old["predictions.npz"]
    assert json.loads((student / "metrics.json").read_text())["teacher_sha256"] == sha256_file(teacher / "model.pt")


def test_restores_are_verified_by_hash(tmp_path):
    """An intact entry comes back byte-identical without training; a truncated or forged one is
    removed and the member trained again (to the same bytes: CPU training is deterministic)."""
    store = tmp_path / "store"
    member = tmp_path / "gen0"
    train(TINY_SPEC, member, store)
    original = {name: (member / name).read_bytes() for name in ("model.pt", "predictions.npz")}
    entry = Store(store).entry(member_identity(TINY_SPEC).key)

    def rebuild() -> str:
        shutil.rmtree(member)
        return train(TINY_SPEC, member, store)

    assert "restored from the store" in rebuild()
    assert {name: (member / name).read_bytes() for name in original} == original
    assert (member / "model.pt").stat().st_ino != (entry / "model.pt").stat().st_ino  # a copy: results/ cannot reach the store

    with np.load(entry / "predictions.npz") as saved:  # forged: uniform probabilities, a new file
        forged = {key: saved[key] for key in saved.files}
    forged["probs"] = np.full_like(forged["probs"], 0.25)
    (entry / "predictions.npz").unlink()
    with open(entry / "predictions.npz", "wb") as handle:
        np.savez(handle, **forged)
    out = rebuild()
    assert "is damaged (predictions.npz does not match its recorded sha256)" in out and "epoch   3/3" in out
    assert (member / "predictions.npz").read_bytes() == original["predictions.npz"]

    (entry / "model.pt").write_bytes(b"")  # emptied in place
    out = rebuild()
    assert "is damaged (model.pt does not match its recorded sha256)" in out and "epoch   3/3" in out
    assert {name: (member / name).read_bytes() for name in original} == original


def finished(folder: Path, spec: dict, store: Store) -> str:
    """A member folder with two small output files and the metrics.json that records them, kept in
    ``store``; returns its store key."""
    folder.mkdir(parents=True)
    for name in ("predictions.npz", "model.pt"):
        (folder / name).write_text(f"{name} of seed {spec['train_seed']}\n")
    identity = member_identity(spec)
    files = {name: sha256_file(folder / name) for name in ("model.pt", "predictions.npz")}
    write_json(folder / "metrics.json", {**identity.record(), "files": files})
    assert store.keep(identity, folder, spec, log=pytest.fail)
    return identity.key


def test_prune_deletes_only_entries_no_member_folder_uses(tmp_path):
    """Two projects share one store; prune lists first, deletes only with --yes, and keeps what
    either project uses, also when a project holds copies (another file system)."""
    root = tmp_path / "shared-store"
    store = Store(root)
    kept = {finished(tmp_path / "one/gen0", TINY_SPEC, store), finished(tmp_path / "two/gen0", {**TINY_SPEC, "train_seed": 3}, store)}
    unused = finished(tmp_path / "one/old", {**TINY_SPEC, "train_seed": 4}, store)
    shutil.rmtree(tmp_path / "one/old")  # an earlier spec: its entry is not used any more
    copied = tmp_path / "copied/gen0"
    kept.add(finished(copied, {**TINY_SPEC, "train_seed": 5}, store))
    for name in ("model.pt", "predictions.npz", "metrics.json"):  # as if results/ were on another disk
        data = (copied / name).read_bytes()
        (copied / name).unlink()
        (copied / name).write_bytes(data)

    listing = ban("store", "--prune", store=root, cwd=tmp_path)
    assert listing.returncode == 0 and "rerun with --yes" in listing.stdout and unused[:16] in listing.stdout
    assert {e.path.name for e in store.entries()} == kept | {unused}
    typo = ban("store", "--prune", "--yes", "--results", "results/tyni", store=root, cwd=tmp_path)
    assert typo.returncode == 2 and len(store.entries()) == 4  # no option of that name: nothing deleted
    deleted = ban("store", "--prune", "--yes", store=root, cwd=tmp_path)
    assert deleted.returncode == 0, deleted.stderr
    assert {e.path.name for e in store.entries()} == kept
    assert "nothing to prune" in ban("store", "--prune", "--yes", store=root, cwd=tmp_path).stdout


@pytest.mark.parametrize("record", [{"files": []}, {"files": {"model.pt": 1}, "placed": "x"}, ["files"]])
def test_an_entry_with_a_malformed_record_is_listed_and_pruned_only_when_unused(tmp_path, record):
    """``python -m ban store`` reads a record.json whose ``files`` or ``placed`` is of another kind
    as unreadable: the entry is counted and named, never restored, and deleted by prune (a member
    folder holds copies of its files, so no result is lost)."""
    root = tmp_path / "store"
    store = Store(root)
    used = finished(tmp_path / "project/gen0", TINY_SPEC, store)
    unused = finished(tmp_path / "project/old", {**TINY_SPEC, "train_seed": 4}, store)
    shutil.rmtree(tmp_path / "project/old")
    for identity in (used, unused):
        (root / identity / "record.json").write_text(json.dumps(record))
    listing = ban("store", "--prune", store=root, cwd=tmp_path)
    assert listing.returncode == 0 and "Traceback" not in listing.stderr, listing.stderr
    assert f"2 without a readable record.json (never restored): {', '.join(sorted([used[:16], unused[:16]]))}" in listing.stdout
    for key in (used, unused):
        assert f"{key[:16]}     0.00 MB  no readable record" in listing.stdout
    assert ban("store", "--prune", "--yes", store=root, cwd=tmp_path).returncode == 0
    assert store.entries() == [] and {p.name for p in (tmp_path / "project/gen0").iterdir()} >= {"model.pt", "metrics.json"}


@pytest.mark.torch_process
def test_store_files_follow_the_umask(tmp_path):
    """A real ``python -m ban train`` under umask 027: every store folder is 0750 and every file
    0640, exactly what the umask allows (never world-writable, never narrower than asked)."""
    previous = os.umask(0o027)  # inherited by the child process
    try:
        out = ban("train", "--spec", json.dumps(TINY_SPEC), "--out", str(tmp_path / "gen0"), "--device", "cpu",
                  store=tmp_path / "store", cwd=tmp_path)
    finally:
        os.umask(previous)
    assert out.returncode == 0, out.stderr[-2000:]
    paths = [tmp_path / "store", *(tmp_path / "store").rglob("*")]
    assert len(paths) == 9  # the store, one entry: model.pt, predictions.npz, metrics.json, record.json; .locks: 2 locks
    for path in paths:
        assert oct(path.stat().st_mode & 0o777) == oct(0o750 if path.is_dir() else 0o640), path


@pytest.mark.torch_process
def test_a_full_store_keeps_the_outputs(tmp_path):
    """The store on a full disk (another file system, so it copies): one warning line, the member
    folder untouched, no entry and no temporary folder left."""
    folder = tmp_path / "gen0"
    folder.mkdir()
    for name in ("predictions.npz", "model.pt", "metrics.json"):
        (folder / name).write_bytes(os.urandom(40_000))
    before = {name: (folder / name).read_bytes() for name in ("predictions.npz", "model.pt", "metrics.json")}
    with tiny_disk(tmp_path / "store", "64k") as root:
        lines = []
        assert not Store(root).keep(member_identity(TINY_SPEC), folder, TINY_SPEC, log=lines.append)
        assert len(lines) == 1 and lines[0].startswith("warning: not kept in the store") and "no space left" in lines[0]
        assert "120,000 bytes needed" in lines[0], lines
        assert [p.name for p in root.iterdir()] == [LOCKS]
    assert {name: (folder / name).read_bytes() for name in before} == before

    # A real training whose store is full: it finishes (exit 0), warns once, keeps what it wrote.
    with tiny_disk(tmp_path / "small", "8k") as root:
        out = ban("train", "--spec", json.dumps(TINY_SPEC), "--out", str(tmp_path / "trained"), "--device", "cpu",
                  store=root, cwd=tmp_path)
        assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-2000:]
        warnings = [line for line in (out.stdout + out.stderr).splitlines() if "not kept in the store" in line]
        assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "no space left" in warnings[0], warnings
        assert [p.name for p in root.iterdir()] == [LOCKS]
    recorded = json.loads((tmp_path / "trained" / "metrics.json").read_text())["files"]
    assert recorded.keys() == {"model.pt", "predictions.npz"}
    assert {name: sha256_file(tmp_path / "trained" / name) for name in recorded} == recorded


@pytest.mark.torch_process
def test_a_full_disk_is_one_line_and_keeps_the_previous_file(tmp_path):
    """Writing on a full disk: one line naming the folder and the bytes needed (``error:`` from the
    command line, no traceback); the file being replaced keeps its previous content."""
    with tiny_disk(tmp_path / "full", "96k") as disk:
        write_json(disk / "metrics.json", {"kept": True})
        with pytest.raises(DiskFullError, match=r"no space left on device to write metrics\.json \([\d,]+ bytes needed"):
            write_json(disk / "metrics.json", {"big": "x" * 200_000})
        assert json.loads((disk / "metrics.json").read_text()) == {"kept": True}
        out = ban("train", "--spec", json.dumps(TINY_SPEC), "--out", str(disk / "gen0"), "--device", "cpu",
                  store=tmp_path / "store", cwd=tmp_path)
        assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr[-2000:]
        lines = [line for line in out.stderr.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and str(disk / "gen0") in lines[0] and "bytes needed" in lines[0], out.stderr


def test_an_entry_filed_under_another_key_or_forged_whole_is_refused(tmp_path):
    """An entry copied under another training's key, and one whose model.pt was replaced with
    record.json updated to match, are refused (removed) and the member trained again; a restore
    never serves them."""
    store = tmp_path / "store"
    train(TINY_SPEC, tmp_path / "a", store)
    other = {**TINY_SPEC, "train_seed": 9}
    misfiled = Store(store).entry(member_identity(other).key)
    shutil.copytree(Store(store).entry(member_identity(TINY_SPEC).key), misfiled)
    log = train(other, tmp_path / "b", store)
    assert "describes another training" in log and "epoch   3/3" in log, log
    assert sha256_file(tmp_path / "b/predictions.npz") != sha256_file(tmp_path / "a/predictions.npz")

    entry = Store(store).entry(member_identity(TINY_SPEC).key)
    shutil.copyfile(tmp_path / "b/model.pt", entry / "model.pt")  # forged: another model, and a record to match
    record = json.loads((entry / "record.json").read_text())
    record["files"]["model.pt"] = sha256_file(entry / "model.pt")
    (entry / "record.json").write_text(json.dumps(record))
    shutil.rmtree(tmp_path / "a")
    log = train(TINY_SPEC, tmp_path / "a", store)
    assert "its metrics.json records another training or other files than record.json" in log and "epoch   3/3" in log, log


def test_an_unreadable_store_file_is_one_line_and_deletes_nothing(tmp_path):
    """A store file that cannot be read (here a folder where model.pt should be: EISDIR, as root
    too) is not damage: one line, the entry left as it is, the member trained."""
    store = tmp_path / "store"
    train(TINY_SPEC, tmp_path / "a", store)
    entry = Store(store).entry(member_identity(TINY_SPEC).key)
    (entry / "model.pt").unlink()
    (entry / "model.pt").mkdir()
    shutil.rmtree(tmp_path / "a")
    log = train(TINY_SPEC, tmp_path / "a", store)
    lines = [line for line in log.splitlines() if "store entry" in line]
    assert len(lines) == 1 and "cannot be read" in lines[0] and "left as it is" in lines[0], log
    assert (entry / "model.pt").is_dir() and (entry / "record.json").is_file()
    assert "epoch   3/3" in log


def test_a_restore_onto_a_full_disk_is_one_line_and_deletes_nothing(tmp_path):
    """The member folder on a full disk: the restore says so in one line and returns nothing (the
    job then trains, and a full disk stops that with its own line); the entry stays intact."""
    store = tmp_path / "store"
    train(TINY_SPEC, tmp_path / "a", store)
    key = member_identity(TINY_SPEC).key
    with tiny_disk(tmp_path / "full", "16k") as disk:
        lines = []
        assert Store(store).restore(member_identity(TINY_SPEC), disk / "gen0", TINY_SPEC, log=lines.append) is None
        assert len(lines) == 1 and lines[0].startswith("cannot restore from the store") and "no space left" in lines[0], lines
        assert "nothing deleted" in lines[0]
    assert Store(store).check(key)["key"] == key


def test_a_restore_names_the_member_that_asked_and_drops_the_trainers_tuning_point(tmp_path):
    """tune1 of the teacher's setting is the teacher's training: whichever of the two keeps it, the
    other restores it with its own names, and the teacher's metrics.json carries no tuning point."""
    store = Store(tmp_path / "store")
    point = {"objective_args.label_smoothing": 0, "recipe.select": "last"}
    tune = {**TINY_SPEC, "member": "tune1", "tuning_point": point}
    folder = tmp_path / "tune1"
    finished(folder, tune, store)
    write_json(folder / "metrics.json", {**json.loads((folder / "metrics.json").read_text()), "member": "tune1", "tuning_point": point})
    key = member_identity(tune).key
    store.keep(member_identity(tune), folder, tune, log=lambda line: None)
    assert json.loads((store.entry(key) / "metrics.json").read_text())["tuning_point"] == point  # the stored record has it
    restored = store.restore(member_identity(TINY_SPEC), tmp_path / "gen0", TINY_SPEC, log=lambda line: None)
    assert restored["member"] == "gen0" and "tuning_point" not in restored
    assert "tuning_point" not in json.loads((tmp_path / "gen0" / "metrics.json").read_text())
    again = store.restore(member_identity(tune), tmp_path / "tune1b", tune, log=lambda line: None)
    assert again["member"] == "tune1" and again["tuning_point"] == point
