"""Code fingerprints computed from imports (no torch import: ``ast`` reads the sources).

A rule's result depends on the code its command runs, and that is the transitive closure of the
imports of one entry module: training runs ``ban.lifecycle``, ensembles ``ban.ensemble``, tables
``ban.report.tables`` (and ``ban.report.paper`` for a study that lists the paper's numbers), plots
``ban.report.plots`` (``ENTRY_MODULES``). ``ban/cli.py`` is argument plumbing and is not an entry.
A job's fingerprint is ``sha256`` over the name and the *code* of every module of that closure, so
editing a module's code reruns exactly the jobs whose command can execute it.

A module's code is its AST without docstrings; comments, docstrings and formatting do not count.
``ast.parse`` drops comments, blank lines, line breaks and indentation; a docstring is the first
statement of a module, class, function or async function body when that statement is a bare
``str`` constant (Python's rule: an f-string or a bytes literal is not one), and only that one
statement is removed. The tree is written out as node types, field names and constant values
(``repr``), without positions and without fields that are ``None`` or empty lists
(``code_text``); its sha256 is hashed together with the module's name and whether it is a package,
so renaming or moving a module changes the fingerprint. A function or class body that held only a
docstring stays empty, which no parsed function or class body can be: ``def f(): "doc"`` and
``def f(): pass`` differ, while the docstring's text never counts (a module of only a docstring is
an empty module). Code that reads a docstring at run time (``__doc__``) is not seen to change
when the docstring does. The tree is the running Python's: a Python version that parses the same
source into other nodes or fields gives other fingerprints.

What counts as an edge of module ``m`` (only modules of the package itself; the standard library
and third-party packages are not followed):

- ``import a.b`` and ``from a.b import c`` anywhere in ``m``: at module level and inside
  functions, methods, ``if``/``try`` blocks; ``from a import b`` where ``b`` is a submodule of
  ``a`` adds ``a.b`` too; relative imports (``from . import x``, ``from ..y import z``) resolve
  against ``m``'s package;
- in a module that imports dynamically (calls ``importlib.import_module`` or ``__import__``):
  a string literal that is exactly a module's dotted name (``Task.module = "ban.tasks.image"``),
  and every module below package ``a`` for an f-string that starts with ``"a."``
  (``__import__(f"ban.models.{name}")``);
- the parent package of ``m``: Python runs ``a/__init__.py`` before ``a.b``. A package reached
  only as the parent of a submodule contributes its file and its *module-level* imports; the
  imports inside its functions (say, a lazy ``__getattr__``) count only when the package itself
  is imported (``import a``, ``from a import name``), because only then can they run.
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ban.files import write_json

PACKAGE_DIR = Path(__file__).resolve().parent

ENTRY_MODULES: dict[str, tuple[str, ...]] = {
    "training": ("ban.lifecycle",),
    "ensemble": ("ban.ensemble",),
    "table": ("ban.report.tables",),
    "paper": ("ban.report.paper",),
    "plot": ("ban.report.plots",),
    "claims": ("ban.report.claims_markdown",),
    "regime": ("ban.report.regime",),
}
"""The module each rule's command runs (``paper``: added to ``table`` when a study has paper numbers)."""


class FingerprintError(ValueError):
    """An entry module that is not a module of the package."""


@dataclass(frozen=True)
class Module:
    """One module of the package: its file, the modules its code imports (``uses``: anywhere in the
    file; ``runs``: at module level, i.e. when the module is executed) and ``code``, the sha256 of
    its ``code_text``."""

    name: str
    path: Path
    is_package: bool
    uses: frozenset[str] = field(default_factory=frozenset)
    runs: frozenset[str] = field(default_factory=frozenset)
    code: str = ""


def module_files(root: Path = PACKAGE_DIR, package: str | None = None) -> dict[str, Path]:
    """Dotted module name → source file of every ``*.py`` below ``root`` (packages → ``__init__.py``)."""
    root = Path(root)
    package = package or root.name
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if any(not part.isidentifier() for part in parts):  # __pycache__ is fine; "my-notes.py" is not a module
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join((package, *parts))] = path
    return modules


