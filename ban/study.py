"""Expand a validated study config into members and their training specs (no torch import).

A study names a dataset, seeds, a recipe and lineages. A lineage is one teacher architecture and
its members (their kinds are defined in ``ban.member_kinds``): ``gen0`` (the teacher, labels only),
``gen1..genK`` (BAN generation k learns from generation k−1 with ``objective``), the controls
(students of ``gen0``) and the ensembles ``ens<k>``. Ens*k averages ``gen1..genk``, or
``gen0..gen(k−1)`` when k is listed in ``ensemble_with_teacher``. Students use ``student`` (cross-architecture
distillation) or else the teacher's architecture. ``overrides[member]`` replaces a member's
``recipe`` keys, ``objective``, ``objective_args`` or ``model``.

A member's recipe is the study's ``recipe``, then the lineage's ``recipe``, then for the
label-trained members (``gen0``, ``ind<i>``, ``tune<i>``) the lineage's ``teacher_recipe``, then for
``tune<i>`` its tuning point's ``recipe.<key>`` values, then its override's ``recipe``: so
``recipe: {select: last}`` with ``teacher_recipe: {select: best_val}`` is an early-stopped teacher
whose students train to the end. The lineage's ``tuning`` grid (``{"recipe.<key>" or
"objective_args.label_smoothing": [values]}``) gives ``tune1..tuneN``, one per point of the product
of its lists in the order listed (first key slowest; ``tuning_points``): label-only (``ce``, with
the point's ``label_smoothing`` as its only argument, none where it is 0, so that a point of the
teacher's own setting has the teacher's spec), the teacher's architecture, recipe and training
seed, and ``tuning_point`` (the point, a label outside the identity, ``ban.identity.LABEL_KEYS``).

A member's spec holds everything that decides its result, so the workflow reruns a member exactly
when its spec changes.
"""

from __future__ import annotations

import copy
import itertools
import json

from ban.member_kinds import SEED_STRIDE, kind_of

LABEL_ROLES = ("teacher", "independent", "tuning")
"""Roles of the members trained on labels alone: they take ``teacher_recipe``."""
TUNING_ARGS = ("label_smoothing",)
"""Objective arguments a tuning grid may vary (as ``objective_args.<name>``), beside ``recipe.<key>``."""
TUNING_KEYS_TEXT = "recipe.<recipe key> or " + " or ".join(f"objective_args.{name}" for name in TUNING_ARGS)


class StudyError(ValueError):
    """A study config that cannot be expanded; the message names the key."""


def generation_index(member: str) -> int | None:
    kind = kind_of(member)
    return kind.k if kind.role in ("teacher", "generation") else None


def ensemble_members(lineage: dict, k: int | str) -> list[str]:
    """The members an ensemble averages: Ens*k (``k`` or ``"ens<k>"``) averages gen1..genk, or
    gen0..gen(k−1) when k is in ``ensemble_with_teacher``; Indep*k (``"indep<k>"``) averages the
    teacher and ind1..ind(k−1)."""
    kind = kind_of(k if isinstance(k, str) else f"ens{k}")
    if kind.family == "indep":
        return ["gen0"] + [f"ind{i}" for i in range(1, kind.k)]
    if kind.k in lineage.get("ensemble_with_teacher", []):
        return [f"gen{i}" for i in range(kind.k)]
    return [f"gen{i}" for i in range(1, kind.k + 1)]


def tuning_points(lineage: dict) -> list[dict]:
    """The points of the lineage's ``tuning`` grid, ``{key: value}`` each, in product order (the
    first key slowest, its values in the order listed); ``[]`` without a grid."""
    grid = lineage.get("tuning") or {}
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[key] for key in keys))] if keys else []


def trained_members(lineage: dict) -> list[str]:
    """Members that are trained: gen0..genK, the configured controls, ind1..indN, then
    tune1..tuneN (one per tuning point)."""
    return ([f"gen{i}" for i in range(lineage["generations"] + 1)] + list(lineage.get("controls", []))
            + [f"ind{i}" for i in range(1, lineage.get("independent", 0) + 1)]
            + [f"tune{i}" for i in range(1, len(tuning_points(lineage)) + 1)])


def ensembles(lineage: dict) -> list[str]:
    """The ensembles of a lineage: ens<k> for each listed k, each followed by indep<k> when the
    lineage trains independent networks."""
    names = []
    for k in lineage.get("ensembles", []):
        names += [f"ens{k}"] + ([f"indep{k}"] if lineage.get("independent", 0) else [])
    return names


def all_members(lineage: dict) -> list[str]:
    return trained_members(lineage) + ensembles(lineage)


def teacher_of(member: str) -> str | None:
    """The member whose checkpoint teaches ``member`` (None for the teacher itself)."""
    kind = kind_of(member)
    if not kind.trained:
        raise StudyError(f"{member!r} is not a trained member")
    return kind.teacher


