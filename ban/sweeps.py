"""Sweeps: a base study and a grid of factors, expanded into ordinary studies (no torch import).

A config's ``sweeps`` section maps a sweep name to

    base:     a study (the same keys as an entry of ``studies``)
    factors:  dotted path into the study → list of values, e.g.
              dataset.label_noise.rate: [0, 0.2, 0.4]
              lineages.*.objective_args.temperature: [1, 4]     (* : every lineage)

``expand_sweeps(config)`` returns one study per point of the grid (the product of the factors'
values, in the order the factors and values are listed), named ``<sweep>.<key><value>...``: for
each factor the last segment of its path and the value (``noise.rate0-2.temperature4``; see
``_label``). The base study should have the schema's defaults filled in (the workflow validates
it first), so that ``lineages.*.objective_args`` exists. Each
cell is an ordinary study: its members are cached, rerun and restored like any other's, so adding
a value to a factor trains only the new cells. Every segment of a path but the last must exist in
the base study (``*`` matches every lineage); the last may be new. A path whose parent does not
exist, a cell name that is not a plain name, or a cell that collides with a study or another
cell is a ``SweepError`` naming the key. ``cells(config)`` lists, per sweep, each cell's study name
and its factor values (the regime map's rows).

A sweep may state what its map is expected to show, ``predictions``: a list of

    claim:   a comparison of the map (``PREDICTABLE``: ban1_beats_teacher, best_ban_beats_teacher,
             ban1_beats_tuned, best_ban_beats_tuned)
    expect:  gain (its Holm verdict holds) or no gain (it does not)
    cells:   factor path → the values it is made for (every cell when left out)
    why:     the reason, in words (optional)

``predictions_of(config, sweep)`` returns them with every cell's name each applies to, checked:
an unknown claim, an ``expect`` other than the two, or a ``cells`` path or value the sweep's
factors do not have is a ``SweepError`` naming the key; the regime map says how each came out
(``ban.report.regime``).
"""

from __future__ import annotations

import copy
import itertools
import re

NAME = re.compile(r"^(?!\.{1,2}$)[A-Za-z0-9_.-]+$")


PREDICTABLE = ("ban1_beats_teacher", "best_ban_beats_teacher", "ban1_beats_tuned", "best_ban_beats_tuned")
"""The claims a sweep's ``predictions`` may name (ids of ``ban.report.claims``)."""
EXPECTATIONS = ("gain", "no gain")


class SweepError(ValueError):
    """A sweep that cannot be expanded; the message names the key."""


def _targets(study: dict, path: str, where: str) -> list[tuple[dict, str]]:
    """(mapping, key) pairs the dotted ``path`` sets in ``study`` (``*`` fans out over a mapping)."""
    parts = path.split(".")
    if not path or any(not part for part in parts):
        raise SweepError(f"{where}: {path!r} is not a dotted path into the study (e.g. dataset.train_subset)")
    nodes: list[tuple[object, str]] = [(study, "")]
    for part in parts[:-1]:
        following = []
        for node, seen in nodes:
            if not isinstance(node, dict):
                raise SweepError(f"{where}: {seen or 'the study'} is not a mapping; cannot follow {path!r}")
            if part == "*":
                if not node:
                    raise SweepError(f"{where}: {seen or 'the study'} is empty; '*' in {path!r} matches nothing")
                following += [(child, f"{seen}.{key}".lstrip(".")) for key, child in node.items()]
            elif part in node:
                following.append((node[part], f"{seen}.{part}".lstrip(".")))
            else:
                raise SweepError(f"{where}: {path!r} does not exist in the base study ({f'{seen}.{part}'.lstrip('.')} is missing)")
        nodes = following
    for node, seen in nodes:
        if not isinstance(node, dict):
            raise SweepError(f"{where}: {seen} is not a mapping; cannot set {path!r}")
    return [(node, parts[-1]) for node, _ in nodes]


def _label(value: object) -> str:
    """A value in a cell name: numbers in ``%g`` with ``-`` for the point (0.2 → ``0-2``), booleans
    in lower case, a mapping as its keys and values run together, a list joined by ``_``."""
    if isinstance(value, dict):
        text = "".join(f"{key}{_label(item)}" for key, item in value.items())
    elif isinstance(value, (list, tuple)):
        text = "_".join(_label(item) for item in value)
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, float):
        text = f"{value:g}"
    else:
        text = str(value)
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def cells(config: dict) -> dict[str, list[tuple[str, dict[str, object]]]]:
    """Per sweep, ``[(cell study name, {factor path: value})]`` in grid order."""
    out = {}
    for sweep, entry in (config.get("sweeps") or {}).items():
        factors = entry.get("factors") or {}
        paths = list(factors)
        rows = []
        for values in itertools.product(*(factors[path] for path in paths)):
            name = ".".join([sweep] + [f"{path.split('.')[-1]}{_label(value)}" for path, value in zip(paths, values)])
            rows.append((name, dict(zip(paths, values))))
        out[sweep] = rows
    return out


def expand_sweeps(config: dict) -> dict[str, dict]:
    """Every cell of every sweep as a study (module docstring); ``config`` is not changed."""
    studies = {}
    taken = set(config.get("studies") or {})
    for sweep, rows in cells(config).items():
        where = f"sweeps.{sweep}"
        if sweep in taken:
            raise SweepError(f"{where}: a study of the same name exists; results/{sweep}/ holds the sweep's regime map")
        base = config["sweeps"][sweep]["base"]
        for name, values in rows:
            if not NAME.match(name):
                raise SweepError(f"{where}: cell name {name!r} is not a plain name (letters, digits, _ . -)")
            if name in taken or name in studies:
                raise SweepError(f"{where}: cell {name!r} collides with another study or cell; rename the sweep")
            study = copy.deepcopy(base)
            for path, value in values.items():
                for node, key in _targets(study, path, f"{where}.factors"):
                    node[key] = copy.deepcopy(value)
            studies[name] = study
    return studies


def predictions_of(config: dict, sweep: str) -> list[dict]:
    """The sweep's ``predictions`` (module docstring), each as ``{"claim", "expect", "why", "cells":
    [cell names it applies to]}``; a ``SweepError`` naming the key for one that does not fit the sweep."""
    entry = config["sweeps"][sweep]
    factors = entry.get("factors") or {}
    rows = cells(config)[sweep]
    out = []
    for i, prediction in enumerate(entry.get("predictions") or []):
        where = f"sweeps.{sweep}.predictions[{i}]"
        if prediction.get("claim") not in PREDICTABLE:
            raise SweepError(f"{where}.claim = {prediction.get('claim')!r}: allowed: {', '.join(PREDICTABLE)}")
        if prediction.get("expect") not in EXPECTATIONS:
            raise SweepError(f"{where}.expect = {prediction.get('expect')!r}: allowed: gain, no gain")
        wanted = prediction.get("cells") or {}
        for path, values in wanted.items():
            if path not in factors:
                raise SweepError(f"{where}.cells: {path!r} is not a factor of the sweep (factors: {', '.join(factors)})")
            unknown = [v for v in values if v not in factors[path]]
            if unknown:
                raise SweepError(f"{where}.cells.{path}: {unknown} not among the factor's values {factors[path]}")
        names = [name for name, values in rows if all(values[path] in wanted[path] for path in wanted)]
        out.append({"claim": prediction["claim"], "expect": prediction["expect"], "why": prediction.get("why", ""), "cells": names})
    return out
