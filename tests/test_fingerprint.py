"""Code fingerprints from the import graph of a package (ban.fingerprint)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ban.fingerprint import ENTRY_MODULES, FingerprintError, RuleCode, closure, fingerprint, import_graph

FILES = {
    # a lazy attribute hook: its import runs only when someone imports the package by name
    "__init__.py": "def __getattr__(name):\n    from pkg import heavy\n    return heavy\n",
    "a.py": "import os\nfrom .b import load\n",  # relative import of a sibling module
    "b.py": "def load():\n    from pkg.sub import c  # a function-level import of a submodule\n    return c\n",
    "sub/__init__.py": "from .d import VALUE\n",  # the package __init__ of an imported submodule
    "sub/c.py": "from ..e import thing\n",  # two levels up: pkg.e
    "sub/d.py": "VALUE = 1\n",
    "e.py": "thing = 'pkg.unused'  # a string naming a module, in a module that imports nothing dynamically\n",
    "heavy.py": "import numpy\n",
    "unused.py": "import pkg.a\n",
    "explicit.py": "from pkg import something\n",  # imports pkg itself: its __getattr__ can run
    "dynamic.py": "import importlib\n\nTARGET = 'pkg.e'\n\ndef load():\n    return importlib.import_module(TARGET)\n",
    "plugins/__init__.py": "def load(name):\n    return __import__(f'pkg.plugins.{name}')\n",
    "plugins/one.py": "",
    "plugins/two.py": "",
}


@pytest.fixture
def package(tmp_path) -> Path:
    root = tmp_path / "pkg"
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_closure_follows_function_level_relative_and_submodule_imports(package):
    graph = import_graph(package)
    assert closure("pkg.a", graph) == ["pkg", "pkg.a", "pkg.b", "pkg.e", "pkg.sub", "pkg.sub.c", "pkg.sub.d"]
    assert closure("pkg.sub.c", graph) == ["pkg", "pkg.e", "pkg.sub", "pkg.sub.c", "pkg.sub.d"]
    assert "pkg.unused" not in closure("pkg.e", graph)  # only dynamic importers' strings count


def test_a_package_imported_by_name_brings_its_lazy_imports(package):
    graph = import_graph(package)
    assert "pkg.heavy" not in closure("pkg.a", graph)  # pkg runs as a parent: module level only
    assert closure("pkg.explicit", graph) == ["pkg", "pkg.explicit", "pkg.heavy"]


def test_dynamic_imports_by_name_and_by_package_prefix(package):
    graph = import_graph(package)
    assert closure("pkg.dynamic", graph) == ["pkg", "pkg.dynamic", "pkg.e"]
    assert closure("pkg.plugins", graph) == ["pkg", "pkg.plugins", "pkg.plugins.one", "pkg.plugins.two"]


def test_fingerprint_changes_exactly_with_the_closure(package):
    before = fingerprint("pkg.a", graph=import_graph(package))
    with open(package / "unused.py", "a") as handle:
        handle.write("# not imported by pkg.a\n")
    assert fingerprint("pkg.a", graph=import_graph(package)) == before
    with open(package / "sub" / "d.py", "a") as handle:
        handle.write("# imported through pkg/sub/__init__.py\n")
    changed = fingerprint("pkg.a", graph=import_graph(package))
    assert changed != before and len(changed) == 16
    assert fingerprint("pkg.a", "pkg.e", graph=import_graph(package)) == changed  # pkg.e is in pkg.a's closure


def test_unknown_entry_module_is_an_error(package):
    with pytest.raises(FingerprintError, match="pkg.nothing"):
        closure("pkg.nothing", import_graph(package))


def test_rule_entry_modules_of_ban():
    """Each rule's command module exists; training code and report code stay apart; the CLI is in no closure."""
    graph = import_graph()
    for modules in ENTRY_MODULES.values():
        for module in modules:
            assert module in graph, f"{module} (ban.fingerprint.ENTRY_MODULES) is not a module of ban/"
    training = set(closure("ban.member", graph))
    assert {"ban.objectives", "ban.tasks.image"} <= training
    assert not {m for m in training if m.startswith("ban.report")} and "ban.study" not in training
    for rule in ENTRY_MODULES:
        for module in ENTRY_MODULES[rule]:
            assert "ban.cli" not in closure(module, graph)
    assert "ban.report.plots" not in closure("ban.report.tables", graph)
    assert "ban.report.frame" in closure("ban.report.plots", graph)
    code = RuleCode()
    assert code("training") == fingerprint("ban.member", graph=graph) == code.of_member("cwtm") != code.of_member("ens2")
