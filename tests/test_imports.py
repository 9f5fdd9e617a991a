"""The import graph of ``ban/`` (imports inside functions included) has no cycle, and its leaves stay leaves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ban.fingerprint import import_graph

REPO = Path(__file__).resolve().parents[1]


def find_cycle(graph) -> list[str] | None:
    """One cycle of the ``uses`` edges (every import in a file, wherever it stands), else None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name].uses):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        path.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state:
            found = visit(name)
            if found:
                return found
    return None


def test_ban_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_a_cycle_through_a_function_level_import_is_found(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.b import thing\n")
    (package / "b.py").write_text("thing = 1\n\n\ndef late():\n    from pkg import a\n    return a\n")
    assert find_cycle(import_graph(package)) == ["pkg.a", "pkg.b", "pkg.a"]


def test_leaf_modules_import_nothing_of_ban():
    graph = import_graph()
    for leaf in ("ban.runtime", "ban.registry", "ban.metrics", "ban.member_kinds"):
        assert graph[leaf].uses == frozenset(), f"{leaf} imports {sorted(graph[leaf].uses)}"
    for torch_free in ("ban.tasks", "ban.datasets", "ban.datasets.registry", "ban.study", "ban.member_kinds"):
        source = graph[torch_free].path.read_text()
        assert "import torch" not in source, f"{torch_free} must stay torch-free (the workflow imports it at DAG time)"


WITHOUT_TORCH = {
    "the Snakefile and its rules": ("ban.configfile", "ban.failures", "ban.fingerprint", "ban.integrity", "ban.member_kinds", "ban.plan",
                                    "ban.store", "ban.study", "ban.sweeps", "ban.tasks", "ban.datasets", "ban.devices", "ban.written"),
    "a training restored from the store (ban.cli's train before its store lookup)": ("ban.cli", "ban.collapse", "ban.environment",
                                                                                      "ban.guard", "ban.identity", "ban.store"),
    "an ensemble job": ("ban.ensemble", "ban.files", "ban.metrics"),
    "ban status": ("ban.status",),
}


@pytest.mark.parametrize("who", WITHOUT_TORCH)
def test_what_needs_no_training_never_imports_torch(who):
    """Importing torch costs seconds; the workflow's parse (every Snakemake invocation), a restore
    and an ensemble pay none of it (a fresh process: this one has torch loaded)."""
    heavy = "('torch', 'scipy', 'matplotlib')"
    code = f"import sys; import {', '.join(WITHOUT_TORCH[who])}; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", f"{who} imports {out.stdout.strip()}"
