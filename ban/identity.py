"""A training's identity: the hash of everything that decides its bytes, and of nothing else.

Like a build system's action key (not a file name), a trained member's **identity** is::

    identity = sha256(canonical JSON {
        "format":     "ban.identity/2",
        "training":   training_spec(spec),   # dataset, model, objective and its args, the recipe
                                             # with its task's defaults spelled out, train_seed
                                             # (its random streams), code fingerprint
        "data":       data_digest(dataset),  # ban.datasets.files: what the loader reads
        "teacher":    the teacher's identity, or null (learns from labels),
        "checkpoint": sha256 of the imported teacher_checkpoint, or null})

``training_spec`` drops every name and place: the study, lineage, seed and member names
(``NAME_KEYS``), the labels a member carries for the report (``LABEL_KEYS``: a tuning point's
setting, already spelled out in the spec it labels), the checkpoint's path and the dataset's ``root``, ``download``, ``folder`` and
``source`` (``PLACE_KEYS``), and spells out every recipe default (``ban.tasks.recipe``): a
recipe that writes ``weight_decay: 5.0e-4`` and one that leaves it to the default ask for one
training. So two studies (or sweep cells) that ask for the same training have
one identity, renaming a lineage changes none, and the bytes of ``model.pt`` (which embeds
``training_spec``) and ``predictions.npz`` are the same wherever it is placed. The workflow
computes every member's identity from the config at plan time (the teacher's recursively) and
compares it with the one a finished member's ``metrics.json`` records (``ban.plan``).

A store entry (``ban.store``) is keyed on what the identity leaves to the machine::

    store_key = sha256(canonical JSON {"identity": identity,
                                       "environment": environment_key(environment),  # ban.environment
                                       "teacher_sha256": sha256 of the teacher's model.pt or null})

so a restore never crosses library versions, device kind or CPU kernel level, and a student is
restored only for the very teacher bytes it learned from (on CPU a teacher's identity decides its
bytes; on a GPU two trainings of one identity may differ).
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ban.datasets.files import data_digest
from ban.datasets.registry import DatasetError, dataset_task
from ban.environment import environment_key
from ban.files import sha256_file
from ban.tasks.recipe import recipe_with_defaults

FORMAT = "ban.identity/2"
NAME_KEYS = ("study", "lineage", "seed", "member")
"""Spec keys that name a member: recorded in its metrics.json, never part of its identity."""
LABEL_KEYS = ("tuning_point",)
"""Spec keys that label a member for the report (``tuning_point``: ``{grid key: value}`` of a
``tune<i>``): recorded in its metrics.json when present, never part of its identity."""
PLACE_KEYS = ("root", "download", "folder", "source")
"""Dataset keys that say where the data lives, not what it is."""
OUTPUT_FILES = ("predictions.npz", "model.pt", "metrics.json")
"""A finished member's outputs, in the order they are written and restored (``metrics.json`` last)."""
RECORDED_FILES = ("model.pt", "predictions.npz")
"""The outputs whose sha256 a finished member's ``metrics.json`` records (``files``)."""


def canonical_hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def training_spec(spec: dict) -> dict:
    """``spec`` without names and places (see the module docstring), with its code fingerprint."""
    kept = {key: value for key, value in spec.items() if key not in NAME_KEYS + LABEL_KEYS and key != "checkpoint"}
    kept["dataset"] = {key: value for key, value in spec["dataset"].items() if key not in PLACE_KEYS}
    if isinstance(spec.get("recipe"), dict):
        kept["recipe"] = recipe_with_defaults(_task_of(spec["dataset"]), spec["recipe"])
    if not kept.get("code"):
        kept["code"] = current_training_code()
    return kept


def _task_of(dataset: dict) -> str | None:
    try:
        return dataset_task(dataset.get("name"))
    except DatasetError:
        return None


@functools.cache
def current_training_code() -> str:
    """The training code fingerprint of the package as it is now (``ban.fingerprint``)."""
    from ban.fingerprint import RuleCode

    return RuleCode()("training")


def member_fields(spec: dict) -> dict:
    """The fields of a member's ``metrics.json`` that name and place it (the rest is the training's)."""
    fields = {key: spec.get(key) for key in NAME_KEYS}
    fields.update({key: spec[key] for key in LABEL_KEYS if key in spec})
    fields["dataset_spec"] = spec["dataset"]
    if spec.get("checkpoint"):
        fields["imported_from"] = str(spec["checkpoint"])
    return fields