_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _called_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _import_targets(node: ast.AST, package: str) -> list[str]:
    """The dotted names an ``import`` or ``from … import`` statement can load (relative ones
    resolved against ``package``)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base_parts = package.split(".")
        base_parts = base_parts[: len(base_parts) - (node.level - 1)] if node.level > 1 else base_parts
        base = ".".join([*base_parts, *([node.module] if node.module else [])])
    else:
        base = node.module or ""
    return [base] + [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]


def _imports(name: str, is_package: bool, tree: ast.AST, known: set[str]) -> tuple[set[str], set[str]]:
    """(every module of ``known`` the tree imports, the subset imported at module level), from one
    walk of the tree. Everything below a function or lambda node (its body, and also its decorators
    and default values) counts as inside it. Module names in string literals count only when the
    module imports dynamically (calls ``importlib.import_module`` or ``__import__``)."""
    package = name if is_package else name.rpartition(".")[0]
    uses: set[str] = set()
    runs: set[str] = set()
    literal_targets: list[tuple[list[str], bool]] = []
    dynamic = False

    def record(targets: list[str], inside: bool) -> None:
        found = {target for target in targets if target in known and target != name}
        uses.update(found)
        if not inside:
            runs.update(found)

    todo: list[tuple[ast.AST, bool]] = [(tree, False)]
    while todo:
        node, inside = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            record(_import_targets(node, package), inside)
        elif isinstance(node, ast.Call):
            dynamic = dynamic or _called_name(node) in ("import_module", "__import__")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in known:
            literal_targets.append(([node.value], inside))
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            prefix = str(node.values[0].value)
            if prefix.endswith(".") and prefix[:-1] in known:
                literal_targets.append(([module for module in known if module.startswith(prefix)], inside))
        inside_children = inside or isinstance(node, _FUNCTIONS)
        todo.extend((child, inside_children) for child in ast.iter_child_nodes(node))
    if dynamic:
        for targets, inside in literal_targets:
            record(targets, inside)
    return uses, runs


_DOCSTRING_OWNERS = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)


def _is_docstring(statement: ast.stmt) -> bool:
    """Whether a body's first statement is its docstring: a bare ``str`` constant."""
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) and isinstance(statement.value.value, str)


def code_text(tree: ast.AST) -> str:
    """The code of a parsed module as text: ``Type(field=value,...)`` for each node, constants as
    their ``repr``, without the docstring of each module, class and (async) function body, without
    positions, and without fields that are ``None`` or ``[]`` (a field is either a list or not, so
    leaving these out loses nothing). ``tree`` is not changed."""
    parts: list[str] = []

    def write(node: object) -> None:
        if isinstance(node, ast.AST):
            parts.append(f"{type(node).__name__}(")
            for name in node._fields:
                value = getattr(node, name, None)
                if name == "body" and isinstance(node, _DOCSTRING_OWNERS) and value and _is_docstring(value[0]):
                    value = value[1:]
                if value is None or (isinstance(value, list) and not value):
                    continue
                parts.append(f"{name}=")
                write(value)
                parts.append(",")
            parts.append(")")
        elif isinstance(node, list):
            parts.append("[")
            for item in node:
                write(item)
                parts.append(",")
            parts.append("]")
        else:
            parts.append(repr(node))

    write(tree)
    return "".join(parts)


CACHE_FILE = "__pycache__/code-fingerprints.json"
"""Below the package root: each module's ``uses``, ``runs`` and ``code``, keyed by the sha256 of its
source bytes, under a salt of the Python version, the set of module names and this file's bytes
(``import_graph``). Like Python's own ``__pycache__``: a cache that is missing, unreadable, of
another salt or not writable costs a parse, never a wrong answer."""


def _cache_salt(known: set[str]) -> str:
    digest = hashlib.sha256(f"{sys.version}\0{' '.join(sorted(known))}\0".encode())
    digest.update(Path(__file__).read_bytes())
    return digest.hexdigest()


def _read_cache(path: Path, salt: str) -> dict:
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    modules = cached.get("modules") if isinstance(cached, dict) and cached.get("salt") == salt else None
    return modules if isinstance(modules, dict) else {}


