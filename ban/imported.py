"""Generation 0 from an already trained model: a lineage's ``teacher_checkpoint``.

A lineage may start from a teacher trained elsewhere (another study's ``gen0/model.pt``, say, to
distil the same WRN teachers into DenseNet students). Its ``gen0`` member is then evaluated, not
trained: ``ban.lifecycle.import_member`` writes the same ``model.pt``, ``predictions.npz`` and
``metrics.json`` a trained teacher would (with the source run's per-epoch history from
``source_history``), so generations, controls, ensembles, tables and plots do not know the difference.

``check_teacher_checkpoint`` is the contract: the file must be a ban model checkpoint of the
lineage's teacher architecture (name and args), trained on the study's dataset with its number of
classes (or vocabulary) and input channels — else its students could not take its classes — and,
where the checkpoint records the dataset spec it was trained on (its ``spec["dataset"]``, else the
``dataset_spec`` of the ``metrics.json`` beside it), on the same data: every key that decides the
data (``data_keys``: all but where the files lie and whether they are fetched or verified) equal to
the study's, the loaders' defaults filled in on both sides.
"""

from __future__ import annotations

import inspect
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
    trained_on = recorded_dataset(path, ckpt)
    if trained_on is not None:
        differ = dataset_differences(trained_on, spec["dataset"])
        if differ:
            raise ckpt_io.CheckpointError(f"{where}: trained on other data than the study's: dataset {', '.join(differ)}")
    return ckpt


LOCATION_KEYS = frozenset({"root", "download", "verify", "source"})
"""Dataset keys that say where the files lie and how they are fetched or checked, not what data they hold."""


def recorded_dataset(path: Path, ckpt: dict) -> dict | None:
    """The dataset spec the checkpoint at ``path`` was trained on: its ``spec["dataset"]``, else the
    ``dataset_spec`` of the ``metrics.json`` beside it; None when neither records one."""
    spec = ckpt.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("dataset"), dict):
        return spec["dataset"]
    try:
        recorded = json.loads(path.with_name("metrics.json").read_text(encoding="utf-8")).get("dataset_spec")
    except (OSError, ValueError, AttributeError):
        return None
    return recorded if isinstance(recorded, dict) else None


def data_keys(dataset: dict) -> dict:
    """The keys of a dataset spec that decide its data, with the defaults of ``load_dataset`` and
    of the dataset's loader filled in (a key left out means its default) and ``label_noise``'s
    default kind; ``LOCATION_KEYS`` are left out."""
    from ban.datasets import DATASETS, import_loaders, load_dataset
    from ban.registry import UnknownNameError

    import_loaders()

    def defaults(fn) -> dict:
        return {name: p.default for name, p in inspect.signature(fn).parameters.items() if p.default is not inspect.Parameter.empty}

    merged = defaults(load_dataset)
    try:
        loader, _ = DATASETS.get(dataset.get("name"))
        merged.update(defaults(loader))
    except UnknownNameError:
        pass
    merged.update(dataset)
    if isinstance(merged.get("label_noise"), dict):
        merged["label_noise"] = {"kind": "symmetric", **merged["label_noise"]}
    return {key: value for key, value in merged.items() if key not in LOCATION_KEYS}


def dataset_differences(theirs: dict, ours: dict) -> list[str]:
    """``<key> <their value> there, <our value> here`` for each key of ``data_keys`` that differs,
    by name; ``seed`` counts only where a ``val_split`` is held out and ``subset_seed`` only where
    a ``train_subset`` is drawn (on either side: they draw nothing otherwise)."""
    theirs, ours = data_keys(theirs), data_keys(ours)
    ignored = set()
    if not (theirs.get("val_split") or ours.get("val_split")):
        ignored.add("seed")
    if not (theirs.get("train_subset") or ours.get("train_subset")):
        ignored.add("subset_seed")
    keys = sorted(key for key in set(theirs) | set(ours) if key not in ignored and theirs.get(key) != ours.get(key))
    return [f"{key} {theirs.get(key)!r} there, {ours.get(key)!r} here" for key in keys]


def source_history(path: Path) -> list:
    """The per-epoch history of the run that wrote ``path``, from the ``metrics.json`` beside it
    (the workflow's layout), so training curves show the imported teacher; else ``[]``."""
    try:
        history = json.loads(path.with_name("metrics.json").read_text(encoding="utf-8")).get("history", [])
    except (OSError, ValueError, AttributeError):
        return []
    return history if isinstance(history, list) and all(isinstance(row, dict) for row in history) else []
