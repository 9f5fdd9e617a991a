"""The config schema names members as ban.member_kinds defines them; a failure names the line to change."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ban.member_kinds import CONTROLS, GENERATION_OBJECTIVES

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# schema path of an enum -> (what it must list, where that is defined)
AGREEMENTS = {
    ("$defs", "control_name", "enum"): (lambda: list(CONTROLS), "ban.member_kinds.CONTROLS"),
    ("$defs", "lineage", "properties", "objective", "enum"): (
        lambda: list(GENERATION_OBJECTIVES), "ban.member_kinds.GENERATION_OBJECTIVES"),
}
CONTROL_REF = "#/$defs/control_name"


def schema_node(path: tuple[str, ...], text: str | None = None) -> yaml.Node:
    """The YAML node at ``path`` of the schema (its marks give the line and character offsets)."""
    node = yaml.compose(SCHEMA.read_text() if text is None else text)
    for key in path:
        assert isinstance(node, yaml.MappingNode), f"{'.'.join(path)}: {key!r} is not under a mapping in {SCHEMA}"
        node = next((value for k, value in node.value if k.value == key), None)
        assert node is not None, f"{SCHEMA.relative_to(REPO)}: no {'.'.join(path)}"
    return node


def where(node: yaml.Node) -> str:
    return f"{SCHEMA.relative_to(REPO)}:{node.start_mark.line + 1}"


def walk(node: yaml.Node, path: tuple[str, ...] = ()):
    """Every (path, node) of the schema."""
    yield path, node
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield from walk(value, (*path, key.value))
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from walk(value, (*path, str(i)))


@pytest.mark.parametrize("path", sorted(AGREEMENTS), ids=".".join)
def test_schema_enum_agrees_with_ban_members(path):
    expected, source = AGREEMENTS[path]
    node = schema_node(path)
    assert isinstance(node, yaml.SequenceNode) and node.flow_style and node.start_mark.line == node.end_mark.line, (
        f"{where(node)}: {'.'.join(path)} should be one line `enum: [...]` (the line to edit when {source} changes)"
    )
    listed = [item.value for item in node.value]
    assert listed == expected(), (
        f"{where(node)}: {'.'.join(path)} is [{', '.join(listed)}] but {source} is [{', '.join(expected())}]; "
        f"change that line to `enum: [{', '.join(expected())}]`"
    )


def test_controls_are_named_only_in_control_name():
    """Every other place that names controls refers to $defs/control_name (one line to change)."""
    root = yaml.compose(SCHEMA.read_text())
    names = set(CONTROLS)
    for path, node in walk(root):
        if path in AGREEMENTS or not path:
            continue
        if path[-1] == "enum" and isinstance(node, yaml.SequenceNode):
            named = names & {item.value for item in node.value}
            assert not named, f"{where(node)}: {'.'.join(path)} lists controls {sorted(named)}; use {{$ref: \"{CONTROL_REF}\"}}"
        if path[-1] == "pattern" and isinstance(node, yaml.ScalarNode):
            named = {name for name in names if name in node.value}
            assert not named, f"{where(node)}: {'.'.join(path)} names controls {sorted(named)}; leave member names to ban.study"
    items = schema_node(("$defs", "lineage", "properties", "controls", "items"))
    ref = next((v.value for k, v in items.value if k.value == "$ref"), None) if isinstance(items, yaml.MappingNode) else None
    assert ref == CONTROL_REF, f"{where(items)}: lineage.controls.items should be {{$ref: \"{CONTROL_REF}\"}}"
