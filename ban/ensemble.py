"""BANE (Ens*k): average the saved test-set probabilities of several members.

The members' task (``ban.tasks``) says how: image members average ``probs [N, C]`` and are
scored like one model; text members average each true next token's probability. No model is
re-run: the members' ``predictions.npz`` hold everything.

Beside the scores, an image ensemble records its members' diversity, ``disagreement``: the mean
over member pairs (i < j) of their top-1 disagreement on the test set,
``100 · (1/N) Σ_n [argmax_c p_i[n, c] ≠ argmax_c p_j[n, c]]`` (%). Text ensembles have none (their
predictions hold only the true token's probability).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ban.predictions import PredictionsError, load_predictions
from ban.tasks import get_task


class EnsembleError(ValueError):
    """Members that cannot be averaged (missing files, different test sets)."""


def _load(member_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    metrics_path, predictions_path = member_dir / "metrics.json", member_dir / "predictions.npz"
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise EnsembleError(f"{path}: missing (is the member finished?)")
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise EnsembleError(f"{metrics_path}: unusable metrics file ({str(err).splitlines()[0]})") from None
    if not isinstance(metrics, dict):
        raise EnsembleError(f"{metrics_path}: not a JSON object")
    try:
        return metrics, load_predictions(predictions_path)
    except PredictionsError as err:
        raise EnsembleError(str(err)) from None


def disagreement(predictions: list[dict[str, np.ndarray]]) -> float | None:
    """Mean pairwise top-1 disagreement (%) of the members' ``probs [N, C]`` (module docstring);
    ``None`` without ``probs`` or with fewer than two members."""
    if len(predictions) < 2 or any("probs" not in p for p in predictions):
        return None
    top = [np.argmax(p["probs"], axis=1) for p in predictions]
    pairs = [float(np.mean(top[i] != top[j])) for i in range(len(top)) for j in range(i + 1, len(top))]
    return 100.0 * float(np.mean(pairs))


def ensemble(member_dirs: list[Path], name: str) -> dict:
    """Metrics of the average of ``member_dirs``' predictions, labelled as member ``name``."""
    if not member_dirs:
        raise EnsembleError(f"{name}: no members to ensemble")
    loaded = [_load(Path(d)) for d in member_dirs]
    first_metrics, first = loaded[0]
    keys = sorted(first)
    for (metrics, arrays), d in zip(loaded, member_dirs):
        if metrics.get("dataset_spec") != first_metrics.get("dataset_spec") or metrics.get("dataset") != first_metrics.get("dataset"):
            raise EnsembleError(
                f"{d}: trained on dataset {metrics.get('dataset_spec', metrics.get('dataset'))}, "
                f"{member_dirs[0]} on {first_metrics.get('dataset_spec', first_metrics.get('dataset'))}"
            )
        if sorted(arrays) != keys or any(arrays[k].shape != first[k].shape for k in keys):
            raise EnsembleError(f"{d}/predictions.npz: does not match {member_dirs[0]}/predictions.npz (different task or test set)")
        if "labels" in first and not np.array_equal(arrays["labels"], first["labels"]):
            raise EnsembleError(f"{d}: test labels differ from {member_dirs[0]}")
    result = {k: first_metrics.get(k) for k in ("study", "lineage", "seed", "task", "dataset")}
    result.update(member=name, members=[m["member"] for m, _ in loaded], model=first_metrics.get("model"), objective="ensemble")
    result.update(get_task(first_metrics.get("task", "image")).average([arrays for _, arrays in loaded]))
    diversity = disagreement([arrays for _, arrays in loaded])
    if diversity is not None:
        result["disagreement"] = diversity
    return result