def check_lineage(study: str, name: str, lineage: dict) -> None:
    """Cross-key checks the JSON schema cannot express."""
    where = f"studies.{study}.lineages.{name}"
    generations = lineage["generations"]
    not_listed = sorted(set(lineage.get("ensemble_with_teacher", [])) - set(lineage.get("ensembles", [])))
    if not_listed:
        raise StudyError(
            f"{where}.ensemble_with_teacher: {not_listed} not in ensembles {lineage.get('ensembles', [])}; "
            "list each k there as well"
        )
    for k in lineage.get("ensembles", []):
        needed = ensemble_members(lineage, k)
        if generation_index(needed[-1]) > generations:
            raise StudyError(f"{where}.ensembles: Ens*{k} needs {needed[-1]} but generations is {generations}")
    independent = lineage.get("independent", 0)
    if independent and max(lineage.get("ensembles") or [0]) - 1 > independent:
        needed = max(lineage["ensembles"]) - 1
        raise StudyError(f"{where}.independent: Indep*{needed + 1} needs {needed} independent networks, independent is {independent}")
    for key in lineage.get("tuning") or {}:
        section, _, name = str(key).partition(".")
        if not name or section not in ("recipe", "objective_args") or (section == "objective_args" and name not in TUNING_ARGS):
            raise StudyError(f"{where}.tuning.{key}: not a tuning key (allowed: {TUNING_KEYS_TEXT})")
    known = set(trained_members(lineage))
    for member in lineage.get("overrides", {}):
        if member not in known:
            raise StudyError(f"{where}.overrides: {member!r} is not a trained member; valid: {sorted(known)}")


def check_study(study: str, s: dict) -> None:
    """Cross-key checks of a study the JSON schema cannot express, then each lineage's."""
    noise = s["dataset"].get("label_noise")
    if isinstance(noise, dict) and noise.get("kind") == "pairwise" and noise["rate"] >= 0.5:
        raise StudyError(f"studies.{study}.dataset.label_noise.rate: {noise['rate']} with kind pairwise leaves each class's "
                         "flipped label at least as common as its true one (allowed: below 0.5)")
    for name, lineage in s["lineages"].items():
        check_lineage(study, name, lineage)
        if lineage.get("tuning") and not s["dataset"].get("val_split"):
            raise StudyError(f"studies.{study}.dataset.val_split: must be > 0 (e.g. 0.1) for lineage {name!r}'s tuning grid: "
                             "the report chooses among its points on the validation split")


def member_dir(study: str, lineage: str, seed: int | str, member: str) -> str:
    """The folder the workflow writes a member's outputs to (relative to the project root)."""
    return f"results/{study}/{lineage}/seed{seed}/{member}"


def member_spec(config: dict, study: str, lineage_name: str, seed: int, member: str) -> dict:
    """The training spec of one member (see CONTRACT in the README's 'Specs' section)."""
    s = config["studies"][study]
    lineage = s["lineages"][lineage_name]
    kind = kind_of(member)
    override = lineage.get("overrides", {}).get(member, {})
    point = {}
    if kind.role == "tuning":
        points = tuning_points(lineage)
        if kind.k > len(points):
            raise StudyError(f"studies.{study}.lineages.{lineage_name}: {member!r} but the tuning grid has {len(points)} points")
        point = points[kind.k - 1]
    if kind.role in LABEL_ROLES:
        model = lineage["teacher"]
        objective_args = {key.partition(".")[2]: value for key, value in point.items()
                          if key.startswith("objective_args.") and value != 0}
    else:
        model = lineage.get("student") or lineage["teacher"]
        objective_args = dict(lineage.get("objective_args", {})) if kind.role == "generation" else {}
        if kind.role == "control":
            objective_args = dict(kind.control.objective_args)
    objective = kind.objective(lineage.get("objective", "ban"))
    model = override.get("model", model)
    objective = override.get("objective", objective)
    objective_args = override.get("objective_args", objective_args)
    recipe = {**s.get("recipe", {}), **lineage.get("recipe", {}),
              **(lineage.get("teacher_recipe", {}) if kind.role in LABEL_ROLES else {}),
              **{key.partition(".")[2]: value for key, value in point.items() if key.startswith("recipe.")},
              **override.get("recipe", {})}
    imported = {}
    if member == "gen0" and lineage.get("teacher_checkpoint"):
        imported = {"checkpoint": str(lineage["teacher_checkpoint"]).replace("{seed}", str(int(seed)))}
    dataset = copy.deepcopy(s["dataset"])
    if dataset.get("subset_seed") == "per_seed":
        dataset["subset_seed"] = int(seed)  # the study seed: every member of a seed trains on the same subset
    if isinstance(dataset.get("label_noise"), dict):
        dataset["label_noise"].setdefault("seed", int(seed))  # and sees the same noisy labels
    return {
        "study": study,
        "lineage": lineage_name,
        "seed": int(seed),
        "member": member,
        "dataset": dataset,
        "model": {"name": model["name"], "args": copy.deepcopy(model.get("args", {}))},
        "objective": {"name": objective, "args": objective_args},
        "recipe": recipe,
        "train_seed": int(seed) * SEED_STRIDE + kind.seed_offset,
        **imported,
        **({"tuning_point": dict(point)} if kind.role == "tuning" else {}),
    }


def spec_json(spec: dict, code: str) -> str:
    """Canonical JSON of ``spec`` with the code fingerprint: the string the workflow compares."""
    return json.dumps({**spec, "code": code}, sort_keys=True, separators=(",", ":"))


def iter_members(config: dict):
    """Yield ``(study, lineage, seed, member)`` for every member of every study, in config order."""
    for study, s in config["studies"].items():
        check_study(study, s)
        for lineage_name, lineage in s["lineages"].items():
            for seed in s["seeds"]:
                for member in all_members(lineage):
                    yield study, lineage_name, seed, member
