"""Checkpoint files: atomic writes, the ``model.pt`` format, and per-epoch resume state.

Every file is written by ``ban.files.atomic_write``, so a reader sees either the old file or the
complete new one. Every checkpoint is read with ``torch.load(weights_only=True)``:
a pickle that would run code is refused. Problems raise :class:`CheckpointError` with one line
naming the file and the mismatch.

``model.pt``: ``{"format": "ban.model/1", "state_dict", "model": {"name", "args", "in_channels",
"num_classes"}, "dataset", "spec"}``.
``model.pt``'s ``spec`` is the training's name-free spec (``ban.identity.training_spec``), so its
bytes are the same in every study that asks for the training.
``resume.pt``: ``{"format": "ban.resume/1", "identity" (the member's store key, ``ban.identity``), "epoch"
(finished epochs), "model", "optimizer" (``ban.sgd.SGD.state_dict``: rates and momentum buffers), "history",
"rng"}`` and the task loop's own keys (the image loop's ``best`` with ``select: best_val``).

A full disk while writing is one line (``ban.files.DiskFullError``) naming the folder, the bytes
needed and the bytes free; the file being written keeps its previous content.
"""

from __future__ import annotations

import io
import pickle
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ban.files import sha256_file, write_bytes, write_json
from ban.identity import RECORDED_FILES

MODEL_FORMAT = "ban.model/1"
RESUME_FORMAT = "ban.resume/1"
RESUME_FILE = "resume.pt"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; the message names the file and the reason."""


def save_torch(obj: Any, path: Path) -> None:
    """``torch.save`` of ``obj`` to ``path``, atomically. The archive is serialised in memory first,
    so its bytes do not depend on the temporary file's name: equal objects give equal files."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    write_bytes(path, buffer.getvalue())


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    write_bytes(path, buffer.getvalue())


def load_torch(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """``torch.load(path, weights_only=True)`` with failures turned into one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(
            f"{path}: refused, not a plain weights file: it holds objects whose loading would run code "
            "(ban writes tensors and plain containers only); delete it or replace it with a file ban wrote"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as err:
        raise CheckpointError(f"{path}: unreadable or truncated checkpoint ({type(err).__name__})") from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: not a ban checkpoint (top level is {type(obj).__name__})")
    return obj


def save_model(path: Path, model: torch.nn.Module, model_info: dict, dataset: str, spec: dict) -> None:
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_torch({"format": MODEL_FORMAT, "state_dict": state, "model": model_info, "dataset": dataset, "spec": spec}, path)


def save_member(out_dir: Path, model: torch.nn.Module, model_info: dict, dataset: str, spec: dict,
                metrics: dict, predictions: dict[str, np.ndarray]) -> dict:
    """Write a finished member's outputs into ``out_dir``: predictions.npz, model.pt, then
    metrics.json with the sha256 of the other two (``files``), each atomically; return the metrics
    as written. The resume checkpoint stays: the caller removes it once the outputs are kept
    (``ban.store``)."""
    out_dir = Path(out_dir)
    save_npz(out_dir / "predictions.npz", **predictions)
    save_model(out_dir / "model.pt", model, model_info, dataset, spec)
    metrics = {**metrics, "files": {name: sha256_file(out_dir / name) for name in RECORDED_FILES}}
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def load_model_checkpoint(path: Path, dataset: str | None = None, num_classes: int | None = None) -> dict:
    """Read a ``model.pt``; refuse another format, dataset or number of classes."""
    ckpt = load_torch(path)
    if ckpt.get("format") != MODEL_FORMAT:
        raise CheckpointError(f"{path}: not a ban model checkpoint (format {ckpt.get('format')!r})")
    if dataset is not None and ckpt["dataset"] != dataset:
        raise CheckpointError(f"{path}: trained on dataset {ckpt['dataset']!r}, expected {dataset!r}")
    got = ckpt["model"]["num_classes"]
    if num_classes is not None and got != num_classes:
        raise CheckpointError(f"{path}: has {got} classes, the dataset has {num_classes}")
    return ckpt


def build_from_checkpoint(ckpt: dict, path: Path | str = "checkpoint", **extra) -> torch.nn.Module:
    """Rebuild the model a ``model.pt`` describes and load its weights (strictly)."""
    from ban.models import build_model

    info = ckpt["model"]
    model = build_model(info["name"], info["in_channels"], info["num_classes"], **info.get("args", {}), **extra)
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise CheckpointError(f"{path}: weights do not fit architecture {info['name']!r} ({str(err).splitlines()[0]})") from None
    return model


def rng_state(generators: dict[str, torch.Generator]) -> dict:
    """Every random state a run draws from: global torch/CUDA/numpy/python and the named generators."""
    np_state = np.random.get_state()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "python": _to_lists(random.getstate()),
        "generators": {name: g.get_state() for name, g in generators.items()},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict, generators: dict[str, torch.Generator]) -> None:
    torch.set_rng_state(state["torch"])
    kind, keys, *rest = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), *rest))
    random.setstate(_to_tuples(state["python"]))
    for name, g in generators.items():
        g.set_state(state["generators"][name])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _to_lists(value):
    return [_to_lists(v) for v in value] if isinstance(value, tuple) else value


def _to_tuples(value):
    return tuple(_to_tuples(v) for v in value) if isinstance(value, list) else value


def load_resume(out_dir: Path, identity: str) -> dict | None:
    """The resume state in ``out_dir`` if it belongs to the store key ``identity`` (``ban.identity``: its
    spec and the bytes of its teacher); ``None`` when there is none.

    A resume file of another identity is stale (the settings or the teacher changed): it is
    removed and ``None`` returned. A damaged one (truncated, unreadable, not a ban resume file)
    raises :class:`CheckpointError` naming the way out, ``delete <path> to start this member
    afresh``, and is left in place."""
    path = Path(out_dir) / RESUME_FILE
    if not path.exists():
        return None
    way_out = f"delete {path} to start this member afresh"
    try:
        state = load_torch(path)
    except CheckpointError as err:
        raise CheckpointError(f"{str(err).split('; ')[0]}; {way_out}") from None
    if state.get("format") != RESUME_FORMAT:
        raise CheckpointError(f"{path}: not a ban resume checkpoint; {way_out}")
    if state.get("identity") != identity:
        path.unlink()
        return None
    return state
