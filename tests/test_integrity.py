"""Finished member folders against the hashes they record (ban/integrity.py), on real files."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ban.integrity import HashMemo, finished_problems, remove_dangling
from ban.store import sha256_file


def member(folder: Path, teacher: Path | None = None, content: str = "weights") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.pt").write_text(content)
    (folder / "predictions.npz").write_text(f"predictions of {content}")
    files = {name: sha256_file(folder / name) for name in ("model.pt", "predictions.npz")}
    teacher_sha = sha256_file(teacher / "model.pt") if teacher else None
    (folder / "metrics.json").write_text(json.dumps({"files": files, "teacher_sha256": teacher_sha}))
    return folder


def age(path: Path, seconds: int) -> None:
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns - seconds * 10**9))


def test_intact_folders_pass_and_a_changed_file_is_named(tmp_path):
    teacher = member(tmp_path / "gen0")
    student = member(tmp_path / "gen1", teacher)
    assert finished_problems([(str(teacher), None), (str(student), str(teacher))]) == []
    (student / "predictions.npz").write_text("forged")
    (tmp_path / "gen0/model.pt").unlink()  # missing: a target of the run, rebuilt; not a problem here
    problems = finished_problems([(str(teacher), None), (str(student), str(teacher))])
    assert problems == [f"{student}/predictions.npz: not the file this member's training wrote (its sha256 differs from "
                        f"the one {student}/metrics.json records); delete {student} to rebuild it"]


def test_a_student_of_another_teacher_is_named_unless_the_workflow_retrains_it(tmp_path):
    teacher = member(tmp_path / "gen0")
    student = member(tmp_path / "gen1", teacher)
    member(tmp_path / "gen0", content="other weights")  # the teacher's folder replaced ...
    age(teacher / "model.pt", 3600)  # ... by files older than the student: Snakemake would not rerun it
    problems = finished_problems([(str(student), str(teacher))])
    assert len(problems) == 1 and problems[0].startswith(f"{student}: trained on another teacher than {teacher}/model.pt")
    assert problems[0].endswith(f"delete {student} to retrain it")
    age(student / "metrics.json", 7200)  # a teacher newer than the student: rerun by Snakemake, no error
    assert finished_problems([(str(student), str(teacher))]) == []


def test_hashes_are_remembered_by_inode_size_and_mtime(tmp_path):
    file = tmp_path / "model.pt"
    file.write_text("a")
    memo = HashMemo(tmp_path / "memo.json")
    assert memo.sha256(file) == sha256_file(file)
    memo.save()
    again = HashMemo(tmp_path / "memo.json")
    assert again.sha256(file) == sha256_file(file) and not again.changed  # read from the memo
    file.write_text("b")  # another size and mtime: hashed again
    assert again.sha256(file) == sha256_file(file) and again.changed


def test_dangling_links_are_removed_and_nothing_else(tmp_path):
    real = tmp_path / "real.pt"
    real.write_text("x")
    (tmp_path / "good").symlink_to(real)
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    removed = remove_dangling([str(tmp_path / n) for n in ("real.pt", "good", "dangling", "missing")])
    assert removed == [str(tmp_path / "dangling")]
    assert real.exists() and (tmp_path / "good").exists() and not os.path.lexists(tmp_path / "dangling")