def _write_cache(path: Path, salt: str, modules: dict) -> None:
    with contextlib.suppress(OSError, ValueError):  # a read-only package, a full disk: parse next time
        write_json(path, {"salt": salt, "modules": modules})


def import_graph(root: Path = PACKAGE_DIR, package: str | None = None) -> dict[str, Module]:
    """Every module below ``root`` with the package modules it imports (see the module doc) and
    the sha256 of its code (``code_text``), from one parse of each file whose source bytes the
    cache (``CACHE_FILE``) does not hold."""
    files = module_files(root, package)
    known = set(files)
    cache_path, salt = Path(root) / CACHE_FILE, _cache_salt(known)
    cached = _read_cache(cache_path, salt)
    fresh: dict[str, dict] = {}
    graph = {}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        source = path.read_bytes()
        source_hash = hashlib.sha256(source).hexdigest()
        entry = cached.get(name)
        if not (isinstance(entry, dict) and entry.get("source") == source_hash):
            tree = ast.parse(source, filename=str(path))
            uses, runs = _imports(name, is_package, tree, known)
            code = hashlib.sha256(code_text(tree).encode()).hexdigest()
            entry = {"source": source_hash, "uses": sorted(uses), "runs": sorted(runs), "code": code}
        fresh[name] = entry
        graph[name] = Module(name, path, is_package, frozenset(entry["uses"]), frozenset(entry["runs"]), entry["code"])
    if fresh != cached:
        _write_cache(cache_path, salt, fresh)
    return graph


def _parent(name: str) -> str | None:
    return name.rpartition(".")[0] or None


def closure(module: str, graph: dict[str, Module] | None = None) -> list[str]:
    """The modules that importing ``module`` can execute, sorted by name (``module`` included)."""
    graph = import_graph() if graph is None else graph
    if module not in graph:
        raise FingerprintError(f"no module {module!r} in the package ({len(graph)} modules parsed)")
    used: set[str] = set()  # imported by name: every import in the file can run
    executed: set[str] = set()  # run as the parent package of a submodule: module-level imports only
    todo = [(module, True)]
    while todo:
        name, explicit = todo.pop()
        if name not in graph or (name in used or (not explicit and name in executed)):
            continue
        (used if explicit else executed).add(name)
        entry = graph[name]
        todo.extend((target, True) for target in (entry.uses if explicit else entry.runs))
        parent = _parent(name)
        if parent is not None:
            todo.append((parent, False))
    return sorted(used | executed)


def fingerprint(*modules: str, graph: dict[str, Module] | None = None) -> str:
    """sha256 (16 hex digits) over the name and the code (``Module.code``: comments, docstrings and
    formatting do not count) of every module in the closures of ``modules``."""
    graph = import_graph() if graph is None else graph
    names = sorted({name for module in modules for name in closure(module, graph)})
    digest = hashlib.sha256()
    for name in names:
        entry = graph[name]
        digest.update(f"{name}{'/__init__' if entry.is_package else ''}.py\0".encode())
        digest.update(f"{entry.code}\0".encode())
    return digest.hexdigest()[:16]


class RuleCode:
    """The fingerprint of each rule's entry modules (``ENTRY_MODULES``), from one parse of the
    sources: ``code("training")``, ``code("table", "paper")``; ``code.of_member("ens2")``."""

    def __init__(self, root: Path = PACKAGE_DIR):
        self.root = Path(root)
        self.graph = import_graph(self.root)
        self._cache: dict[tuple[str, ...], str] = {}

    def __call__(self, *rules: str) -> str:
        key = tuple(sorted(set(rules)))
        if key not in self._cache:
            modules = [module for rule in key for module in ENTRY_MODULES[rule]]
            self._cache[key] = fingerprint(*modules, graph=self.graph)
        return self._cache[key]

    def of_member(self, member: str) -> str:
        """The fingerprint a member's ``metrics.json`` records: training, or ensemble for ``ens<k>``."""
        from ban.member_kinds import kind_of

        return self("training" if kind_of(member).trained else "ensemble")
