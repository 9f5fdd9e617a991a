"""Code fingerprints from the import graph of a package (ban.fingerprint)."""

from __future__ import annotations

import ast
import shutil
import textwrap
from pathlib import Path

import pytest

from ban.fingerprint import CACHE_FILE, ENTRY_MODULES, FingerprintError, RuleCode, closure, code_text, fingerprint, import_graph

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
        handle.write("EDITED = 'not imported by pkg.a'\n")
    assert fingerprint("pkg.a", graph=import_graph(package)) == before
    with open(package / "sub" / "d.py", "a") as handle:
        handle.write("EDITED = 'imported through pkg/sub/__init__.py'\n")
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
    training = set(closure("ban.lifecycle", graph))
    assert {"ban.objectives", "ban.tasks.image"} <= training
    assert not {m for m in training if m.startswith("ban.report")} and "ban.study" not in training
    for rule in ENTRY_MODULES:
        for module in ENTRY_MODULES[rule]:
            assert "ban.cli" not in closure(module, graph)
    assert "ban.report.plots" not in closure("ban.report.tables", graph)
    from ban.report.claims_markdown import write_claims  # what `python -m ban claims` runs

    assert ENTRY_MODULES["claims"] == (write_claims.__module__,)
    assert {"ban.report.claims", "ban.report.verdicts"} <= set(closure(write_claims.__module__, graph))
    assert "ban.report.frame" in closure("ban.report.plots", graph)
    code = RuleCode()
    assert code("training") == fingerprint("ban.lifecycle", graph=graph) == code.of_member("cwtm") != code.of_member("ens2")


CODE = '''\
"""Module docstring."""

import math

NAME = "scale"


class Scale:
    """Class docstring."""

    factor = 2.0

    def apply(self, x, y=1):
        """Method docstring."""
        # a comment
        return math.sqrt(x * self.factor + y)


async def fetch(name):
    """Async function docstring."""
    label = f"item {name}"
    return label


def plain():
    return NAME


def only_a_docstring():
    """Only a docstring."""


def first_an_fstring(name):
    f"not a docstring: {name}"
    return name


VALUE = 1
'''

SAME_CODE = {
    "a comment line": ("# a comment\n", "# another comment\n# and one more\n"),
    "a trailing comment": ("VALUE = 1\n", "VALUE = 1  # why one\n"),
    "the module docstring": ('"""Module docstring."""', '"""Module docstring,\n\nnow with a paragraph."""'),
    "no module docstring": ('"""Module docstring."""\n', ""),
    "the class docstring": ('"""Class docstring."""', "'Class docstring, in single quotes.'"),
    "the method docstring": ('"""Method docstring."""', '"""Method docstring: the square root of x·factor + y."""'),
    "the async function docstring": ('"""Async function docstring."""', '"""Another."""'),
    "a docstring that is the whole body": ('"""Only a docstring."""', '"""Only a docstring, edited."""'),
    "a new docstring": ("def plain():\n", 'def plain():\n    """A new docstring."""\n'),
    "blank lines": ("\n\nclass Scale:", "\nclass Scale:"),
    "line breaks inside parentheses": (
        "math.sqrt(x * self.factor + y)",
        "math.sqrt(\n            x * self.factor\n            + y\n        )",
    ),
    "quotes and spacing": ('f"item {name}"', "f'item {name}'"),
    "a float's spelling": ("factor = 2.0", "factor = 2."),
}

OTHER_CODE = {
    "a constant": ("factor = 2.0", "factor = 3.0"),
    "an operator": ("x * self.factor + y", "x * self.factor - y"),
    "a default argument": ("y=1", "y=2"),
    "a new statement": ("    return label\n", "    print(label)\n    return label\n"),
    "an assigned string": ('NAME = "scale"', 'NAME = "scales"'),
    "an f-string": ('f"item {name}"', 'f"items {name}"'),
    "an f-string that starts a body (not a docstring)": ("not a docstring: {name}", "still not a docstring: {name}"),
    "a docstring-only body replaced by pass": ('"""Only a docstring."""', "pass"),
    "a docstring-only body replaced by ...": ('"""Only a docstring."""', "..."),
}


def code_fingerprint(package: Path, text: str) -> str:
    (package / "sub" / "d.py").write_text(text)  # in pkg.a's closure, through pkg/sub/__init__.py
    return fingerprint("pkg.a", graph=import_graph(package))


@pytest.mark.parametrize("edit", SAME_CODE, ids=str)
def test_comments_docstrings_and_formatting_do_not_count(package, edit):
    old, new = SAME_CODE[edit]
    assert CODE.count(old) == 1
    assert code_fingerprint(package, CODE.replace(old, new)) == code_fingerprint(package, CODE)


