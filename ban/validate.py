"""Check training specs before any job runs, so a bad config costs nothing already computed.

``check_specs(specs)`` returns one line per problem (empty when all are usable): unknown model,
objective or dataset names, bad recipes, model arguments the architecture rejects, datasets that
are missing or fail their checksums, and teachers that cannot teach their students.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ban.models import build_model
from ban.objectives import get_objective
from ban.study import member_dir


def _where(spec: dict) -> str:
    return f"{spec.get('study')}/{spec.get('lineage')}/seed{spec.get('seed')}/{spec.get('member')}"


def check_specs(specs: list[dict]) -> list[str]:
    from ban.data import load_dataset
    from ban.train import Recipe

    problems: list[str] = []
    datasets: dict[str, object] = {}
    produced = {Path(member_dir(s["study"], s["lineage"], s["seed"], s["member"]), "model.pt") for s in specs}
    for spec in specs:
        key = json.dumps(spec["dataset"], sort_keys=True)
        if key not in datasets:
            try:
                datasets[key] = load_dataset(**spec["dataset"])
            except (ValueError, OSError) as err:
                datasets[key] = None
                problems.append(f"{_where(spec)}: dataset: {str(err).splitlines()[0]}")
        data = datasets[key]
        if getattr(data, "kind", "image") == "text":
            from ban.lm_train import check_text_spec

            checks = (lambda: check_text_spec(spec, data), lambda: get_objective(spec["objective"]["name"]))
        else:
            checks = (
                lambda: Recipe.from_dict(spec["recipe"]),
                lambda: get_objective(spec["objective"]["name"]),
                lambda: _check_model(spec, data),
            )
        checkpoint = spec.get("checkpoint")
        if checkpoint and data is not None and Path(checkpoint) not in produced and Path(checkpoint).exists():
            # A checkpoint this run produces is checked when imported (it may be about to change);
            # a missing one is named by Snakemake as a missing input.
            from ban.imported import check_teacher_checkpoint

            checks = (*checks, lambda: check_teacher_checkpoint(spec, data))
        for check in checks:
            try:
                check()
            except (ValueError, TypeError) as err:
                problems.append(f"{_where(spec)}: {str(err).splitlines()[0]}")
    return problems


def _check_model(spec: dict, data) -> None:
    """Build the model on the meta device (no memory, no compute) with the dataset's shapes."""
    if data is None:
        return
    with torch.device("meta"):
        build_model(spec["model"]["name"], data.in_channels, data.num_classes, **spec["model"].get("args", {}))
