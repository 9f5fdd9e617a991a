"""The member lifecycle: one path from a member's spec to its finished files, for every task.

``run_member(spec, out_dir, teacher_path, device, store)`` writes ``model.pt``, ``predictions.npz``
and ``metrics.json`` (last) into ``out_dir`` and returns the metrics, holding the folder's writer
lock (``ban.guard``) throughout. The member's identity and store key (``ban.identity``: everything
that decides its bytes, no names; the key adds the environment and the teacher's sha256) key its
``resume.pt`` and its entry in the ``store``: when that holds the key's outputs intact they are
restored and nothing is trained (``python -m ban train`` looks there before importing torch). Two kinds of member:

- **trained** (teachers, BAN generations, controls): load the data; the dataset's task
  (``ban.tasks``) gives the recipe, model, epoch loop and scores. Load the teacher (students);
  seed torch with the ``init`` stream of ``train_seed`` (``ban.seeds``); build the model; resume from ``resume.pt`` when it belongs to
  this identity; then per epoch: the task's ``train_epoch``, a stop with a one-line message when the
  loss is not finite (the last good ``resume.pt`` is kept), the task's ``end_epoch`` (schedule,
  held-out scores) and an atomic ``resume.pt``. On CPU a resumed run is bit-for-bit an
  uninterrupted one.
- **imported** (a ``gen0`` with ``spec["checkpoint"]``, a teacher trained elsewhere): checked
  against the lineage (``ban.imported``), scored in fp32, and written like a trained teacher.

``metrics.json`` holds ``study, lineage, seed, member, dataset_spec`` (its names and places,
``ban.identity.member_fields``), ``task, model, objective, dataset, num_params, epochs,
wall_seconds, history, code, identity, store_key, environment`` (``ban.environment``, with the
precision in effect), ``teacher_identity, teacher_sha256, checkpoint_sha256, files`` (the sha256
of ``model.pt`` and ``predictions.npz``), the task's scores (the loop's ``final_scores``: with an
image validation split ``val_error``; ``collapsed`` and ``collapse_reasons``, ``ban.collapse``), and for students
``teacher_max_prob`` and ``teacher_entropy`` (``mean_teacher_confidence``). ``code`` is the
training code fingerprint the workflow passed in ``spec["code"]`` (else the current one,
``ban.fingerprint``).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Callable

import torch

from ban import checkpoint as ckpt_io
from ban.datasets import load_dataset
from ban.environment import environment
from ban.guard import member_lock
from ban.identity import Identity, member_fields, member_identity, training_spec
from ban.imported import check_teacher_checkpoint, source_history
from ban.metrics import score_summary
from ban.models import num_parameters
from ban.objectives import get_objective
from ban.runtime import TrainingError, precision_in_effect, resolve_device
from ban.seeds import stream_seed
from ban.store import Store
from ban.tasks import get_task

ENTRY_MODULE = __name__
"""The module whose import closure is the training code fingerprint."""


def code_of(spec: dict) -> str:
    """The training code fingerprint recorded in ``metrics.json``."""
    if spec.get("code"):
        return str(spec["code"])
    from ban.fingerprint import fingerprint

    return fingerprint(ENTRY_MODULE)


def member_metrics(spec: dict, data, model_name: str, objective: str, model, epochs: int, started: float,
                   history: list, scores: dict, identity: Identity, precision: str, **extra) -> dict:
    """The ``metrics.json`` of a finished member (see the module docstring)."""
    record = identity.record()
    record["environment"] = {**record["environment"], "precision": precision}
    return {
        **member_fields(spec),
        "task": data.task, "model": model_name, "objective": objective, "dataset": data.name,
        "num_params": num_parameters(model), "epochs": epochs, "wall_seconds": time.perf_counter() - started,
        "history": history, "code": code_of(spec), **record, **extra, **scores,
    }


CONFIDENCE_KEYS = ("teacher_max_prob", "teacher_entropy")


def mean_teacher_confidence(history: list[dict]) -> dict:
    """``{"teacher_max_prob", "teacher_entropy"}`` of a student: the means over its epochs of the
    history rows' values (each a mean over the epoch's training samples, so together the mean over
    every view it trained on); ``{}`` for members without a teacher."""
    rows = [row for row in history if all(key in row for key in CONFIDENCE_KEYS)]
    if not rows or len(rows) != len(history):
        return {}
    return {key: float(sum(row[key] for row in rows) / len(rows)) for key in CONFIDENCE_KEYS}


def run_member(spec: dict, out_dir: Path, teacher_path: Path | None = None, device: str = "auto",
               log: Callable[[str], None] = print, store: Store | None = None, identity: Identity | None = None) -> dict:
    """Train (or import, or restore from ``store``) the member ``spec`` describes into ``out_dir``;
    return its metrics. ``identity``: ``member_identity(spec, teacher_path)`` when the caller has it."""
    started = time.perf_counter()
    out_dir = Path(out_dir)
    identity = identity or member_identity(spec, teacher_path, environment(device))
    with member_lock(out_dir):
        restored = store.restore(identity, out_dir, spec, log) if store is not None else None
        if restored is not None:
            (out_dir / ckpt_io.RESUME_FILE).unlink(missing_ok=True)
            return restored
        dev = resolve_device(device)
        data = load_dataset(**spec["dataset"])
        if spec.get("checkpoint"):
            metrics = import_member(spec, out_dir, data, dev, started, identity, log)
        else:
            metrics = train_member(spec, out_dir, data, teacher_path, dev, started, identity, log)
        if store is not None:
            store.keep(identity, out_dir, spec, log)
        (out_dir / ckpt_io.RESUME_FILE).unlink(missing_ok=True)
        return metrics


def import_member(spec: dict, out_dir: Path, data, device: torch.device, started: float, identity: Identity,
                  log: Callable[[str], None] = print) -> dict:
    """Evaluate the checkpoint ``spec["checkpoint"]`` as generation 0 and write its member outputs."""
    path = Path(spec["checkpoint"])
    ckpt = check_teacher_checkpoint(spec, data)
    model = ckpt_io.build_from_checkpoint(ckpt, path).to(device).eval()
    log(f"import {spec.get('member', '?')}: {ckpt['model']['name']} ({num_parameters(model):,} params) from {path}")
    scores, predictions = get_task(data.task).trainer().score(model, data, spec["recipe"], device)
    precision = precision_in_effect(device, "fp32")
    metrics = member_metrics(spec, data, ckpt["model"]["name"], "imported", model, 0, started, source_history(path), scores,
                             identity, precision)
    metrics = ckpt_io.save_member(out_dir, model, ckpt["model"], data.name, training_spec(spec), metrics, predictions)
    log(f"done: {score_summary(metrics)} ({metrics['wall_seconds']:.1f}s)")
    return metrics


def train_member(spec: dict, out_dir: Path, data, teacher_path: Path | None, device: torch.device, started: float,
                 identity: Identity, log: Callable[[str], None] = print) -> dict:
    """The trained member's lifecycle (see the module docstring)."""
    task = get_task(data.task).trainer()
    recipe = task.Recipe.from_dict(spec["recipe"])
    objective_name = spec["objective"]["name"]
    objective = get_objective(objective_name)
    objective_args = spec["objective"].get("args", {})
    if objective.needs_teacher and teacher_path is None:
        raise TrainingError(f"objective {objective_name!r} needs a teacher checkpoint (--teacher)")
    data = data.to(device)
    teacher = task.load_teacher(teacher_path, data, recipe, device) if objective.needs_teacher else None

    seed = int(spec["train_seed"])
    torch.manual_seed(stream_seed(seed, "init"))
    info = task.model_info(spec, data)
    model = task.prepare(task.build(info, data), recipe, device)
    loop = task.Loop(model, teacher, objective, objective_args, recipe, data, device, seed)

    history: list[dict] = []
    start_epoch = 0
    resume_path = out_dir / ckpt_io.RESUME_FILE
    resumed = ckpt_io.load_resume(out_dir, identity.key)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        loop.load_state_dict(resumed)
        ckpt_io.set_rng_state(resumed["rng"], loop.generators)
        history, start_epoch = resumed["history"], resumed["epoch"]
        log(f"resumed from epoch {start_epoch} ({resume_path})")
    log(f"train {spec.get('member', '?')}: {info['name']} ({num_parameters(model):,} params) on {data.name}, "
        f"objective {objective_name}, {recipe.epochs} epochs, device {device}{loop.describe()}, seed {seed}")

    for epoch in range(start_epoch, recipe.epochs):
        epoch_start = time.perf_counter()
        row = {"epoch": epoch + 1, **loop.train_epoch(epoch)}
        if not math.isfinite(row["train_loss"]):
            raise TrainingError(
                f"training diverged in epoch {epoch + 1} (loss {row['train_loss']}); the last good state is "
                f"{resume_path if epoch > 0 else 'none (first epoch)'}; {loop.divergence_hint}"
            )
        row = loop.end_epoch(epoch, row, history)
        row["seconds"] = time.perf_counter() - epoch_start
        history.append(row)
        log(loop.epoch_line(row, recipe.epochs))
        ckpt_io.save_torch(
            {"format": ckpt_io.RESUME_FORMAT, "identity": identity.key, "epoch": epoch + 1,
             "model": model.state_dict(), **loop.state_dict(), "history": history, "rng": ckpt_io.rng_state(loop.generators)},
            resume_path,
        )

    scores, predictions = loop.final_scores(history)
    precision = precision_in_effect(device, recipe.precision, auto_bf16=data.task == "image")
    metrics = member_metrics(spec, data, info["name"], objective_name, model, recipe.epochs, started, history, scores,
                             identity, precision, **mean_teacher_confidence(history))
    metrics = ckpt_io.save_member(out_dir, model, info, data.name, training_spec(spec), metrics, predictions)
    log(f"done: {score_summary(metrics)} ({metrics['wall_seconds']:.1f}s)")
    return metrics
