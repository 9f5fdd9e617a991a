"""A training's identity (ban.identity): names and places leave it, what decides the bytes stays."""

from __future__ import annotations

import copy

import pytest

from ban.datasets.files import GENERATED, data_digest
from ban.identity import identity_of, member_fields, member_identity, planned_identities, store_key, training_spec
from tests.conftest import TINY_SPEC

ENV = {"python": "3.11.7", "torch": "2.14.1", "numpy": "2.4.6", "device": "cpu", "cpu_capability": "avx2"}


def identity(spec: dict, teacher: str | None = None) -> str:
    return identity_of(spec, data_digest(spec["dataset"]), teacher, None)


def test_names_and_places_leave_the_identity():
    base = identity(TINY_SPEC)
    renamed = {**TINY_SPEC, "study": "other", "lineage": "renamed", "seed": 5, "member": "gen3"}
    moved = {**TINY_SPEC, "dataset": {**TINY_SPEC["dataset"], "root": "/elsewhere", "download": True}}
    assert identity(renamed) == identity(moved) == base
    assert training_spec(renamed) == training_spec(TINY_SPEC)
    assert not {"study", "lineage", "seed", "member", "checkpoint"} & training_spec({**TINY_SPEC, "checkpoint": "x.pt"}).keys()


def test_a_tuning_point_labels_a_member_outside_its_identity():
    """tune<i> records its point for the report; the same training under another label is one identity."""
    point = {"objective_args.label_smoothing": 0.1, "recipe.select": "best_val"}
    labelled = {**TINY_SPEC, "member": "tune3", "tuning_point": point}
    assert identity(labelled) == identity(TINY_SPEC) and "tuning_point" not in training_spec(labelled)
    assert member_fields(labelled)["tuning_point"] == point and "tuning_point" not in member_fields(TINY_SPEC)


def test_a_recipe_default_written_out_is_the_same_training():
    """``weight_decay: 5.0e-4`` (the image recipe's default) and no weight_decay ask for one training."""
    spelled = copy.deepcopy(TINY_SPEC)
    spelled["recipe"].update(weight_decay=5e-4, select="last", nesterov=True)
    assert "weight_decay" not in TINY_SPEC["recipe"]
    assert identity(spelled) == identity(TINY_SPEC)
    assert training_spec(TINY_SPEC)["recipe"]["weight_decay"] == 5e-4
    spelled["recipe"]["weight_decay"] = 5e-3
    assert identity(spelled) != identity(TINY_SPEC)


@pytest.mark.parametrize("change", [
    lambda s: s["recipe"].update(epochs=4),
    lambda s: s["recipe"].update(eval_every=2),
    lambda s: s.update(train_seed=1),
    lambda s: s["dataset"].update(n_train=255),
    lambda s: s["model"]["args"].update(width=5),
    lambda s: s.update(objective={"name": "ban", "args": {}}),
    lambda s: s.update(code="0123456789abcdef"),
])
def test_what_decides_the_bytes_changes_the_identity(change):
    spec = copy.deepcopy(TINY_SPEC)
    change(spec)
    assert identity(spec) != identity(TINY_SPEC)


def test_the_teacher_and_the_data_are_part_of_it():
    assert identity(TINY_SPEC, "a") != identity(TINY_SPEC, "b") != identity(TINY_SPEC)
    assert identity_of(TINY_SPEC, "sha256:1", None, None) != identity_of(TINY_SPEC, "sha256:2", None, None)
    assert identity_of(TINY_SPEC, GENERATED, None, "c1") != identity_of(TINY_SPEC, GENERATED, None, "c2")


def test_text_data_is_digested_by_content(tmp_path):
    """Edited PTB files change the digest (and so the identity); moving them does not."""
    for root in ("a", "b"):
        (tmp_path / root / "ptb").mkdir(parents=True)
        for split in ("train", "valid", "test"):
            (tmp_path / root / "ptb" / f"ptb.{split}.txt").write_text(f"the {split} words\n")
    first = data_digest({"name": "ptb", "root": str(tmp_path / "a")})
    assert first.startswith("sha256:") and first == data_digest({"name": "ptb", "root": str(tmp_path / "b")})
    (tmp_path / "b/ptb/ptb.test.txt").write_text("edited\n")
    assert data_digest({"name": "ptb", "root": str(tmp_path / "b")}) != first
    assert data_digest({"name": "ptb", "root": str(tmp_path / "c")}) == f"missing:{tmp_path / 'c/ptb/ptb.train.txt'}"
    wordnet = data_digest({"name": "wordnet"})
    assert wordnet.startswith(("sha256:", "missing:"))


def test_the_store_key_adds_the_environment_and_the_teachers_bytes(tmp_path):
    base = store_key("i", ENV, None)
    assert store_key("i", {**ENV, "python": "3.11.9"}, None) == base  # the minor version only
    for field, value in [("torch", "2.13.0"), ("numpy", "1.26"), ("device", "cuda:NVIDIA H100"), ("cpu_capability", "default")]:
        assert store_key("i", {**ENV, field: value}, None) != base, field
    assert store_key("i", ENV, "t") != base
    teacher = tmp_path / "model.pt"
    teacher.write_bytes(b"weights")
    found = member_identity({**TINY_SPEC, "member": "gen1"}, teacher, ENV)
    assert found.teacher_identity.startswith("sha256:")  # no metrics.json beside it: its bytes
    assert found.hash == identity({**TINY_SPEC, "member": "gen1"}, found.teacher_identity)


def test_planned_identities_follow_the_teacher_and_wait_for_a_checkpoint(tmp_path):
    student = {**TINY_SPEC, "member": "gen1", "objective": {"name": "ban", "args": {}}}
    imported = {**TINY_SPEC, "checkpoint": str(tmp_path / "later.pt")}
    found = planned_identities([("t", TINY_SPEC, None), ("s", student, "t"), ("i", imported, None), ("j", student, "i")])
    assert found["t"] == identity(TINY_SPEC) and found["s"] == identity(student, found["t"])
    assert found["i"] is None and found["j"] is None  # the checkpoint does not exist yet
