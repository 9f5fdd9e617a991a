"""The pre-flight check: every problem a job would hit, found before any job runs.

``check_specs(specs, device, finished)`` returns one line per problem (empty when all is usable),
each naming the member, the key path, the bad value and what is allowed:

- the training device (``device: cuda`` without CUDA);
- dataset keys and their types, against ``load_dataset`` and the dataset loader's signature
  (a key with an integer default takes an integer, …), then the data itself (files, checksums);
- the objective's name and its arguments, against the loss function's signature;
- the task's recipe keys and values, and the model's name and arguments (the model is built on
  the meta device: no memory, no compute);
- a ``teacher_checkpoint`` that this run does not write: it must fit the lineage and dataset;
- every finished file a job may read (``finished``: member folders whose outputs exist):
  ``model.pt`` loads as a ban checkpoint of the member's dataset, ``predictions.npz`` holds the
  task's arrays at the dataset's test size, ``metrics.json`` is a JSON object with its scores.
  A bad one is named with the way out: delete that member's folder to rebuild it (from the
  store when an intact copy of the training is kept there, else by training).
"""

from __future__ import annotations

import inspect
import json
import math
from pathlib import Path

import numpy as np
import torch

from ban import checkpoint as ckpt_io
from ban.datasets import DATASETS, import_loaders, load_dataset
from ban.imported import check_teacher_checkpoint
from ban.models import build_model
from ban.objectives import get_objective
from ban.predictions import PredictionsError, load_predictions
from ban.registry import UnknownNameError
from ban.runtime import resolve_device
from ban.study import member_dir
from ban.tasks import get_task

LOAD_DATASET_KEYS = {"name": str, "root": str, "download": bool, "val_split": float, "seed": int, "train_subset": int,
                     "subset_seed": None, "label_noise": None}
"""The keys ``load_dataset`` itself takes, with their types; the rest go to the dataset's loader."""


def _where(spec: dict) -> str:
    return f"{spec.get('study')}/{spec.get('lineage')}/seed{spec.get('seed')}/{spec.get('member')}"


def _type_name(kind: type) -> str:
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(kind, kind.__name__)


def _fits(value: object, kind: type) -> bool:
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, kind)


def check_arguments(args: dict, allowed: dict[str, type | None], path: str, owner: str) -> list[str]:
    """Problems of keyword ``args`` against ``allowed`` (name → type, None: any type)."""
    if not isinstance(args, dict):
        return [f"{path}: must be a mapping of arguments, got {args!r}"]
    problems = []
    for key, value in args.items():
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            problems.append(f"{path}.{key} = {value!r}: not an argument of {owner} (allowed: {names})")
        elif allowed[key] is not None and value is not None and not _fits(value, allowed[key]):
            problems.append(f"{path}.{key} = {value!r}: must be {_type_name(allowed[key])}")
    return problems


def keyword_parameters(fn, skip: set[str] = frozenset()) -> dict[str, type | None]:
    """The keyword parameters of ``fn`` that have defaults (name → type of the default, None when
    the default is None or of another kind), less ``skip``."""
    allowed: dict[str, type | None] = {}
    for name, parameter in inspect.signature(fn).parameters.items():
        if name in skip or parameter.default is inspect.Parameter.empty:
            continue
        default = parameter.default
        allowed[name] = next((kind for kind in (bool, int, float, str) if type(default) is kind), None)
    return allowed


def check_dataset_keys(dataset: dict) -> list[str]:
    """Unknown dataset keys and keys of the wrong type, for ``load_dataset`` and the loader."""
    import_loaders()
    try:
        loader, _ = DATASETS.get(dataset.get("name"))
    except UnknownNameError as err:
        return [f"dataset.name: {err}"]
    allowed: dict[str, type | None] = dict(LOAD_DATASET_KEYS)
    allowed.update(keyword_parameters(loader, skip={"root", "download"}))
    return check_arguments(dataset, allowed, "dataset", f"dataset {dataset['name']!r}")


def check_objective(objective: dict) -> list[str]:
    """The objective's name and its arguments against its loss function's signature."""
    try:
        entry = get_objective(objective["name"])
    except UnknownNameError as err:
        return [f"objective.name: {err}"]
    allowed = keyword_parameters(entry.fn, skip={"generator", "example_keys"})
    where = f"objective {objective['name']!r}"
    problems = check_arguments(objective.get("args", {}), allowed, "objective.args", where)
    if not problems:  # a trial call on two samples of three classes: values the function refuses
        student, teacher = torch.zeros(2, 3), torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 2.0]])
        try:
            entry(student, teacher, torch.tensor([0, 2]), generator=torch.Generator().manual_seed(0),
                  example_keys=torch.rand(2, 3, generator=torch.Generator().manual_seed(1)), **objective.get("args", {}))
        except (ValueError, TypeError, RuntimeError) as err:
            problems.append(f"objective.args: {where} refuses {objective.get('args', {})}: {str(err).splitlines()[0]}")
    return problems


def _check_recipe_and_model(spec: dict, data) -> None:
    """The task's recipe checks, then the model built on the meta device with the data's shapes."""
    task = get_task(data.task).trainer()
    recipe = task.Recipe.from_dict(spec["recipe"])
    if hasattr(task, "check_data"):
        task.check_data(recipe, data)
    info = task.model_info(spec, data)
    shape = tuple(data.train_x.shape[1:]) if data.task == "image" else None
    with torch.device("meta"):
        build_model(info["name"], info["in_channels"], info["num_classes"], input_shape=shape, **info["args"])


