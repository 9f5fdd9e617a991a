"""Name → factory registries, so a config names components and adding one touches one file.

A registry maps exact names (``"cnn"``) or patterns (``"wrn-<depth>-<width>"``) to factories.
Pattern fields are integers parsed from the name and passed as keyword arguments.
"""

from __future__ import annotations

import re
from typing import Any, Callable


class UnknownNameError(ValueError):
    """A name that no entry of a registry matches; the message lists the valid names."""


class Registry:
    """Holds factories by name; ``get(name)`` returns ``(factory, parsed_kwargs)``."""

    def __init__(self, kind: str):
        self.kind = kind
        self._exact: dict[str, Callable[..., Any]] = {}
        self._patterns: list[tuple[str, re.Pattern, Callable[..., Any]]] = []

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator. ``name`` may hold ``<field>`` placeholders matching integers."""

        def add(factory: Callable[..., Any]) -> Callable[..., Any]:
            if "<" in name:
                regex = re.escape(name)
                regex = re.sub(r"\\<(\w+)\\>|<(\w+)>", lambda m: f"(?P<{m.group(1) or m.group(2)}>\\d+)", regex)
                self._patterns.append((name, re.compile(f"^{regex}$"), factory))
            else:
                self._exact[name] = factory
            return factory

        return add

    def names(self) -> list[str]:
        """All registered names, patterns spelled with their placeholders."""
        return sorted(self._exact) + [p for p, _, _ in self._patterns]

    def get(self, name: str) -> tuple[Callable[..., Any], dict[str, int]]:
        if name in self._exact:
            return self._exact[name], {}
        for _, regex, factory in self._patterns:
            match = regex.match(name)
            if match:
                return factory, {k: int(v) for k, v in match.groupdict().items()}
        raise UnknownNameError(f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}")

    def __contains__(self, name: str) -> bool:
        try:
            self.get(name)
        except UnknownNameError:
            return False
        return True
