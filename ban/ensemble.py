"""BANE (Ens*k): average the saved test-set probabilities of several members.

Image members: ``p_ens = mean_k probs_k`` over ``[N, C]``; scored like one model.
Text members: ``p_ens(target) = mean_k target_probs_k``; perplexity ``exp(−mean log p_ens)``.
No model is re-run: the members' ``predictions.npz`` hold everything.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ban.metrics import classification_scores, perplexity


class EnsembleError(ValueError):
    """Members that cannot be averaged (missing files, different test sets)."""


def _load(member_dir: Path) -> tuple[dict, dict[str, np.ndarray]]:
    metrics_path, predictions_path = member_dir / "metrics.json", member_dir / "predictions.npz"
    for path in (metrics_path, predictions_path):
        if not path.is_file():
            raise EnsembleError(f"{path}: missing (is the member finished?)")
    with np.load(predictions_path) as arrays:
        return json.loads(metrics_path.read_text()), {k: arrays[k] for k in arrays.files}


def ensemble(member_dirs: list[Path], name: str) -> dict:
    """Metrics of the average of ``member_dirs``' predictions, labelled as member ``name``."""
    if not member_dirs:
        raise EnsembleError(f"{name}: no members to ensemble")
    loaded = [_load(Path(d)) for d in member_dirs]
    first_metrics, first = loaded[0]
    keys = sorted(first)
    for (metrics, arrays), d in zip(loaded, member_dirs):
        if sorted(arrays) != keys or any(arrays[k].shape != first[k].shape for k in keys):
            raise EnsembleError(f"{d}: predictions do not match {member_dirs[0]} (different task or test set)")
        if "labels" in first and not np.array_equal(arrays["labels"], first["labels"]):
            raise EnsembleError(f"{d}: test labels differ from {member_dirs[0]}")
    result = {k: first_metrics.get(k) for k in ("study", "lineage", "seed", "task", "dataset")}
    result.update(member=name, members=[m["member"] for m, _ in loaded], model=first_metrics.get("model"), objective="ensemble")
    if "probs" in first:
        mean = np.mean([a["probs"].astype(np.float64) for _, a in loaded], axis=0)
        result.update(classification_scores(mean, first["labels"]))
    else:
        test = np.mean([a["target_probs"].astype(np.float64) for _, a in loaded], axis=0)
        result.update(test_ppl=perplexity(test), test_nll=float(-np.mean(np.log(np.maximum(test, 1e-12)))))
        if "val_target_probs" in first:
            result["val_ppl"] = perplexity(np.mean([a["val_target_probs"].astype(np.float64) for _, a in loaded], axis=0))
    return result