def check_specs(specs: list[dict], device: str = "auto", finished: list[str] = ()) -> list[str]:
    """Every problem of ``specs`` (see the module docstring), one line each."""
    problems: list[str] = []
    try:
        resolve_device(device)
    except ValueError as err:
        problems.append(f"device: {err}")
    datasets: dict[str, object] = {}
    produced = {Path(member_dir(s["study"], s["lineage"], s["seed"], s["member"]), "model.pt") for s in specs}
    for spec in specs:
        where = _where(spec)
        key = json.dumps(spec["dataset"], sort_keys=True)
        if key not in datasets:
            dataset_problems = check_dataset_keys(spec["dataset"])
            problems += [f"{where}: {line}" for line in dataset_problems]
            datasets[key] = None
            if not dataset_problems:
                try:
                    datasets[key] = load_dataset(**spec["dataset"])
                except (ValueError, OSError, TypeError) as err:
                    problems.append(f"{where}: dataset: {str(err).splitlines()[0]}")
        data = datasets[key]
        problems += [f"{where}: {line}" for line in check_objective(spec["objective"])]
        checks = []
        if data is not None:
            checks.append(lambda: _check_recipe_and_model(spec, data))
        checkpoint = spec.get("checkpoint")
        if checkpoint and data is not None and Path(checkpoint) not in produced and Path(checkpoint).exists():
            # A checkpoint this run produces is checked when imported (it may be about to change);
            # a missing one is named by Snakemake as a missing input.
            checks.append(lambda: check_teacher_checkpoint(spec, data))
        for check in checks:
            try:
                check()
            except (ValueError, TypeError) as err:
                problems.append(f"{where}: {str(err).splitlines()[0]}")
    by_folder = {member_dir(s["study"], s["lineage"], s["seed"], s["member"]): s for s in specs}
    for folder in finished:
        spec = by_folder.get(str(folder))
        data = datasets.get(json.dumps(spec["dataset"], sort_keys=True)) if spec else None
        problems += check_finished(Path(folder), data)
    return problems


def check_finished(folder: Path, data=None) -> list[str]:
    """Problems of a member folder's finished files (each that exists), one line each naming the
    file and the way out. ``data``: the member's dataset, for shapes (None: not checked)."""
    problems = []
    way_out = f"delete {folder} to rebuild it"
    metrics_path = folder / "metrics.json"
    task = getattr(data, "task", None)
    if metrics_path.exists():
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
            if not isinstance(metrics, dict):
                raise ValueError(f"top level is {type(metrics).__name__}, not an object")
            task = metrics.get("task", task)
            missing = [k for k in get_task(task or "image").score_keys if not isinstance(metrics.get(k), (int, float))]
            if missing:
                raise ValueError(f"lacks score(s) {', '.join(missing)}")
        except (OSError, UnicodeDecodeError, ValueError) as err:
            problems.append(f"{metrics_path}: unusable metrics file ({str(err).splitlines()[0]}); {way_out}")
    model_path = folder / "model.pt"
    if model_path.exists():
        try:
            ckpt_io.load_model_checkpoint(model_path, dataset=getattr(data, "name", None), num_classes=getattr(data, "num_classes", None))
        except ckpt_io.CheckpointError as err:
            problems.append(f"{err}; {way_out}")
    predictions_path = folder / "predictions.npz"
    if predictions_path.exists():
        try:
            check_predictions(predictions_path, task or "image", data)
        except ValueError as err:
            problems.append(f"{predictions_path}: {err}; {way_out}")
    return problems


def check_predictions(path: Path, task: str, data=None) -> None:
    """Raise a one-line ``ValueError`` unless ``path`` holds the task's predictions (finite
    probabilities; for images ``probs [N_test, C]`` and the test labels when ``data`` is given)."""
    try:
        loaded = load_predictions(path)
    except PredictionsError as err:
        raise ValueError(err.reason) from None
    keys = ("probs", "labels") if task == "image" else ("target_probs",)
    missing = [key for key in keys if key not in loaded]
    if missing:
        raise ValueError(f"lacks array(s) {', '.join(missing)}")
    probs = loaded[keys[0]]
    if probs.size and not (np.all(np.isfinite(probs)) and probs.min() >= 0.0 and probs.max() <= 1.0 + 1e-6):
        raise ValueError("holds values that are not probabilities")
    if task == "image":
        if probs.ndim != 2 or loaded["labels"].shape != (probs.shape[0],):
            raise ValueError(f"probs {probs.shape} and labels {loaded['labels'].shape} do not match")
        if data is not None:
            expected = (len(data.test_y), data.num_classes)
            if probs.shape != expected:
                raise ValueError(f"probs are {probs.shape[0]}×{probs.shape[1]}, the test set is {expected[0]}×{expected[1]}")
            if not np.array_equal(loaded["labels"], data.test_y.cpu().numpy()):
                raise ValueError("labels differ from the dataset's test labels")
    elif probs.ndim != 1 or not math.isfinite(float(np.log(np.maximum(probs, 1e-45)).mean() if probs.size else 0.0)):
        raise ValueError(f"target_probs must be one flat array, got shape {probs.shape}")