@pytest.mark.parametrize("edit", OTHER_CODE, ids=str)
def test_every_code_edit_counts(package, edit):
    old, new = OTHER_CODE[edit]
    assert CODE.count(old) == 1
    assert code_fingerprint(package, CODE.replace(old, new)) != code_fingerprint(package, CODE)


def test_a_body_of_only_a_docstring_is_not_pass():
    """The docstring goes, the body stays empty: distinct from ``pass``, the same as any other
    docstring; a docstring before ``pass`` leaves ``pass``."""
    texts = {
        "docstring": 'def f():\n    """Doc."""\n',
        "other docstring": "def f():\n    'Other.'\n",
        "pass": "def f():\n    pass\n",
        "docstring, pass": 'def f():\n    """Doc."""\n    pass\n',
        "class docstring": 'class A:\n    """Doc."""\n',
        "class pass": "class A:\n    pass\n",
    }
    code = {name: code_text(ast.parse(text)) for name, text in texts.items()}
    assert code["docstring"] == code["other docstring"] != code["pass"] == code["docstring, pass"]
    assert code["class docstring"] != code["class pass"]
    assert code_text(ast.parse('"""Only a module docstring."""\n')) == code_text(ast.parse(""))


def test_two_string_statements_lose_only_the_first():
    """Only the first statement of a body is its docstring; a second bare string is code."""
    first = code_text(ast.parse('def f():\n    "doc"\n    "one"\n'))
    assert first == code_text(ast.parse('def f():\n    "other doc"\n    "one"\n'))
    assert first != code_text(ast.parse('def f():\n    "doc"\n    "two"\n'))
    assert first != code_text(ast.parse('def f():\n    "one"\n'))


def test_renaming_a_module_changes_the_fingerprint(package):
    """The same code under another name: pkg.plugins imports every pkg.plugins.* by prefix."""
    before = fingerprint("pkg.plugins", graph=import_graph(package))
    (package / "plugins" / "two.py").rename(package / "plugins" / "three.py")
    graph = import_graph(package)
    assert closure("pkg.plugins", graph) == ["pkg", "pkg.plugins", "pkg.plugins.one", "pkg.plugins.three"]
    assert fingerprint("pkg.plugins", graph=graph) != before


def test_the_graph_holds_the_code_and_fingerprints_read_no_file(package):
    graph = import_graph(package)
    before = fingerprint("pkg.a", graph=graph)
    shutil.rmtree(package)
    assert fingerprint("pkg.a", graph=graph) == before


def _parses(monkeypatch) -> list[str]:
    """The files ``import_graph`` parses from now on (a spy on ``ast.parse``)."""
    parsed: list[str] = []
    real_parse = ast.parse

    def spy(source, filename="<unknown>", *args, **kwargs):
        parsed.append(Path(filename).name)
        return real_parse(source, filename, *args, **kwargs)

    monkeypatch.setattr("ban.fingerprint.ast.parse", spy)
    return parsed


def _as_data(graph):
    return {name: (sorted(m.uses), sorted(m.runs), m.code) for name, m in graph.items()}


def test_the_cache_saves_every_parse_and_never_hides_an_edit(package, monkeypatch):
    first = _as_data(import_graph(package))
    assert (package / CACHE_FILE).is_file()
    parsed = _parses(monkeypatch)
    assert _as_data(import_graph(package)) == first and parsed == []
    (package / "e.py").write_text("thing = 'pkg.other'\n")  # a code edit: parsed again, its code changes
    second = _as_data(import_graph(package))
    assert parsed == ["e.py"]
    assert second["pkg.e"][2] != first["pkg.e"][2]
    assert {**second, "pkg.e": None} == {**first, "pkg.e": None}
    (package / "f.py").write_text("from pkg import e\n")  # a new module: every entry is recomputed (names are the salt)
    parsed.clear()
    assert "pkg.e" in import_graph(package)["pkg.f"].uses and len(parsed) == len(FILES) + 1


@pytest.mark.parametrize("damage", ["not json", "foreign salt", "no folder"])
def test_a_damaged_foreign_or_unwritable_cache_costs_a_parse_not_a_wrong_answer(package, monkeypatch, damage):
    fresh = _as_data(import_graph(package))
    cache = package / CACHE_FILE
    if damage == "not json":
        cache.write_text("{half")
    elif damage == "foreign salt":
        cache.write_text(cache.read_text().replace('"salt": "', '"salt": "0'))
    else:  # __pycache__ is a file: nothing can be written there
        shutil.rmtree(cache.parent)
        cache.parent.write_text("")
    parsed = _parses(monkeypatch)
    assert _as_data(import_graph(package)) == fresh and len(parsed) == len(FILES)
