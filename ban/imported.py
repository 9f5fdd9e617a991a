"""Generation 0 from an already trained model: a lineage's ``teacher_checkpoint``.

A lineage may start from a teacher trained elsewhere (another study's ``gen0/model.pt``, say, to
distil the same WRN teachers into DenseNet students). Its ``gen0`` member is then evaluated, not
trained: ``ban.member.import_member`` writes the same ``model.pt``, ``predictions.npz`` and
``metrics.json`` a trained teacher would (with the source run's per-epoch history from
``source_history``), so generations, controls, ensembles, tables and plots do not know the difference.

``check_teacher_checkpoint`` is the contract: the file must be a ban model checkpoint of the
lineage's teacher architecture (name and args), trained on the study's dataset with its number of
classes (or vocabulary) and input channels — else its students could not take its classes.
"""

from __future__ import annotations

import json
from pathlib import Path

from ban import checkpoint as ckpt_io


def check_teacher_checkpoint(spec: dict, data) -> dict:
    """The checkpoint ``spec["checkpoint"]`` if it can be this lineage's teacher; else CheckpointError."""
    path = Path(spec["checkpoint"])
    where = f"teacher_checkpoint {path}"
    try:
        ckpt = ckpt_io.load_model_checkpoint(path)
    except ckpt_io.CheckpointError as err:
        raise ckpt_io.CheckpointError(f"teacher_checkpoint: {err}") from None
    info = ckpt["model"]
    if ckpt["dataset"] != data.name:
        raise ckpt_io.CheckpointError(f"{where}: trained on {ckpt['dataset']!r}, the study's dataset is {data.name!r}")
    if info["num_classes"] != data.num_classes:
        raise ckpt_io.CheckpointError(
            f"{where}: predicts {info['num_classes']} classes, the study's {data.name} has {data.num_classes}; "
            "its students cannot take the teacher's classes"
        )
    if info["in_channels"] != data.in_channels:
        raise ckpt_io.CheckpointError(f"{where}: takes {info['in_channels']} input channels, {data.name} has {data.in_channels}")
    want = {"name": spec["model"]["name"], "args": spec["model"].get("args", {})}
    got = {"name": info["name"], "args": info.get("args", {})}
    if want != got:
        raise ckpt_io.CheckpointError(f"{where}: holds {got}, the lineage's teacher is {want}")
    return ckpt


def source_history(path: Path) -> list:
    """The per-epoch history of the run that wrote ``path``, from the ``metrics.json`` beside it
    (the workflow's layout), so training curves show the imported teacher; else ``[]``."""
    try:
        history = json.loads(path.with_name("metrics.json").read_text(encoding="utf-8")).get("history", [])
    except (OSError, ValueError, AttributeError):
        return []
    return history if isinstance(history, list) and all(isinstance(row, dict) for row in history) else []
