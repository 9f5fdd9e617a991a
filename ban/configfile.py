"""Config files as a user wrote them: keys given twice, and schema errors one line each (no torch).

YAML readers keep the last of two equal keys without a word; ``duplicate_keys(path)`` finds them.
``schema_problems(config, schema)`` lists every JSON-schema violation as one line
``<key path>: <message>`` (the schema's own error text, cut to its first line), in document order.
"""

from __future__ import annotations

from pathlib import Path

import yaml


class _Loader(yaml.SafeLoader):
    """A safe loader that records keys given twice in one mapping."""

    duplicates: list[str]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            loader.duplicates.append(
                f"line {key_node.start_mark.line + 1}: key {key!r} given twice in one mapping "
                f"(first on line {seen[key] + 1}); YAML would keep the last silently"
            )
        else:
            seen[key] = key_node.start_mark.line
    return loader.construct_mapping_plain(node, deep=deep)


_Loader.construct_mapping_plain = yaml.SafeLoader.construct_mapping
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def duplicate_keys(path: str | Path) -> list[str]:
    """``<path> line N: key K given twice …`` for every mapping key that a YAML file repeats."""
    text = Path(path).read_text(encoding="utf-8")
    loader = _Loader(text)
    loader.duplicates = []
    try:
        loader.get_single_data()
    except yaml.YAMLError:
        return []  # a syntax error is reported by the reader that loads the config
    finally:
        loader.dispose()
    return [f"{path} {line}" for line in loader.duplicates]


def schema_problems(config: dict, schema_path: str | Path) -> list[str]:
    """Every violation of the JSON schema at ``schema_path`` by ``config``, one line each."""
    import jsonschema

    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        message = error.message.splitlines()[0]
        if len(message) > 200:
            message = message[:197] + "..."
        problems.append(f"{where}: {message}")
    return problems