def identity_of(spec: dict, data: str, teacher: str | None, checkpoint_sha256: str | None) -> str:
    """The identity of the training ``spec`` describes (module docstring), given the digest of its
    data, its teacher's identity and the imported checkpoint's sha256."""
    return canonical_hash({"format": FORMAT, "training": training_spec(spec), "data": data, "teacher": teacher,
                           "checkpoint": checkpoint_sha256})


def store_key(identity: str, environment: dict, teacher_sha256: str | None) -> str:
    return canonical_hash({"identity": identity, "environment": environment_key(environment), "teacher_sha256": teacher_sha256})


def recorded_teacher_identity(teacher_model: Path, teacher_sha256: str) -> str:
    """The identity of the teacher whose ``model.pt`` is ``teacher_model``: the one the
    ``metrics.json`` beside it records when that file records these very bytes; else the bytes'
    own hash (``sha256:<hex>``, a teacher from outside the workflow)."""
    try:
        metrics = json.loads(Path(teacher_model).with_name("metrics.json").read_text(encoding="utf-8"))
        if metrics["files"]["model.pt"] == teacher_sha256 and isinstance(metrics["identity"], str):
            return metrics["identity"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return f"sha256:{teacher_sha256}"


@dataclass(frozen=True)
class Identity:
    """A member's identity, its store key and what they were computed from."""

    hash: str
    key: str
    environment: dict = field(default_factory=dict)
    teacher_sha256: str | None = None
    checkpoint_sha256: str | None = None
    teacher_identity: str | None = None

    def record(self) -> dict:
        """The fields ``metrics.json`` and the store's ``record.json`` record."""
        return {"identity": self.hash, "store_key": self.key, "environment": self.environment,
                "teacher_identity": self.teacher_identity, "teacher_sha256": self.teacher_sha256,
                "checkpoint_sha256": self.checkpoint_sha256}


def member_identity(spec: dict, teacher: Path | None = None, environment: dict | None = None,
                    sha256: Callable[[Path], str] = sha256_file) -> Identity:
    """The identity and store key of the training ``spec`` describes, taught by the ``model.pt`` at
    ``teacher``, in ``environment`` (default: this process's on ``cpu``)."""
    if environment is None:
        from ban.environment import environment as current

        environment = current("cpu")
    teacher_sha = sha256(Path(teacher)) if teacher else None
    teacher_id = recorded_teacher_identity(Path(teacher), teacher_sha) if teacher else None
    checkpoint = spec.get("checkpoint")
    checkpoint_sha = sha256(Path(checkpoint)) if checkpoint and Path(checkpoint).is_file() else None
    identity = identity_of(spec, data_digest(spec["dataset"], sha256), teacher_id, checkpoint_sha)
    return Identity(identity, store_key(identity, environment, teacher_sha), dict(environment), teacher_sha, checkpoint_sha, teacher_id)


def planned_identities(members: list[tuple[object, dict, object | None]],
                       sha256: Callable[[Path], str] = sha256_file) -> dict[object, str | None]:
    """The identity the config asks of each trained member, computed without training anything.

    ``members``: ``(key, spec, teacher key or None)`` with every teacher before its students. A
    member whose imported checkpoint does not exist yet (another member of the run writes it), or
    whose teacher's identity is unknown, gets ``None`` (unknown until it runs)."""
    digests: dict[str, str] = {}
    found: dict[object, str | None] = {}
    for key, spec, teacher in members:
        dataset_json = json.dumps(spec["dataset"], sort_keys=True)
        if dataset_json not in digests:
            digests[dataset_json] = data_digest(spec["dataset"], sha256)
        teacher_id = found.get(teacher) if teacher is not None else None
        checkpoint = spec.get("checkpoint")
        checkpoint_sha = None
        if checkpoint:
            try:
                checkpoint_sha = sha256(Path(checkpoint))
            except OSError:
                found[key] = None
                continue
        if teacher is not None and teacher_id is None:
            found[key] = None
            continue
        found[key] = identity_of(spec, digests[dataset_json], teacher_id, checkpoint_sha)
    return found
